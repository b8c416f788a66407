"""`peiling token ...`: tokens for the JSON API, shown once and stored as hashes."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..outgoing import iso
from ..storage import Store
from ..tokens import hash_token, new_token
from .common import CommandError, checked_text, with_store


def add_commands(commands: Any) -> None:
    tokens = commands.add_parser("token", help="tokens for the JSON API")
    actions = tokens.add_subparsers(required=True, metavar="action")
    create = actions.add_parser("create", help="make a token; it is shown only once")
    create.add_argument("name", help="who or what uses it, e.g. website")
    create.set_defaults(run=_token_create)
    listing = actions.add_parser("list", help="tokens with their last use")
    listing.set_defaults(run=_token_list)
    revoke = actions.add_parser("revoke", help="stop a token from working")
    revoke.add_argument("name")
    revoke.set_defaults(run=_token_revoke)


def _token_create(args: argparse.Namespace) -> int:
    """Prints the token alone on stdout (for scripts); only its hash is stored."""
    name = checked_text(args.name).strip()
    if not 0 < len(name) <= 100:
        raise CommandError("a token name needs 1 to 100 characters")
    token = new_token()

    async def work(store: Store) -> None:
        await store.create_api_token(name, hash_token(token), time.time())
        print(f"token {name!r} created; it is shown only this once:", file=sys.stderr)
        print(token)
    return with_store(args, work)


def _token_list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> None:
        for token in await store.api_tokens():
            used = iso(token.last_used_at) if token.last_used_at else "never"
            revoked = f"\trevoked {iso(token.revoked_at)}" if token.revoked_at else ""
            print(f"{token.name}\tcreated {iso(token.created_at or 0)}\tlast used {used}"
                  f"{revoked}")
    return with_store(args, work)


def _token_revoke(args: argparse.Namespace) -> int:
    async def work(store: Store) -> None:
        if not await store.revoke_api_token(args.name, time.time()):
            raise CommandError(f"no active token named {args.name[:100]!r}")
        print(f"revoked {args.name!r}")
    return with_store(args, work)

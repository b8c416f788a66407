"""`peiling admin ...` (staff accounts) and `peiling block ...` (blocks and purges).

A password never appears on the command line, where `ps` and the shell history
would show it: it is asked for twice at a terminal, or read as the first line
of standard input (`echo "$PW" | peiling admin create anna`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from .. import accounts, moderation
from ..services import Services
from ..settings import Settings
from ..storage import PurgeResult, Store
from ..storage.sqlite import SqliteStore
from .common import CommandError, checked_text, opened, settings_of, with_store


def add_commands(commands: Any) -> None:
    admin = commands.add_parser("admin", help="staff accounts for the /admin pages")
    actions = admin.add_subparsers(required=True, metavar="action")
    create = actions.add_parser("create", help="make an account (password from a prompt)")
    create.add_argument("username")
    create.set_defaults(run=_create)
    actions.add_parser("list", help="accounts, last login, disabled").set_defaults(run=_list)
    for name, helptext, run in (("password", "set a new password (ends its sessions)", _password),
                                ("disable", "refuse its logins, end its sessions", _disable),
                                ("delete", "remove the account and its sessions", _delete)):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("username")
        sub.set_defaults(run=run)

    for name, helptext, run in (
            ("block", "refuse an actor's or a domain's activities from now on", _block),
            ("unblock", "lift a block", _unblock),
            ("purge", "remove an actor's or a domain's votes, replies and follows;"
                      " tallies are recounted", _purge)):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("target", help="an actor URL or a domain (social.example)")
        if name == "block":
            sub.add_argument("--purge", action="store_true",
                             help="also remove what they left (votes, replies, follows)")
        sub.set_defaults(run=run)


async def ensure_demo_admin(settings: Settings) -> None:
    """`peiling init --demo`: the demo staff account, printed (never outside demo mode)."""
    if not settings.is_demo:
        return
    store = await SqliteStore.open(settings.database)
    try:
        await accounts.ensure_demo_account(store, time.time())
    finally:
        await store.close()
    print(f"admin: {settings.base_url}/admin/ (demo login: {' / '.join(accounts.DEMO_ADMIN)})")


def read_password(confirm: bool = True) -> str:
    """From a prompt at a terminal (twice), else the first line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != password:
        raise CommandError("the passwords differ")
    return password


def _create(args: argparse.Namespace) -> int:
    username = checked_text(args.username)
    password = checked_text(read_password())

    async def work(store: Store) -> None:
        await accounts.create_account(store, username, password, time.time())
        print(f"created admin account {username}")
    return with_store(args, work)


def _list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> None:
        for account in await store.admin_accounts():
            last = _moment(account.last_login_at) if account.last_login_at else "never"
            state = f" DISABLED since {_moment(account.disabled_at)}" if account.disabled_at else ""
            print(f"{account.username}  last login {last}{state}")
    return with_store(args, work)


def _password(args: argparse.Namespace) -> int:
    username = checked_text(args.username)
    password = checked_text(read_password())

    async def work(store: Store) -> None:
        await accounts.change_password(store, username, password)
        print(f"new password set for {username}; its sessions have ended")
    return with_store(args, work)


def _disable(args: argparse.Namespace) -> int:
    username = checked_text(args.username)

    async def work(store: Store) -> None:
        if not await store.disable_admin(username, time.time()):
            raise CommandError(f"no account named {username!r}")
        print(f"disabled {username}; its sessions have ended")
    return with_store(args, work)


def _delete(args: argparse.Namespace) -> int:
    username = checked_text(args.username)

    async def work(store: Store) -> None:
        if not await store.delete_admin(username):
            raise CommandError(f"no account named {username!r}")
        print(f"deleted {username}")
    return with_store(args, work)


def _block(args: argparse.Namespace) -> int:
    async def work(services: Services, target: moderation.Target) -> None:
        await moderation.block(services, target)
        print(f"blocked {target.kind} {target.value}")
        if args.purge:
            _print_purge(await moderation.purge(services, target))
    return _with_target(args, work)


def _unblock(args: argparse.Namespace) -> int:
    async def work(services: Services, target: moderation.Target) -> None:
        if not await moderation.unblock(services, target):
            raise CommandError(f"{target.value} is not blocked")
        print(f"unblocked {target.kind} {target.value}")
    return _with_target(args, work)


def _purge(args: argparse.Namespace) -> int:
    async def work(services: Services, target: moderation.Target) -> None:
        _print_purge(await moderation.purge(services, target))
    return _with_target(args, work)


def _with_target(args: argparse.Namespace,
                 work: Callable[[Services, moderation.Target], Awaitable[None]]) -> int:
    settings = settings_of(args)
    try:
        target = moderation.target_of(checked_text(args.target), settings.base_url)
    except moderation.ModerationError as exc:
        raise CommandError(str(exc)) from exc

    async def run() -> None:
        async with opened(settings) as services:
            await work(services, target)

    asyncio.run(run())
    return 0


def _print_purge(result: PurgeResult) -> None:
    print(f"removed {result.votes} votes and {result.replies} replies; recounted"
          f" {len(result.polls)} polls (their tally Updates go out with `serve`)")


def _moment(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")

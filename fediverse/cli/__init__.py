"""The `peiling` command: set up an instance, serve it, manage follows, polls,
API tokens, staff accounts and blocks.

Every subcommand reads the same settings (`--config`, PEILING_* variables)
so that what `init` wrote is what `serve` runs. Poll changes go through
`lifecycle`, like the JSON API's, so both obey the same rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from activitypub.errors import ActivityPubError

from ..accounts import AccountError
from ..polls import PollError
from ..settings import DEFAULT_CONFIG, SettingsError
from ..storage import DuplicateError
from . import admin, demo, hub, instance, polls, tokens
from .common import CommandError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (SettingsError, ActivityPubError, DuplicateError, PollError, CommandError,
            AccountError) as exc:
        print(f"peiling: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peiling", description=__doc__)
    parser.add_argument("--config", type=Path, help=f"settings file (default {DEFAULT_CONFIG})")
    commands = parser.add_subparsers(required=True, metavar="command")
    for module in (instance, polls, tokens, admin, hub, demo):
        module.add_commands(commands)
    return parser

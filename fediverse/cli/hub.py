"""`peiling hub ...`: a hub follows libraries, one by one or from a directory file.

Only a hub (`role = "hub"`) has these commands' effect; on a library they stop
with an error. Follows that were not accepted (yet) are sent again by `retry`
(a new Follow id each time, as Mastodon does when it lost state).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..hub.following import follow_again
from ..services import Services
from .common import CommandError, checked_text, with_services


def add_commands(commands: Any) -> None:
    hub = commands.add_parser("hub", help="national hub: follow libraries (role = hub only)")
    actions = hub.add_subparsers(required=True, metavar="action")
    follow = actions.add_parser("follow", help="follow libraries (handles or actor URLs)")
    follow.add_argument("targets", nargs="*", metavar="@library@host")
    follow.add_argument("--file", type=Path, metavar="PATH",
                        help="a directory file: one handle or URL a line, # comments")
    follow.set_defaults(run=_follow, username=None)
    retry = actions.add_parser("retry", help="send again the follows not accepted yet")
    retry.set_defaults(run=_retry, username=None)
    listing = actions.add_parser("libraries", help="the followed libraries and their state")
    listing.set_defaults(run=_libraries, username=None)


def targets_of(args: argparse.Namespace) -> list[str]:
    targets = [checked_text(t) for t in args.targets]
    if args.file is not None:
        try:
            lines = args.file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {args.file}: {exc}") from exc
        targets += [line.split("#", 1)[0].strip() for line in lines]
    targets = [t for t in dict.fromkeys(targets) if t]
    if not targets:
        raise CommandError("name libraries to follow, or a --file of them")
    return targets


async def _follow_each(services: Services, username: str, targets: list[str],
                       failed: list[str]) -> None:
    """One library that cannot be reached does not stop the others (their Follows are
    still sent); the unreachable ones are collected in `failed`."""
    reasons = await follow_again(services, username, targets)
    failed.extend(reasons)
    for target in targets:
        print(f"could not follow {target}: {reasons[target]}" if target in reasons
              else f"follow request sent to {target}")


def _report(failed: list[str], total: int) -> int:
    if failed:
        raise CommandError(f"{len(failed)} of {total} follows failed; "
                           "`peiling hub follow` them again later")
    return 0


def _checked_hub(services: Services) -> None:
    if not services.settings.is_hub:
        raise CommandError('hub commands need role = "hub" (peiling init --hub)')


def _follow(args: argparse.Namespace) -> int:
    targets = targets_of(args)
    failed: list[str] = []

    async def work(services: Services, username: str) -> None:
        _checked_hub(services)
        await _follow_each(services, username, targets, failed)
    with_services(args, work)
    return _report(failed, len(targets))


def _retry(args: argparse.Namespace) -> int:
    failed: list[str] = []
    waiting: list[str] = []

    async def work(services: Services, username: str) -> None:
        _checked_hub(services)
        waiting.extend(f.actor_id for f in await services.store.following(username)
                       if f.state != "accepted")
        if not waiting:
            print("every follow is accepted")
        await _follow_each(services, username, waiting, failed)
    with_services(args, work)
    return _report(failed, len(waiting))


def _libraries(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        _checked_hub(services)
        for follow in await services.store.following(username):
            polls = await services.store.mirrored_polls(follow.actor_id)
            print(f"{follow.actor_id} {follow.state} polls={len(polls)}")
    return with_services(args, work)

"""`peiling poll ...`: publish and manage polls through `lifecycle`, like the API."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..hub.adoption import adopt
from ..lifecycle import close_poll, delete_poll, edit_poll, existing_poll, publish_poll, reopen_poll
from ..outgoing import iso
from ..polls import (
    DEFAULT_OPTIONS,
    MAX_TEXT_LENGTH,
    Opinion,
    Poll,
    PollDraft,
    Tally,
    closing_time,
    draft_of,
)
from ..services import Services
from .common import CommandError, checked_text, with_services


def add_commands(commands: Any) -> None:
    polls = commands.add_parser("poll", help="publish and manage polls")
    actions = polls.add_subparsers(required=True, metavar="action")
    create = actions.add_parser("create", help="publish a poll to the followers")
    _add_draft_flags(create)
    create.set_defaults(run=_poll_create)
    edit = actions.add_parser("edit", help="change a poll (options, choice mode and "
                              "question lock once votes exist)")
    edit.add_argument("id", type=_poll_id)
    _add_draft_flags(edit)
    edit.set_defaults(run=_poll_edit)
    listing = actions.add_parser("list", help="the polls, newest first")
    listing.add_argument("--as", dest="username", help="local actor (default: the first)")
    listing.set_defaults(run=_poll_list)
    for name, helptext, run in (("show", "a poll with its tally", _poll_show),
                                ("close", "close a poll now", _poll_close),
                                ("delete", "delete a poll everywhere", _poll_delete)):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("id", type=_poll_id)
        sub.set_defaults(run=run, username=None)
    adopt = actions.add_parser("adopt", help="publish this library's copy of a national poll")
    adopt.add_argument("url", help="the national poll's URL (its Question id at the hub)")
    adopt.add_argument("--as", dest="username", help="local actor (default: the first)")
    adopt.set_defaults(run=_poll_adopt)
    reopen = actions.add_parser("reopen", help="reopen a poll closed early")
    reopen.add_argument("id", type=_poll_id)
    _add_closing_flags(reopen, "(default: the planned end)")
    reopen.set_defaults(run=_poll_reopen, username=None)


def _poll_adopt(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        poll = await adopt(services, username, args.url)
        print(f"published {services.urls.poll(poll.id)}, a copy of {args.url}")
    return with_services(args, work)


def _add_draft_flags(sub: argparse.ArgumentParser) -> None:
    """The poll's fields; on `edit` a flag left out keeps what the poll has."""
    sub.add_argument("--question", help="the proposition voters agree or disagree with")
    sub.add_argument("--intro", help="a short introduction")
    sub.add_argument("--article-file", type=Path, metavar="PATH", help="the article (Markdown)")
    sub.add_argument("--opinion", action="append", metavar="'NAME|ROLE|TEXT'",
                     help="an expert opinion; repeat for more (edit: replaces them all)")
    sub.add_argument("--option", action="append", metavar="TEXT",
                     help=f"an answer; repeat for more (default {' / '.join(DEFAULT_OPTIONS)})")
    sub.add_argument("--multiple", action=argparse.BooleanOptionalAction,
                     help="voters may choose more than one option")
    sub.add_argument("--hide-results", action=argparse.BooleanOptionalAction,
                     help="show results only once the poll closes")
    _add_closing_flags(sub, "")
    sub.add_argument("--as", dest="username", help="local actor (default: the first)")


def _add_closing_flags(sub: argparse.ArgumentParser, note: str) -> None:
    closing = sub.add_mutually_exclusive_group()
    closing.add_argument("--closes", metavar="ISO-8601",
                         help=f"closing time with timezone, e.g. 2030-05-01T18:00+02:00 {note}")
    closing.add_argument("--days", type=int, metavar="N", help=f"close N days from now {note}")


def _poll_id(text: str) -> int:
    """A positive id that fits SQLite's INTEGER (a larger one cannot exist)."""
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a poll id")
    return int(text)


def _end_time(args: argparse.Namespace) -> float | None:
    if args.closes is not None:
        return closing_time(args.closes, "--closes")
    if args.days is None:
        return None
    if not 1 <= args.days <= 366:
        raise CommandError("--days must be 1 to 366")
    return time.time() + int(args.days) * 86400.0


def _draft_changes(args: argparse.Namespace) -> dict[str, Any]:
    """PollDraft fields the flags set, read and checked before anything is stored."""
    changes = {attribute: read(getattr(args, flag))
               for flag, (attribute, read) in DRAFT_FLAGS.items()
               if getattr(args, flag) is not None}
    end = _end_time(args)
    if end is not None:
        changes["end_time"] = end
    return changes


def _opinion(text: str) -> Opinion:
    parts = checked_text(text).split("|", 2)
    if len(parts) != 3:
        raise CommandError(f"--opinion needs 'Name|Role|Text', not {text[:40]!r}")
    return Opinion(*(part.strip() for part in parts))


def _read_article(path: Path) -> str:
    """Markdown from a file, read no further than a valid article can be long."""
    limit = 4 * MAX_TEXT_LENGTH  # UTF-8 needs at most 4 bytes a character
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise CommandError(f"{path} is larger than an article may be")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc


DRAFT_FLAGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "question": ("question", checked_text),
    "intro": ("introduction", checked_text),
    "article_file": ("article", _read_article),
    "opinion": ("opinions", lambda texts: tuple(_opinion(text) for text in texts)),
    "option": ("options", lambda texts: tuple(checked_text(text) for text in texts)),
    "multiple": ("multiple", bool),
    "hide_results": ("hide_results", bool),
}


def _poll_create(args: argparse.Namespace) -> int:
    if args.question is None or (args.closes is None and args.days is None):
        raise CommandError("poll create needs --question and --closes or --days")
    draft = replace(PollDraft(question="", end_time=0.0), **_draft_changes(args))

    async def work(services: Services, username: str) -> None:
        poll = await publish_poll(services, username, draft)
        print(f"published poll {poll.id}: {services.urls.poll(poll.id)}")
    return with_services(args, work)


def _poll_edit(args: argparse.Namespace) -> int:
    changes = _draft_changes(args)
    if not changes:
        raise CommandError("poll edit needs at least one flag to change")

    async def work(services: Services, _: str) -> None:
        poll = await existing_poll(services, args.id)
        await edit_poll(services, poll.id, replace(draft_of(poll), **changes))
        print(f"edited poll {poll.id}")
    return with_services(args, work)


def _poll_list(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        now = time.time()
        for poll in await services.store.polls(username):
            tally = await services.store.tally(poll.id)
            state = "open" if poll.is_open(now) else "closed"
            print(f"{poll.id}\t{state} until {iso(poll.closes_at)}\t"
                  f"{tally.voters} voters\t{poll.question}")
    return with_services(args, work)


def _poll_show(args: argparse.Namespace) -> int:
    async def work(services: Services, _: str) -> None:
        poll = await existing_poll(services, args.id)
        tally = await services.store.tally(poll.id)
        print("\n".join(_described(poll, tally, services.urls.poll(poll.id), time.time())))
    return with_services(args, work)


def _described(poll: Poll, tally: Tally, url: str, now: float) -> list[str]:
    """What staff check of a poll: state, settings and the count (hidden or not)."""
    state = "open until" if poll.is_open(now) else "closed at"
    mode = "multiple choice" if poll.multiple else "single choice"
    hidden = ", results hidden until closed" if poll.hide_results else ""
    lines = [f"poll {poll.id} by @{poll.local_username}: {url}", poll.question,
             f"{state} {iso(poll.closes_at)}; {mode}{hidden}"]
    lines += [f"  {name}: {count}" for name, count in zip(poll.options, tally.counts,
                                                          strict=False)]
    lines.append(f"{tally.voters} voters, {len(poll.opinions)} opinions")
    return lines


def _poll_close(args: argparse.Namespace) -> int:
    async def work(services: Services, _: str) -> None:
        poll = await close_poll(services, args.id)
        print(f"closed poll {poll.id}")
    return with_services(args, work)


def _poll_reopen(args: argparse.Namespace) -> int:
    end = _end_time(args)

    async def work(services: Services, _: str) -> None:
        poll = await reopen_poll(services, args.id, end)
        print(f"reopened poll {poll.id} until {iso(poll.closes_at)}")
    return with_services(args, work)


def _poll_delete(args: argparse.Namespace) -> int:
    async def work(services: Services, _: str) -> None:
        await delete_poll(services, args.id)
        print(f"deleted poll {args.id}")
    return with_services(args, work)

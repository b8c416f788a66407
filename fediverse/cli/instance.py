"""Setting up and running an instance: init, serve, follows and the delivery queue."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from activitypub.keys import generate_private_key, private_key_pem, public_key_pem
from activitypub.webfinger import parse_handle

from .. import follows
from ..app import create_app
from ..demo import DEMO_HUB_NAME, DEMO_HUB_SUMMARY, DEMO_NAME, DEMO_SUMMARY, demo_poll
from ..lifecycle import publish_poll
from ..services import Services
from ..settings import DEFAULT_CONFIG, Settings, SettingsError
from ..storage import FollowState, LocalActor, Store
from ..storage.sqlite import SqliteStore
from .admin import ensure_demo_admin
from .common import opened, settings_of, with_services, with_store


def add_commands(commands: Any) -> None:
    init = commands.add_parser("init", help="create the database and the library actor")
    init.add_argument("--base-url", help="public root URL, e.g. https://bieb.example")
    init.add_argument("--name", help="the library's name")
    init.add_argument("--handle", help="the actor's username (the part before @)")
    init.add_argument("--summary", default="", help="a short description")
    init.add_argument("--database", help="SQLite file (default peiling.sqlite3)")
    init.add_argument("--demo", action="store_true",
                      help="demo mode: plain http and loopback peers allowed, demo texts")
    init.add_argument("--hub", action="store_true",
                      help='a national hub (role = "hub"): follows libraries, adds up results')
    init.add_argument("--exist-ok", action="store_true",
                      help="succeed without changes when the actor exists already")
    init.set_defaults(run=_init)

    serve = commands.add_parser("serve", help="serve the instance with hypercorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.set_defaults(run=_serve)

    for name, helptext, run in (("follow", "follow an actor (handle or URL)", _follow),
                                ("unfollow", "stop following an actor", _unfollow)):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("target", help="@user@host or an actor URL")
        sub.add_argument("--as", dest="username", help="local actor (default: the first)")
        sub.set_defaults(run=run)

    fol = commands.add_parser("followers", help="list, approve or reject followers")
    fol.add_argument("action", choices=("list", "pending", "approve", "reject"))
    fol.add_argument("actor", nargs="?", help="the follower's actor URL (approve, reject)")
    fol.add_argument("--as", dest="username", help="local actor (default: the first)")
    fol.set_defaults(run=_followers)

    status = commands.add_parser("deliveries", help="delivery queue status per host")
    status.set_defaults(run=_deliveries)


def _init(args: argparse.Namespace) -> int:
    config = args.config or DEFAULT_CONFIG
    if args.demo:
        args.base_url = args.base_url or "http://127.0.0.1:8000"
        args.name = args.name or (DEMO_HUB_NAME if args.hub else DEMO_NAME)
        args.handle = args.handle or ("hub" if args.hub else "bieb")
        args.summary = args.summary or (DEMO_HUB_SUMMARY if args.hub else DEMO_SUMMARY)
    if not args.handle or not args.name:
        raise SettingsError("init needs --handle and --name (or --demo)")
    parse_handle(f"{args.handle}@example.org")  # the username must be a valid acct: user
    if not config.exists():
        _write_config(config, args)
    settings = settings_of(args, base_url=args.base_url)
    code = asyncio.run(_create_actor(settings, args))
    if args.demo and not args.hub:
        asyncio.run(_ensure_demo_poll(settings, args.handle))
        asyncio.run(ensure_demo_admin(settings))
    return code


def _write_config(path: Path, args: argparse.Namespace) -> None:
    if not args.base_url:
        raise SettingsError("init needs --base-url for a new configuration")
    lines = [f'base_url = "{args.base_url}"',
             f'database = "{args.database or "peiling.sqlite3"}"',
             f'mode = "{"demo" if args.demo else "production"}"']
    if args.hub:
        lines.append('role = "hub"')
    Settings(base_url=args.base_url, mode="demo" if args.demo else "production")  # validate
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


async def _create_actor(settings: Settings, args: argparse.Namespace) -> int:
    settings.database.parent.mkdir(parents=True, exist_ok=True)
    store = await SqliteStore.open(settings.database)
    try:
        if await store.local_actor(args.handle) and args.exist_ok:
            print(f"@{args.handle}@{settings.host} exists; nothing to do")
            return 0
        key = generate_private_key()
        await store.create_local_actor(LocalActor(
            username=args.handle, name=args.name, summary=args.summary,
            private_key_pem=private_key_pem(key), public_key_pem=public_key_pem(key),
        ), time.time())
    finally:
        await store.close()
    print(f"created @{args.handle}@{settings.host} in {settings.database}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    config = Config()
    config.bind = [f"{args.host}:{args.port}"]
    config.read_timeout = 30  # a slowloris client is cut off
    config.accesslog = "-"

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"serving {settings.base_url} on http://{args.host}:{args.port}", flush=True)
        await serve(create_app(settings), config, shutdown_trigger=stop.wait)

    asyncio.run(run())
    return 0


def _follow(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        record = await follows.follow(services, username, args.target)
        print(f"follow request sent to {record.actor_id}")
    return with_services(args, work)


def _unfollow(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        await follows.unfollow(services, username, args.target)
        print(f"no longer following {args.target}")
    return with_services(args, work)


def _followers(args: argparse.Namespace) -> int:
    async def work(services: Services, username: str) -> None:
        if args.action in ("list", "pending"):
            state: FollowState = "accepted" if args.action == "list" else "pending"
            for follow in await services.store.followers(username, state):
                print(follow.actor_id)
            return
        if not args.actor:
            raise SettingsError(f"followers {args.action} needs the follower's actor URL")
        act = follows.approve_follower if args.action == "approve" else follows.reject_follower
        await act(services, username, args.actor)
        print(f"{args.action}d {args.actor}")
    return with_services(args, work)


def _deliveries(args: argparse.Namespace) -> int:
    async def work(store: Store) -> None:
        counts = await store.delivery_counts()
        print(" ".join(f"{state}={n}" for state, n in counts.items()))
        for host in await store.host_statuses():
            flag = " UNAVAILABLE" if host.unavailable else ""
            print(f"{host.host}: pending={host.pending} failed={host.failed}{flag}")
    return with_store(args, work)


async def _ensure_demo_poll(settings: Settings, username: str) -> None:
    """The demo library opens with a votable poll, once: a later `make run` finds it.
    Nothing is delivered here; `serve` sends what was queued (usually nothing)."""
    async with opened(settings) as services:
        if await services.store.polls(username):
            return
        poll = await publish_poll(services, username, demo_poll(time.time()))
        print(f"created demo poll {services.urls.poll(poll.id)}")

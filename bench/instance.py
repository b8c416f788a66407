"""The real app under test, served by hypercorn, plus two routes only the benchmarks have.

`POST /bench/noop` reads the body and answers 202: the same app, server and
request bytes as the inbox, with none of the work, so the inbox's rate can be
put against it. `POST /bench/announce/<poll_id>` sends the poll's tally Update
(what the tally worker does when its debounce runs out) without waiting for a
timer, so a fan-out can be timed from the moment it is asked for.

    python -m bench.instance --fd N --port P --database PATH
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Blueprint, Quart, Response, request

from fediverse.app import create_app
from fediverse.lifecycle import announce
from fediverse.settings import Settings
from fediverse.web import services

from .processes import stop_on_signal_or_orphaning

bp = Blueprint("bench", __name__)


@bp.post("/bench/noop")
async def noop() -> Response:
    await request.get_data(cache=False, as_text=False)
    return Response("", status=202)


@bp.post("/bench/announce/<int:poll_id>")
async def announce_now(poll_id: int) -> Response:
    await announce(services(), poll_id)
    return Response("", status=202)


def bench_app(settings: Settings) -> Quart:
    app = create_app(settings)
    app.register_blueprint(bp)
    return app


def server_config(fd: int) -> Config:
    """`peiling serve`'s settings, without the access log (a line per request on stdout
    would be measured too; production puts a proxy with its own log in front)."""
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.read_timeout = 30
    config.accesslog = None
    return config


async def run(args: argparse.Namespace) -> None:
    settings = Settings(base_url=f"http://127.0.0.1:{args.port}", database=args.database,
                        mode="demo", tally_debounce_seconds=args.tally_debounce,
                        inbox_budget_per_host_per_minute=args.host_budget)
    await serve(bench_app(settings), server_config(args.fd),
                shutdown_trigger=stop_on_signal_or_orphaning)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.instance")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--tally-debounce", type=float, default=3600.0)
    parser.add_argument("--host-budget", type=int, default=10**9,
                        help="inbox activities per host a minute: every fake voter lives on one"
                             " host, 127.0.0.1, which the Sybil budget would otherwise hold to"
                             " 600 a minute")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

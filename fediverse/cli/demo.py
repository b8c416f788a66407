"""`peiling demo`: a hub and two libraries on loopback, wired together (`make demo`)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from ..accounts import DEMO_ADMIN
from ..hub.network import create_actors, members, serve_network, wire
from ..services import Services
from .common import CommandError


def add_commands(commands: Any) -> None:
    demo = commands.add_parser("demo", help="serve a demo hub and two libraries on loopback")
    demo.add_argument("--dir", type=Path, default=Path("var"),
                      help="where the three databases live (default var/)")
    demo.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    demo.add_argument("--ports", default="8100,8101,8102",
                      help="hub,library,library ports (default 8100,8101,8102)")
    demo.set_defaults(run=_demo)


def _ports(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise CommandError("--ports needs three port numbers: hub,library,library")
    hub, first, second = (int(p) for p in parts)
    return hub, first, second


def _demo(args: argparse.Namespace) -> int:
    ports = _ports(args.ports)
    network = members(args.dir, args.host, ports)

    async def ready(services: list[Services]) -> None:
        national = await wire(services)
        hub = services[0]
        print(f"\nThe national hub:    {hub.settings.base_url}/national")
        print(f"The national poll:   {hub.settings.base_url}/national/polls/{national.id}")
        for member in network[1:]:
            print(f"Library @{member.name}:       {member.settings.base_url}/@{member.name}")
        print(f"\nStaff log in as {' / '.join(DEMO_ADMIN)} (demo only) at:")
        for member in network:
            print(f"  @{member.name}: {member.settings.base_url}/admin/")
        handles = ", ".join(f"@{m.name}@{m.settings.host}" for m in network)
        print(f"\nFollow {handles} from fediverse software on this machine;"
              " vote on the libraries' copies. Ctrl-C stops.", flush=True)

    async def run() -> None:
        await create_actors(network)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_network(network, [f"{args.host}:{port}" for port in ports], stop, ready)

    asyncio.run(run())
    return 0

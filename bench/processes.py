"""The servers a benchmark talks to, each in a process of its own.

On a small machine the load generator, the instance and the fake remotes
compete for the same cores; separate processes make that competition visible
(CPU seconds per process) instead of hiding it inside one event loop. The
listening socket is bound here and handed down by file descriptor, so the
port is known before the child starts (the instance needs it in `base_url`)
and no port can be lost to a race.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def listening_socket() -> socket.socket:
    """A loopback socket on a free port, listening with room for every connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


@dataclass(frozen=True)
class Cpu:
    main: float
    others: float

    @property
    def total(self) -> float:
        return self.main + self.others

    def __sub__(self, earlier: Cpu) -> Cpu:
        return Cpu(self.main - earlier.main, self.others - earlier.others)

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(self.main + other.main, self.others + other.others)


def _cpu_of(stat: Path) -> float:
    """User plus system seconds from a /proc stat file (a process's or a thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User plus system time of the whole process (all its threads) so far."""
        return self.cpu().total

    def cpu(self) -> Cpu:
        """CPU time so far of the event-loop thread and of all other threads (in the
        instance: aiosqlite's database thread)."""
        main = _cpu_of(Path(f"/proc/{self.process.pid}/task/{self.process.pid}/stat"))
        return Cpu(main, _cpu_of(Path(f"/proc/{self.process.pid}/stat")) - main)

    def stop(self) -> None:
        """SIGTERM lets the instance finish its lifespan (workers, store); kill if stuck."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(name: str, module: str, args: list[str], log: Path,
          sock: socket.socket | None = None) -> Server:
    """Start `python -m module` serving on `sock` (default: a fresh one) passed as `--fd`."""
    sock = sock or listening_socket()
    port = sock.getsockname()[1]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--fd", str(sock.fileno()), "--port", str(port),
             *args],
            cwd=ROOT, pass_fds=[sock.fileno()], stdout=out, stderr=subprocess.STDOUT,
        )
    sock.close()
    return Server(name, process, port)


async def wait_until_serving(server: Server, path: str, within: float = 30.0) -> None:
    async with asyncio.timeout(within), aiohttp.ClientSession() as session:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
            try:
                async with session.get(server.url + path) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


class Profile:
    """`py-spy record` of a server while a phase runs (`--profile`): raw stacks, one
    line per stack with its sample count. py-spy is not a dependency; install it
    into the venv to use this."""

    def __init__(self, server: Server, output: Path) -> None:
        py_spy = shutil.which("py-spy", path=Path(sys.executable).parent) or "py-spy"
        self._process = subprocess.Popen(
            [py_spy, "record", "--pid", str(server.process.pid), "--threads", "--rate", "250",
             "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self._process.send_signal(signal.SIGINT)
        self._process.wait(timeout=30)


async def stop_on_signal_or_orphaning() -> None:
    """Return on SIGINT or SIGTERM, or once the benchmark that started this server
    has gone (killed outright, it cannot stop its children): no server outlives it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:
        with suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await stop.wait()


async def poll_until(check: Callable[[], Awaitable[bool]], interval: float,
                     limit: float) -> bool:
    """Whether `check` came true within `limit` seconds. The state lives in another
    process (a database file, a server's counters): there is no event to wait on."""
    try:
        async with asyncio.timeout(limit):
            while True:
                if await check():
                    return True
                await asyncio.sleep(interval)
    except TimeoutError:
        return False

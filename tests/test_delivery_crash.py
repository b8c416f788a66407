"""A43: `kill -9` of a real `peiling serve` in the middle of a 1,000-inbox fan-out.

The process is started with the real CLI, killed with SIGKILL once about 300
inboxes have their copy, and started again. Nothing may be lost, and only the
sends that were in flight at the kill may arrive twice. Receivers dedupe by
activity id, so that bound is what makes at-least-once delivery acceptable.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from fediverse.storage.sqlite import SqliteStore

INBOXES = 1000
KILL_AFTER = 300
WORKERS = 16
SINK_HOSTS = 4  # with the default per-host limit of 8, enough hosts to keep all workers busy
SINK_DELAY = 0.01


class Sink:
    """Inboxes on a few loopback ports: counts POSTs per path, answers 202 a bit later."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.ports: list[int] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> Sink:
        app = web.Application()
        app.router.add_post("/inbox/{n}", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        for _ in range(SINK_HOSTS):
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.ports = [address[1] for address in self._runner.addresses]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def inbox(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % len(self.ports)]}/inbox/{n}"

    async def _inbox(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts[request.path] += 1
        await asyncio.sleep(SINK_DELAY)  # so that the fan-out takes a noticeable time
        return web.Response(status=202)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """Our environment without PEILING_* settings, which would override the config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEILING_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def delivery_states(database: Path) -> dict[str, int]:
    with sqlite3.connect(database, timeout=5) as db:
        return dict(db.execute("SELECT state, count(*) FROM delivery GROUP BY state").fetchall())


async def wait_until(check: Callable[[], bool], what: str, deadline: float) -> None:
    """Poll `check()`: the work happens in another process, so polling is how we know."""
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Server:
    """`peiling serve` as a child process, logs to a file; killed at the end whatever happens."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> asyncio.subprocess.Process:
        with self.log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fediverse.cli", "--config", str(self.config), "serve",
                "--port", str(self.port), stdout=out, stderr=out, env=child_env(),
                cwd=self.config.parent)
        self.processes.append(process)
        return process

    async def kill_all(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
                await asyncio.wait_for(process.wait(), 10)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    running = await Sink().start()
    yield running
    await running.stop()


async def init_instance(tmp_path: Path, port: int) -> Path:
    """`peiling init --demo`, then the queue settings this test depends on."""
    config = tmp_path / "peiling.toml"
    init = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fediverse.cli", "--config", str(config), "init", "--demo",
        "--base-url", f"http://127.0.0.1:{port}", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=child_env(), cwd=tmp_path)
    output, _ = await asyncio.wait_for(init.communicate(), 30)
    assert init.returncode == 0, output.decode()
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"delivery_workers = {WORKERS}\n")
    return config


async def queue_fan_out(database: Path, sink: Sink) -> None:
    """One Create to 1,000 inboxes, written straight into the durable outbox."""
    store = await SqliteStore.open(database)
    try:
        [actor] = await store.local_actors()
        activity = {"id": "http://127.0.0.1/activities/a43", "type": "Create",
                    "actor": f"http://127.0.0.1/users/{actor.username}"}
        await store.add_outbox_activity(actor.username, activity["id"], "Create",
                                        json.dumps(activity), False,
                                        [sink.inbox(n) for n in range(INBOXES)], time.time())
    finally:
        await store.close()


async def test_kill_9_mid_fan_out_loses_nothing_and_resends_only_what_was_in_flight(
    tmp_path: Path, sink: Sink,
):
    port = free_port()
    config = await init_instance(tmp_path, port)
    database = tmp_path / "peiling.sqlite3"
    await queue_fan_out(database, sink)
    assert delivery_states(database) == {"pending": INBOXES}
    server = Server(config, port, tmp_path / "serve.log")
    deadline = time.monotonic() + 35
    try:
        # Given: the server is sending the fan-out
        first = await server.start()
        await wait_until(lambda: len(sink.counts) >= KILL_AFTER, "300 deliveries", deadline)

        # When: it is killed without warning, then started again
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 10)
        before_kill = dict(sink.counts)
        assert KILL_AFTER <= len(before_kill) < INBOXES, "the kill came too late to test"
        assert delivery_states(database).get("pending", 0) > 0
        await server.start()

        # Then: every inbox gets its copy and the queue records all of them as done
        await wait_until(lambda: len(sink.counts) == INBOXES, "all inboxes", deadline)
        await wait_until(lambda: delivery_states(database) == {"done": INBOXES},
                         "all rows done", deadline)
    except AssertionError:
        print(server.log.read_text(errors="replace")[-4000:])
        raise
    finally:
        await server.kill_all()

    assert set(sink.counts) == {f"/inbox/{n}" for n in range(INBOXES)}
    twice = {path: n for path, n in sink.counts.items() if n > 1}
    assert len(twice) <= WORKERS, twice
    assert set(twice.values()) <= {2}
    assert set(twice) <= set(before_kill)  # only what had reached the sink was re-sent

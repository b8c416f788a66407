"""Fedify against `make run`: the whole life of a poll, as a newcomer's demo serves it.

The README's `make run` starts in its own process (on a random port, with its own
data directory, the tally debounce at one second), and tests/interop/fedify_poll.mjs
runs an independent ActivityPub server beside it: Fedify follows the demo library,
receives the poll the library publishes (through the JSON API, as a library's website
would), votes the way Mastodon does, replies, reads our tally Update(Question), and
then, once the library closes the poll, our final Update(Question) saying so. Every
activity Fedify receives is checked against our key by Fedify itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from test_cli import ROOT, free_port
from test_interop_fedify import INTEROP, ensure_node_modules, pytestmark  # noqa: F401
from test_interop_fedify_poll import QUESTION, read_json_line

from fediverse.hub.network import wait_until_serving

SCRIPT = INTEROP / "fedify_poll.mjs"
NODE_TIMEOUT = 60  # the script gives up by itself after 50 s
PEILING = Path(sys.executable).parent / "peiling"


async def api_token(config: Path) -> str:
    """A JSON API token made with the CLI, against the served database."""
    made = await asyncio.create_subprocess_exec(
        str(PEILING), "--config", str(config), "token", "create", "interop",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(made.communicate(), 30)
    assert made.returncode == 0
    return out.decode().strip()


async def api(session: aiohttp.ClientSession, method: str, url: str, token: str,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with session.request(method, url, json=body,
                               headers={"Authorization": f"Bearer {token}"}) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status in (200, 201), answer
        return answer


async def test_fedify_sees_a_poll_of_make_run_published_counted_and_closed(tmp_path: Path):
    await ensure_node_modules()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = tmp_path / "demo"
    server = await asyncio.create_subprocess_exec(
        "make", "-s", "run", f"PORT={port}", f"DEMO_DIR={demo}", cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHON": sys.executable, "PEILING_TALLY_DEBOUNCE_SECONDS": "1"})
    seen: list[str] = []
    try:
        webfinger = f"{base}/.well-known/webfinger?resource=acct:bieb@127.0.0.1:{port}"
        await wait_until_serving(webfinger, within=120.0)  # it may set up the venv first
        token = await api_token(demo / "peiling.toml")
        node = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), f"@bieb@127.0.0.1:{port}", base, cwd=INTEROP,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1", "FEDIFY_AWAIT_CLOSE": "1",
                 "FEDIFY_TIMEOUT_MS": "50000"})
        assert node.stdout is not None and node.stderr is not None
        errors = asyncio.create_task(node.stderr.read())
        async with aiohttp.ClientSession() as session, asyncio.timeout(NODE_TIMEOUT):
            # Fedify follows the demo library; the library publishes a poll
            assert await read_json_line(node.stdout, seen) == {"followed": True}, seen
            closes = (datetime.now(UTC) + timedelta(days=14)).isoformat()
            poll = await api(session, "POST", f"{base}/api/v1/polls", token,
                             {"question": QUESTION, "closes_at": closes})
            # Fedify votes and replies, and reads the tally; the library closes the poll
            assert await read_json_line(node.stdout, seen) == {"tallied": True}, seen
            await api(session, "POST", f"{base}/api/v1/polls/{poll['id']}/close", token)
            result = await read_json_line(node.stdout, seen)
            await node.wait()
            ours = await api(session, "GET", f"{base}/api/v1/polls/{poll['id']}", token)
        stderr = (await errors).decode(errors="replace")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 20)

    assert node.returncode == 0 and result.get("ok"), (
        f"{result.get('reason')}\n{json.dumps(result)[-4000:]}\n{stderr[-4000:]}")
    steps = result["steps"]
    [create] = steps["creates"]
    assert create["question"]["id"] == poll["url"] == steps["vote"]["inReplyTo"]
    assert "HTTP Signatures are verified." in create["verified_by"]
    counted = [u for u in steps["updates"] if u["question"]["voters"] == 1]
    final = steps["updates"][-1]
    assert counted and {o["name"]: o["totalItems"] for o in counted[0]["question"]["exclusive"]
                        } == {"Eens": 1, "Oneens": 0}
    assert final["question"]["closed"] is not None
    assert [u["question"]["closed"] is not None for u in steps["updates"]].count(True) == 1
    assert "HTTP Signatures are verified." in final["verified_by"]
    assert all(r["status"] == 202 for r in steps["inbox_responses"])
    assert ours["closed"] is True and ours["tally"] == {"counts": {"Eens": 1, "Oneens": 0},
                                                         "voters": 1}

"""Polls with Fedify, an independent ActivityPub implementation (TypeScript, on Node).

tests/interop/fedify_poll.mjs runs a Fedify server on loopback that follows our
demo library (as in test_interop_fedify.py), then receives the poll we publish:
Fedify verifies our signed Create(Question) and parses it with its own
vocabulary, votes on it the way Mastodon does (a Note named after the option,
in reply to the Question), replies to it, and reads the counts from our tally
Update(Question).  Our background workers answer on their own; the tally
debounce is one second so the Update comes quickly.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from harness import RunningInstance, start_instance
from test_interop_fedify import INTEROP, ensure_node_modules, pytestmark  # noqa: F401

from fediverse.lifecycle import publish_poll
from fediverse.polls import Poll, PollDraft

SCRIPT = INTEROP / "fedify_poll.mjs"
NODE_TIMEOUT = 50  # the script gives up by itself after 40 s
QUESTION = "De bibliotheek moet op zondag open zijn"


async def read_json_line(stream: asyncio.StreamReader, seen: list[str]) -> dict[str, Any]:
    """The next stdout line that is a JSON object (Fedify logs to stderr)."""
    while True:
        line = await stream.readline()
        if not line:
            return {}
        text = line.decode(errors="replace").strip()
        seen.append(text)
        if text.startswith("{"):
            found: dict[str, Any] = json.loads(text)
            return found


async def run_poll_exchange(instance: RunningInstance) -> tuple[int, dict[str, Any], str,
                                                                   Poll | None]:
    """Run the script; publish the poll once Fedify follows us.  Returns the exit code,
    the script's result, its stdout and stderr together, and the poll."""
    handle = f"@{instance.username}@127.0.0.1:{instance.port}"
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), handle, instance.url, cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"})
    assert process.stdout is not None and process.stderr is not None
    stderr_task = asyncio.create_task(process.stderr.read())
    seen: list[str] = []
    poll: Poll | None = None
    result: dict[str, Any] = {}
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            first = await read_json_line(process.stdout, seen)
            if first.get("followed") is True:
                poll = await publish_poll(instance.services, "bieb", PollDraft(
                    question=QUESTION, end_time=time.time() + 86400))
                result = await read_json_line(process.stdout, seen)
            else:
                result = first
            await process.wait()
    except TimeoutError:
        seen.append(f"[killed after {NODE_TIMEOUT} s]")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    err = (await stderr_task).decode(errors="replace")
    return process.returncode or 0, result, "\n".join(seen) + "\n--- stderr ---\n" + err, poll


async def test_fedify_parses_our_question_votes_and_reads_the_tally(tmp_path: Path) -> None:
    await ensure_node_modules()
    started = time.monotonic()
    instance = await start_instance(tmp_path, background=True, tally_debounce_seconds=1)
    try:
        code, result, output, poll = await run_poll_exchange(instance)
        store = instance.services.store
        if code != 0 or not result.get("ok") or poll is None:
            diagnosis = ""
            if poll is not None:
                diagnosis = (f"tally={await store.tally(poll.id)} "
                             f"replies={await store.replies(poll.id, 'visible')} ")
            pytest.fail(
                f"Fedify poll interop failed (exit {code}): {result.get('reason')}\n"
                f"our side: {diagnosis}deliveries={await store.delivery_counts()}\n"
                f"output:\n{output[-8000:]}")
        steps = result["steps"]
        question_id = f"{instance.url}/polls/{poll.id}"

        # Our Create(Question), verified by Fedify and read by its vocabulary.
        [create] = steps["creates"]
        assert create["actor"] == instance.actor_id
        assert "HTTP Signatures are verified." in create["verified_by"]
        question = create["question"]
        assert question["type"] == "Question"
        assert question["id"] == question_id == steps["vote"]["inReplyTo"]
        assert question["attribution"] == instance.actor_id
        assert QUESTION in question["content"]
        assert question["endTime"] is not None
        assert question["closed"] is None
        assert [o["name"] for o in question["exclusive"]] == ["Eens", "Oneens"]
        assert question["inclusive"] == []
        assert question["voters"] == 0
        assert [o["totalItems"] for o in question["exclusive"]] == [0, 0]

        # Our tally Update counts Fedify's vote.
        update = steps["updates"][-1]
        assert update["actor"] == instance.actor_id
        assert "HTTP Signatures are verified." in update["verified_by"]
        tally = update["question"]
        assert tally["id"] == question["id"]
        assert tally["voters"] == 1
        assert {o["name"]: o["totalItems"] for o in tally["exclusive"]} == {
            "Eens": 1, "Oneens": 0}
        assert all(r["status"] == 202 for r in steps["inbox_responses"])

        # Our side: the vote is counted once, the reply is in the discussion.
        counted = await store.tally(poll.id)
        assert (counted.counts, counted.voters) == ((1, 0), 1)
        replies = await store.replies(poll.id, "visible")
        assert len(replies) == 1
        assert "interessant" in replies[0].content
        assert replies[0].actor == result["fedify_actor"]
    finally:
        await instance.stop()
    assert time.monotonic() - started < 60

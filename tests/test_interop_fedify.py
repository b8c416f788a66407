"""Interop with Fedify, an independent ActivityPub implementation (TypeScript, on Node).

tests/interop/fedify_follow.mjs runs a Fedify server on loopback that looks our
demo library up by WebFinger, parses our actor document, follows it with a
signed Follow (our inbox answers 401 to any signature failure) and waits for our
Accept, which Fedify's inbox verifies by fetching our key.  Our background
workers answer on their own.  The Node dependencies are pinned in
tests/interop/package-lock.json and installed here with `npm ci` when missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from harness import RunningInstance, start_instance

INTEROP = Path(__file__).parent / "interop"
SCRIPT = INTEROP / "fedify_follow.mjs"
NPM_CI_TIMEOUT = 180
NODE_TIMEOUT = 45

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="node (Node.js) is not installed: no Fedify interop")


async def run(argv: list[str], *, cwd: Path, limit: float) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"})
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        err += f"\n[killed after {limit} s]".encode()
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def ensure_node_modules() -> None:
    """`npm ci` on a fresh clone, or when the lock file is newer than the install."""
    installed = INTEROP / "node_modules" / ".package-lock.json"
    lock = INTEROP / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    assert npm is not None, "node is installed but npm is not: cannot install Fedify"
    code, out, err = await run([npm, "ci", "--no-audit", "--no-fund"], cwd=INTEROP,
                               limit=NPM_CI_TIMEOUT)
    assert code == 0, f"npm ci failed in {INTEROP} ({code}):\n{out}\n{err}"


async def wait_for_delivery(instance: RunningInstance, within: float = 5.0) -> dict[str, int]:
    store = instance.services.store
    deadline = asyncio.get_running_loop().time() + within
    while True:
        counts = await store.delivery_counts()
        if counts["done"] and not counts["pending"]:
            return counts
        if asyncio.get_running_loop().time() > deadline:
            return counts
        await asyncio.sleep(0.05)


async def test_fedify_follows_our_library_and_verifies_our_accept(tmp_path: Path) -> None:
    await ensure_node_modules()
    instance = await start_instance(tmp_path, background=True)
    try:
        handle = f"@{instance.username}@127.0.0.1:{instance.port}"
        code, out, err = await run(["node", str(SCRIPT), handle, instance.url],
                                   cwd=INTEROP, limit=NODE_TIMEOUT)
        lines = out.strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        if code != 0 or not result.get("ok"):
            store = instance.services.store
            pytest.fail(
                f"Fedify interop failed (exit {code}): {result.get('reason')}\n"
                f"our side: followers={await store.followers('bieb', 'accepted')} "
                f"pending={await store.followers('bieb', 'pending')} "
                f"deliveries={await store.delivery_counts()}\n"
                f"stdout:\n{out}\nFedify's log (stderr):\n{err[-6000:]}")
        steps = result["steps"]

        # WebFinger and our actor document, as Fedify reads them.
        assert steps["webfinger"]["subject"] == f"acct:bieb@127.0.0.1:{instance.port}"
        assert steps["webfinger"]["self"] == instance.actor_id
        actor = steps["actor"]
        assert actor["id"] == instance.actor_id
        assert actor["preferredUsername"] == "bieb"
        assert actor["inbox"] == instance.inbox
        assert actor["sharedInbox"] == f"{instance.url}/inbox"
        assert actor["key_id"] == f"{instance.actor_id}#main-key"
        assert actor["key_owner"] == instance.actor_id
        assert actor["manuallyApprovesFollowers"] is False

        # Our Accept: from our actor, about Fedify's Follow, admitted on its HTTP
        # signature (Fedify's inbox refuses the same thing unsigned).
        follow_id = steps["follow"]["id"]
        accept = steps["accept"]
        assert accept["actor"] == instance.actor_id
        assert accept["id"].startswith(f"{instance.url}/activities/")
        assert (accept["object_type"], accept["object_id"]) == ("Follow", follow_id)
        assert accept["object_actor"] == result["fedify_actor"]
        assert accept["object_object"] == instance.actor_id
        assert "HTTP Signatures are verified." in accept["verified_by"]
        assert steps["unsigned_accept_status"] == 401
        assert steps["following"][instance.actor_id] == {"followId": follow_id,
                                                         "state": "accepted"}
        assert steps["inbox_responses"] == [
            {"path": "/users/fedi/inbox", "status": 202}]

        # Our side: Fedify's actor follows us, and the Accept was delivered once.
        followers = await instance.services.store.followers("bieb", "accepted")
        assert [(f.actor_id, f.follow_id) for f in followers] == [
            (result["fedify_actor"], follow_id)]
        assert await wait_for_delivery(instance) == {"pending": 0, "done": 1, "failed": 0}
    finally:
        await instance.stop()

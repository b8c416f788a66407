from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import FakeRemote, LocalhostRemote, RunningInstance, start_instance


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    """A fake Mastodon-like server with one actor, alice."""
    fake = await FakeRemote().start()
    fake.add_actor("alice")
    yield fake
    await fake.stop()


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    """A demo-mode library instance (@bieb) on loopback; workers driven by the test."""
    running = await start_instance(tmp_path)
    yield running
    await running.stop()


@pytest.fixture
async def bystander() -> AsyncIterator[LocalhostRemote]:
    """An honest peer (dora@localhost) that proves the instance still serves others."""
    fake = await LocalhostRemote().start()
    fake.add_actor("dora", key_index=4)
    yield fake
    await fake.stop()

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from admin_client import AdminClient, make_account
from harness import FakeRemote, LocalhostRemote, RunningInstance, start_instance

from fediverse.cli import main


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


@pytest.fixture
async def staff(instance: RunningInstance) -> AsyncIterator[AdminClient]:
    """A member of staff (anna) logged in to the instance's admin."""
    await make_account(instance)
    client = AdminClient(instance)
    await client.log_in()
    yield client
    await client.close()


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The configuration file of a demo library (@bieb) with its demo poll and demo
    staff account, as `make run` leaves it (for the command-line tests)."""
    path = tmp_path / "peiling.toml"
    assert main(["--config", str(path), "init", "--demo"]) == 0
    capsys.readouterr()
    return path

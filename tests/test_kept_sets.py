"""Blocked domains, failing hosts and actor tombstones are kept in memory by the
SQLite store, since every inbox POST asks about them; what another process writes
(a CLI command on the same database) still takes effect within `KEPT_SECONDS`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fediverse.storage import sqlite
from fediverse.storage.sqlite import SqliteStore


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    """The server's store and a CLI command's, on one database file."""
    server = await SqliteStore.open(tmp_path / "kept.sqlite3")
    command = await SqliteStore.open(tmp_path / "kept.sqlite3")
    yield server, command
    await command.close()
    await server.close()


async def test_a_block_made_elsewhere_applies_once_the_set_is_read_again(stores, monkeypatch):
    # Given a server that has checked a domain and found it not blocked
    server, command = stores
    assert not await server.is_blocked("spam.example")

    # When another process blocks it
    await command.block_domain("Spam.Example", 1.0)

    # Then the server sees it once its copy is due to be read again (at once here)
    assert not await server.is_blocked("spam.example")  # within KEPT_SECONDS
    monkeypatch.setattr(sqlite, "KEPT_SECONDS", 0.0)
    assert await server.is_blocked("spam.example")


async def test_a_failure_recorded_elsewhere_is_cleared_when_the_host_speaks(stores,
                                                                           monkeypatch):
    # Given a host whose delivery failed in a CLI command's run
    server, command = stores
    await server.record_host_success("m.example")  # read: no failing hosts
    await command.record_host_failure("m.example", 1.0)
    monkeypatch.setattr(sqlite, "KEPT_SECONDS", 0.0)

    # When the host speaks to the server
    await server.record_host_success("m.example")

    # Then its failure record is gone (a later failure starts a new streak)
    assert await command.record_host_failure("m.example", 5.0) == 5.0


async def test_this_process_sees_its_own_block_and_failure_at_once(stores):
    server, _ = stores
    assert not await server.is_blocked("spam.example")
    await server.block_domain("spam.example", 1.0)
    assert await server.is_blocked("SPAM.example")

    await server.record_host_failure("m.example", 1.0)
    await server.record_host_success("m.example")
    assert await server.record_host_failure("m.example", 5.0) == 5.0


async def test_a_tombstone_made_elsewhere_applies_once_the_set_is_read_again(stores,
                                                                             monkeypatch):
    # Given a server that has checked an actor and found no tombstone
    server, command = stores
    assert not await server.is_tombstoned("https://m.example/users/a")

    # When another process forgets the actor (it deleted itself)
    await command.forget_actor("https://m.example/users/a", 1.0)

    # Then the server sees the tombstone once its copy is due to be read again
    assert not await server.is_tombstoned("https://m.example/users/a")  # within KEPT_SECONDS
    monkeypatch.setattr(sqlite, "KEPT_SECONDS", 0.0)
    assert await server.is_tombstoned("https://m.example/users/a")


async def test_tombstones_are_read_again_past_the_last_row_only(stores, monkeypatch):
    # Given a server that has read the tombstones once
    server, command = stores
    monkeypatch.setattr(sqlite, "KEPT_SECONDS", 0.0)
    await command.forget_actor("https://m.example/users/a", 1.0)
    assert await server.is_tombstoned("https://m.example/users/a")
    read: list[int] = []
    tombstones = server._tombstones  # the reading itself is under test
    reading = tombstones._read_after
    monkeypatch.setattr(tombstones, "_read_after", lambda after: read.append(after)
                        or reading(after))

    # When more actors are forgotten elsewhere and the server asks again
    await command.forget_actor("https://m.example/users/b", 2.0)
    await command.forget_actor("https://m.example/users/c", 3.0)

    # Then only the rows after the one already seen are read, and every tombstone holds
    assert await server.is_tombstoned("https://m.example/users/b")
    assert await server.is_tombstoned("https://m.example/users/a")
    assert await server.is_tombstoned("https://m.example/users/c")
    assert read[0] == 1 and read[-1] == 3


async def test_this_process_sees_its_own_tombstone_at_once(stores):
    server, _ = stores
    assert not await server.is_tombstoned("https://m.example/users/a")
    await server.forget_actor("https://m.example/users/a", 1.0)
    assert await server.is_tombstoned("https://m.example/users/a")

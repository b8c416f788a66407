"""The inbox worker keeps arrival order where it can matter, and only there.

Activities that share an actor or an object are applied in turn; the rest run
side by side, so one slow activity (a reply whose author must be fetched)
does not hold up the votes behind it, and their writes share group commits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fediverse.app import build_services
from fediverse.incoming import InboxWorker
from fediverse.services import Services
from fediverse.settings import Settings
from fediverse.storage import InboxActivity

M = "https://m.example"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    built = await build_services(Settings(base_url="http://127.0.0.1:9",
                                          database=tmp_path / "order.sqlite3", mode="demo"))
    yield built
    await built.client.close()
    await built.store.close()


async def arrive(services: Services, *activities: tuple[str, str, Any]) -> None:
    """Store (actor, id, object) activities in this order, as the inbox would."""
    for n, (actor, activity_id, obj) in enumerate(activities):
        body = {"id": f"{M}/{activity_id}", "type": "Test", "actor": f"{M}/{actor}",
                "object": obj}
        await services.store.save_inbox_activity(InboxActivity(
            body["id"], body["actor"], "Test", json.dumps(body), received_at=n))


async def test_activities_sharing_an_actor_or_object_are_applied_in_arrival_order(
    services: Services,
):
    # Given: alice's reply X, bob's Delete of X, alice's second note Y, and bob's
    # unrelated vote V, whose handler only finishes once Y has been applied
    applied: list[str] = []
    y_done = asyncio.Event()

    async def handle(_: Services, activity: dict[str, Any], actor: str,
                     inbox_owner: str | None) -> None:
        name = activity["id"].rsplit("/", 1)[1]
        if name == "vote":
            await asyncio.wait_for(y_done.wait(), 5)  # only possible side by side
        applied.append(name)
        if name == "note-y":
            y_done.set()

    await arrive(services, ("alice", "reply-x", {"id": f"{M}/x"}),
                 ("bob", "delete-x", f"{M}/x"),
                 ("carol", "vote", {"id": f"{M}/v"}),
                 ("alice", "note-y", {"id": f"{M}/y"}))

    # When the worker runs
    done = await InboxWorker(services, handlers={"Test": (handle,)}).run_once()

    # Then X's chain kept its order, and carol's vote did not wait for it
    assert done == 4
    assert applied.index("reply-x") < applied.index("delete-x")
    assert applied.index("reply-x") < applied.index("note-y")
    assert applied[-1] == "vote"
    assert await services.store.pending_inbox_activities(10) == []

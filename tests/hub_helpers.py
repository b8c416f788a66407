"""A hub and libraries on loopback, wired the way `make demo` wires them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness import FakeRemote, RunningInstance, settle, start_instance

from fediverse import follows
from fediverse.hub.national import NationalResult, national_result
from fediverse.lifecycle import publish_poll
from fediverse.polls import Poll, PollDraft
from fediverse.tallies import TallyWorker

DAY = 86400.0


async def start_hub(tmp_path: Path, **overrides: Any) -> RunningInstance:
    return await start_instance(tmp_path, "hub", role="hub", **overrides)


async def start_library(tmp_path: Path, name: str, hub: RunningInstance,
                        **overrides: Any) -> RunningInstance:
    return await start_instance(tmp_path, name, hubs=(hub.actor_id,), **overrides)


async def follow_libraries(hub: RunningInstance, *libraries: RunningInstance) -> None:
    for library in libraries:
        await follows.follow(hub.services, "hub", library.actor_id)
    await settle(hub, *libraries)


async def national_poll(hub: RunningInstance, **changes: Any) -> Poll:
    draft = PollDraft(question="De bibliotheek moet op zondag open.",
                      end_time=time.time() + 14 * DAY, **changes)
    return await publish_poll(hub.services, "hub", draft)


def vote(remote: FakeRemote, library: RunningInstance, poll_id: int, name: str,
         actor: str) -> dict[str, Any]:
    activity = remote.fixture("mastodon-vote.json", library, actor=actor)
    activity["object"]["inReplyTo"] = f"{library.url}/polls/{poll_id}"
    activity["object"]["name"] = name
    activity["object"]["id"] = f"{remote.base}/users/{actor}#votes/{library.port}/{poll_id}/{name}"
    activity["id"] = f"{activity['object']['id']}/activity"
    return activity


async def cast(remote: FakeRemote, library: RunningInstance, poll_id: int,
               votes: list[tuple[str, str]]) -> None:
    """Votes by remote actors (made on first use), then the library's tally Update."""
    for actor, name in votes:
        if actor not in remote.actors:
            remote.add_actor(actor, key_index=len(remote.actors) % 4)
        status, _ = await remote.send(vote(remote, library, poll_id, name, actor),
                                      library.inbox)
        assert status == 202
    await report(library)


async def report(library: RunningInstance, later: float = 1.0) -> None:
    """Let the library's tally worker send what is due now (no debounce wait)."""
    await settle(library)
    worker = TallyWorker(library.services, debounce_seconds=0,
                         clock=lambda: time.time() + later)
    await worker.run_once()


async def result_of(hub: RunningInstance, poll: Poll, now: float | None = None,
                    ) -> NationalResult:
    store = hub.services.store
    return national_result(await store.poll(poll.id) or poll, await store.tally(poll.id),
                           await store.national_copies(poll.id), now or time.time(),
                           hub.settings.hub_stale_hours * 3600)


def by_library(result: NationalResult) -> dict[str, tuple[int, ...] | None]:
    return {row.copy.library: row.copy.counts for row in result.copies}

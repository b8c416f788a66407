"""The storage seam: domain-level records and the `Store` contract.

The application talks to storage only through `Store`, in its own words
(`save_inbox_activity`, `lease_due_deliveries`), so a PostgreSQL backend is one
new module plus the same contract tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ..polls import Poll, PollDraft, Tally

FollowState = Literal["pending", "accepted", "rejected"]


@dataclass(frozen=True)
class LocalActor:
    username: str
    name: str
    summary: str
    private_key_pem: str
    public_key_pem: str
    actor_type: str = "Organization"


@dataclass(frozen=True)
class RemoteActor:
    id: str
    key_id: str
    public_key_pem: str
    inbox: str
    shared_inbox: str | None
    username: str | None
    name: str | None
    url: str | None
    fetched_at: float

    @property
    def preferred_inbox(self) -> str:
        """Shared inbox when the server has one: one POST reaches all its users."""
        return self.shared_inbox or self.inbox


@dataclass(frozen=True)
class InboxActivity:
    id: str
    actor: str
    type: str
    body: str
    received_at: float


@dataclass(frozen=True)
class Ballot:
    """A vote the inbox recognised as it arrived: `voter` names `option` of poll
    `poll_id` with the Note `object_id`. Stored with its activity, it is counted in
    that transaction if the poll is open and has exactly that option, so the poll
    is never read on the way in (see `save_inbox_activity`)."""

    poll_id: int
    voter: str
    option: str
    object_id: str


@dataclass(frozen=True)
class Follow:
    local_username: str
    actor_id: str
    follow_id: str
    state: FollowState
    created_at: float


@dataclass(frozen=True)
class Delivery:
    id: int
    activity_id: str
    local_username: str
    body: str
    inbox: str
    host: str
    attempts: int
    created_at: float


@dataclass(frozen=True)
class HostStatus:
    host: str
    pending: int
    failed: int
    failing_since: float | None
    unavailable: bool


ReplyState = Literal["visible", "pending", "hidden"]


@dataclass(frozen=True)
class Reply:
    """One entry of a poll's discussion: a fediverse reply or a local comment."""

    id: str
    poll_id: int
    actor: str | None
    author_name: str
    author_handle: str | None
    author_url: str | None
    content: str  # sanitised HTML
    published_at: float
    updated_at: float | None = None
    state: ReplyState = "visible"


@dataclass(frozen=True)
class ApiToken:
    """A JSON API token as staff see it listed; the token itself is never stored."""

    id: int
    name: str
    created_at: float | None
    last_used_at: float | None
    revoked_at: float | None


class DuplicateError(Exception):
    """The record exists already (a local actor with that username, say)."""


class Store(Protocol):
    async def close(self) -> None: ...

    # local actors
    async def create_local_actor(self, actor: LocalActor, now: float) -> None: ...
    async def local_actor(self, username: str) -> LocalActor | None: ...
    async def local_actors(self) -> list[LocalActor]: ...

    # remote actors, blocks and tombstones
    async def save_remote_actor(self, actor: RemoteActor) -> None: ...
    async def remote_actor(self, actor_id: str) -> RemoteActor | None: ...
    async def remote_actor_by_key(self, key_id: str) -> RemoteActor | None: ...
    async def forget_actor(self, actor_id: str, now: float) -> None: ...
    async def is_tombstoned(self, actor_id: str) -> bool: ...
    async def block_domain(self, domain: str, now: float) -> None: ...
    async def is_blocked(self, domain: str) -> bool: ...

    # inbox
    async def save_inbox_activity(self, activity: InboxActivity,
                                  vote: Ballot | None = None) -> bool: ...
    async def pending_inbox_activities(self, limit: int) -> list[InboxActivity]: ...
    async def mark_inbox_processed(
        self, activity_id: str, now: float, error: str | None
    ) -> None: ...
    async def inbox_activity_count(self) -> int: ...

    # follows, both ways
    async def save_follower(self, follow: Follow) -> None: ...
    async def follower(self, local_username: str, actor_id: str) -> Follow | None: ...
    async def followers(self, local_username: str, state: FollowState) -> list[Follow]: ...
    async def follower_count(self, local_username: str) -> int: ...
    async def remove_follower(self, local_username: str, actor_id: str) -> bool: ...
    async def remove_followers_at_inbox(self, inbox: str) -> int: ...
    async def follower_inboxes(self, local_username: str) -> list[str]: ...
    async def save_following(self, follow: Follow, now: float) -> None: ...
    async def following_by_follow_id(self, follow_id: str) -> Follow | None: ...
    async def following(self, local_username: str) -> list[Follow]: ...
    async def remove_following(self, local_username: str, actor_id: str) -> bool: ...
    async def set_following_state(self, follow_id: str, state: FollowState, now: float) -> None: ...

    # outbox and delivery queue
    async def add_outbox_activity(
        self,
        local_username: str,
        activity_id: str,
        activity_type: str,
        body: str,
        public: bool,
        inboxes: list[str],
        now: float,
    ) -> int: ...
    async def outbox_activity(self, activity_id: str) -> str | None: ...
    async def public_outbox(self, local_username: str, limit: int) -> list[str]: ...
    async def public_outbox_count(self, local_username: str) -> int: ...
    async def lease_due_deliveries(
        self,
        now: float,
        limit: int,
        lease_seconds: float,
        skip_hosts: set[str],
        per_host: int,
    ) -> list[Delivery]: ...
    async def release_all_leases(self) -> int: ...
    async def finish_delivery(self, delivery_id: int, now: float, status: int | None) -> None: ...
    async def retry_delivery(
        self,
        delivery_id: int,
        next_attempt_at: float,
        status: int | None,
        error: str,
    ) -> None: ...
    async def fail_delivery(
        self,
        delivery_id: int,
        now: float,
        status: int | None,
        error: str,
    ) -> None: ...
    async def delivery_counts(self) -> dict[str, int]: ...

    # host health
    async def record_host_failure(self, host: str, now: float) -> float: ...
    async def record_host_success(self, host: str) -> None: ...
    async def mark_host_unavailable(self, host: str, now: float) -> None: ...
    async def unavailable_hosts(self, since: float) -> set[str]: ...
    async def host_statuses(self) -> list[HostStatus]: ...

    # polls
    async def create_poll(self, username: str, draft: PollDraft, now: float) -> Poll: ...
    async def poll(self, poll_id: int) -> Poll | None: ...
    async def polls(self, username: str) -> list[Poll]: ...
    async def edit_poll(self, poll_id: int, draft: PollDraft, edited_at: float) -> None: ...
    async def set_poll_end(self, poll_id: int, end_time: float, closed_at: float | None,
                           ) -> None: ...
    async def delete_poll(self, poll_id: int, now: float) -> None: ...
    async def tally(self, poll_id: int) -> Tally: ...
    async def has_votes(self, poll_id: int) -> bool: ...
    async def record_vote(self, poll_id: int, voter: str, choices: list[int], single: bool,
                          object_id: str | None, now: float) -> tuple[int, ...]: ...
    async def voter_inboxes(self, poll_id: int) -> list[str]: ...
    async def take_due_tallies(self, dirty_before: float) -> list[int]: ...
    async def polls_to_finalise(self, now: float) -> list[int]: ...
    async def mark_final_update_sent(self, poll_id: int) -> None: ...

    # discussion
    async def save_reply(self, reply: Reply) -> bool: ...
    async def reply(self, reply_id: str) -> Reply | None: ...
    async def edit_reply(self, reply_id: str, content: str, updated_at: float) -> None: ...
    async def delete_reply(self, reply_id: str, now: float) -> None: ...
    async def replies(self, poll_id: int, state: ReplyState) -> list[Reply]: ...
    async def reply_count(self, poll_id: int) -> int: ...
    async def tombstone_object(self, object_id: str, now: float) -> None: ...
    async def is_object_tombstoned(self, object_id: str) -> bool: ...

    # JSON API tokens (stored as sha256 hex; `api_token_by_hash` skips revoked ones)
    async def create_api_token(self, name: str, token_hash: str, now: float) -> int: ...
    async def api_token_by_hash(self, token_hash: str) -> tuple[int, str] | None: ...
    async def touch_api_token(self, token_id: int, now: float) -> None: ...
    async def revoke_api_token(self, name: str, now: float) -> bool: ...
    async def api_tokens(self) -> list[ApiToken]: ...

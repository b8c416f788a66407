"""The storage seam: domain-level records and the `Store` contract.

The application talks to storage only through `Store`, in its own words
(`save_inbox_activity`, `lease_due_deliveries`), so a PostgreSQL backend is one
new module plus the same contract tests.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """`inbox_owner` is the local actor whose personal inbox it came in at, None for
    the shared inbox: a vote there for another local actor's poll does not count
    (security.md A22)."""

    id: str
    actor: str
    type: str
    body: str
    received_at: float
    inbox_owner: str | None = None


@dataclass(frozen=True)
class Ballot:
    """A vote the inbox recognised as it arrived: `voter` names `option` of poll
    `poll_id` with the Note `object_id`. Stored with its activity, it is counted in
    that transaction if the poll is open, has exactly that option and belongs to the
    activity's `inbox_owner` (when it has one), so the poll is never read on the
    way in (see `save_inbox_activity`)."""

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
Moderation = Literal["open", "first", "held"]  # how a poll's new local comments start


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


# admin

@dataclass(frozen=True)
class AdminAccount:
    """A staff member who can log in to /admin; `password_hash` is argon2id."""

    id: int
    username: str
    password_hash: str
    created_at: float
    disabled_at: float | None = None
    last_login_at: float | None = None


@dataclass(frozen=True)
class Report:
    """A Flag from another server: `content` is plain text, `objects` the ids it names."""

    id: int
    activity_id: str
    reporter: str
    content: str
    objects: tuple[str, ...]
    received_at: float
    resolved_at: float | None = None


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed, and the polls whose tallies were recounted."""

    votes: int
    replies: int
    polls: tuple[int, ...]


class DuplicateError(Exception):
    """The record exists already (a local actor with that username, say)."""


class Store(Protocol):
    async def close(self) -> None: ...
    async def checkpoint_forever(self, interval: float = ...) -> None: ...

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

    # comments and web votes. A local comment is a `Reply` with actor None, saved with
    # the commenter's e-mail address; the address is readable through `comment_email`
    # only (staff views): `reply`/`replies` never carry it.
    async def save_comment(self, reply: Reply, email: str) -> None: ...
    async def comment_email(self, reply_id: str) -> str | None: ...
    async def has_visible_comment_by(self, email: str) -> bool: ...
    async def set_reply_state(self, reply_id: str, state: ReplyState) -> bool: ...
    async def poll_moderation(self, poll_id: int) -> Moderation: ...
    async def set_poll_moderation(self, poll_id: int, moderation: Moderation) -> None: ...
    async def has_voted(self, poll_id: int, voter: str) -> bool: ...

    # secrets the instance made for itself (`make` is called when `name` is new)
    async def instance_secret(self, name: str, make: Callable[[], str], now: float) -> str: ...

    # JSON API tokens (stored as sha256 hex; `api_token_by_hash` skips revoked ones)
    async def create_api_token(self, name: str, token_hash: str, now: float) -> int: ...
    async def api_token_by_hash(self, token_hash: str) -> tuple[int, str] | None: ...
    async def touch_api_token(self, token_id: int, now: float) -> None: ...
    async def revoke_api_token(self, name: str, now: float) -> bool: ...
    async def api_tokens(self) -> list[ApiToken]: ...

    # admin: staff accounts and sessions (a session row is keyed by the token's sha256;
    # a password change or a disabled account ends every session of the account)
    async def create_admin(self, username: str, password_hash: str, now: float) -> int: ...
    async def admin_account(self, username: str) -> AdminAccount | None: ...
    async def admin_accounts(self) -> list[AdminAccount]: ...
    async def set_admin_password(self, username: str, password_hash: str) -> bool: ...
    async def disable_admin(self, username: str, now: float) -> bool: ...
    async def delete_admin(self, username: str) -> bool: ...
    async def create_admin_session(self, token_hash: str, account_id: int, now: float,
                                   expires_at: float) -> None: ...
    async def admin_by_session(self, token_hash: str, now: float) -> AdminAccount | None: ...
    async def end_admin_session(self, token_hash: str) -> None: ...

    # admin: blocks, purges and reports
    async def block_actor(self, actor_id: str, now: float) -> None: ...
    async def unblock_actor(self, actor_id: str) -> bool: ...
    async def is_actor_blocked(self, actor_id: str) -> bool: ...
    async def unblock_domain(self, domain: str) -> bool: ...
    async def blocked_domains(self) -> list[tuple[str, float]]: ...
    async def blocked_actors(self) -> list[tuple[str, float]]: ...
    async def purge_actor(self, actor_id: str, now: float) -> PurgeResult: ...
    async def purge_domain(self, domain: str, now: float) -> PurgeResult: ...
    async def save_report(self, activity_id: str, reporter: str, content: str,
                          objects: tuple[str, ...], now: float) -> bool: ...
    async def reports(self, resolved: bool, limit: int, offset: int = 0) -> list[Report]: ...
    async def report_count(self, resolved: bool) -> int: ...
    async def resolve_report(self, report_id: int, now: float) -> bool: ...

    # admin: the moderation queue and exports (the only reads of commenters' e-mail
    # addresses besides `comment_email`: staff pages and an export that asks for them)
    async def staff_replies(self, poll_id: int | None, state: ReplyState | None,
                            limit: int, offset: int = 0) -> list[tuple[Reply, str | None]]: ...
    async def reply_states(self) -> dict[ReplyState, int]: ...

    # hub: mirrored library polls, their discussion, and adopted national polls
    async def mirrored_poll(self, poll_id: str) -> MirroredPoll | None: ...
    async def save_mirrored_poll(self, poll: MirroredPoll) -> None: ...
    async def delete_mirrored_poll(self, poll_id: str, now: float) -> None: ...
    async def mirrored_polls(self, library: str | None = None) -> list[MirroredPoll]: ...
    async def national_copies(self, national_poll: int) -> list[MirroredPoll]: ...
    async def replace_hub_replies(self, hub_poll: str, replies: list[HubReply]) -> None: ...
    async def hub_replies(self, hub_polls: list[str]) -> list[HubReply]: ...
    async def link_national_poll(self, poll_id: int, national_poll: str) -> None: ...
    async def national_poll_of(self, poll_id: int) -> str | None: ...


# hub


@dataclass(frozen=True)
class MirroredPoll:
    """A library's poll as the hub holds it: its latest counts and the library's
    stamp of when they were current (`counted_at`)."""

    id: str
    library: str
    question: str
    url: str
    options: tuple[str, ...]
    multiple: bool
    public: bool
    counts: tuple[int, ...] | None
    voters: int | None
    counted_at: float | None
    end_time: float | None
    closed: bool
    national_poll: int | None
    published_at: float
    received_at: float

    @property
    def is_final(self) -> bool:
        """Closed, with counts: the library's last word on this poll."""
        return self.closed and self.counts is not None


@dataclass(frozen=True)
class HubReply:
    """A comment from the discussion of one copy of a national poll."""

    id: str
    hub_poll: str
    author_name: str
    author_url: str | None
    content: str  # sanitised HTML
    published_at: float

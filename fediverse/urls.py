"""Where every local object lives. Ids are stable and never reused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Urls:
    base: str

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def poll(self, poll_id: int) -> str:
        return f"{self.base}/polls/{poll_id}"

    def poll_replies(self, poll_id: int) -> str:
        return f"{self.poll(poll_id)}/replies"

    def poll_id_of(self, object_id: str) -> int | None:
        """The local poll an object id names (`inReplyTo` of a vote), or None."""
        prefix = f"{self.base}/polls/"
        tail = object_id[len(prefix):] if object_id.startswith(prefix) else ""
        return int(tail) if tail.isdigit() and len(tail) < 12 else None

    def new_activity(self) -> str:
        return f"{self.base}/activities/{uuid.uuid4()}"

    def username_of(self, actor_id: str) -> str | None:
        """The local username an actor id names, or None when it is not ours."""
        prefix = f"{self.base}/users/"
        if actor_id.startswith(prefix) and "/" not in actor_id[len(prefix):]:
            return actor_id[len(prefix):] or None
        return None

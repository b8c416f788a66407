"""A visitor of the poll pages: a web client that votes and comments as a browser does."""

from __future__ import annotations

from typing import Any

from web_client import WebClient


class Visitor(WebClient):
    async def vote(self, poll_id: int, *choices: int) -> tuple[int, str, Any]:
        await self.get(f"/polls/{poll_id}")
        return await self.post(f"/polls/{poll_id}/vote", [("choice", str(c)) for c in choices])

    async def comment(self, poll_id: int, name: str = "Jan", email: str = "jan@example.org",
                      text: str = "Goed idee.") -> tuple[int, str, Any]:
        await self.get(f"/polls/{poll_id}")
        return await self.post(f"/polls/{poll_id}/comments",
                               {"name": name, "email": email, "comment": text})

"""Staff in the /admin pages: an account, and a web client that logs in."""

from __future__ import annotations

import time

from harness import RunningInstance
from web_client import WebClient

from fediverse import accounts

PASSWORD = "correct horse battery"


async def make_account(instance: RunningInstance, username: str = "anna",
                       password: str = PASSWORD) -> None:
    await accounts.create_account(instance.services.store, username, password, time.time())


class AdminClient(WebClient):
    async def log_in(self, username: str = "anna", password: str = PASSWORD) -> int:
        await self.get("/admin/login")
        status, _, _ = await self.post("/admin/login",
                                       {"username": username, "password": password})
        await self.get("/admin/")  # a fresh CSRF token: login replaces it
        return status

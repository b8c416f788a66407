"""A browser-like client for the /admin pages: a cookie jar, no redirects followed,
and the CSRF token read from the last page, as a browser would send it back."""

from __future__ import annotations

import re
import time
from typing import Any

import aiohttp
from harness import RunningInstance

from fediverse import accounts

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def make_account(instance: RunningInstance, username: str = "anna",
                       password: str = PASSWORD) -> None:
    await accounts.create_account(instance.services.store, username, password, time.time())


class AdminClient:
    def __init__(self, instance: RunningInstance) -> None:
        self.instance = instance
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str, **headers: str) -> tuple[int, str, Any]:
        async with self.session.get(f"{self.instance.url}{path}", allow_redirects=False,
                                    headers=headers) as response:
            text = await response.text()
            found = TOKEN.search(text)
            if found:
                self.csrf = found.group(1)
            return response.status, text, response.headers

    async def post(self, path: str, data: Any, *, csrf: bool = True,
                   **headers: str) -> tuple[int, str, Any]:
        """POST a form; the page's CSRF token is added unless `csrf` is False."""
        if csrf and isinstance(data, dict):
            data = {"csrf_token": self.csrf, **data}
        elif csrf and isinstance(data, list):
            data = [("csrf_token", self.csrf), *data]
        async with self.session.post(f"{self.instance.url}{path}", data=data,
                                     allow_redirects=False, headers=headers) as response:
            return response.status, await response.text(), response.headers

    async def log_in(self, username: str = "anna", password: str = PASSWORD) -> int:
        await self.get("/admin/login")
        status, _, _ = await self.post("/admin/login",
                                       {"username": username, "password": password})
        await self.get("/admin/")  # a fresh CSRF token: login replaces it
        return status

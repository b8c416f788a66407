"""A browser-like client of an instance's HTML pages (the admin's and the visitors'):
a cookie jar, redirects not followed, and the CSRF token read from the last page it
saw, as a browser sends it back."""

from __future__ import annotations

import re
from typing import Any, Protocol, Self

import aiohttp

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Site(Protocol):
    """Where the pages are: a `harness.RunningInstance`, or any root URL (`make demo`)."""

    @property
    def url(self) -> str: ...


class WebClient:
    def __init__(self, instance: Site, **headers: str) -> None:
        self.instance = instance
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             headers=headers)
        self.csrf = ""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

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

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]], *,
                   csrf: bool = True, **headers: str) -> tuple[int, str, Any]:
        """POST a form; the page's CSRF token is added unless `csrf` is False."""
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            fields.insert(0, ("csrf_token", self.csrf))
        async with self.session.post(f"{self.instance.url}{path}", data=fields,
                                     allow_redirects=False, headers=headers) as response:
            return response.status, await response.text(), response.headers

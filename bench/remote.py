"""A fake fediverse server for the benchmarks: actor documents and a counting sink.

It plays many remote accounts at once: `GET /users/<name>` answers a
Mastodon-shaped actor whose key is one of a few shared key pairs (making an
RSA key per voter would take minutes; the instance still fetches, caches and
checks each keyId on its own). Every inbox POST is counted by path and, given
the instance's public key, its signature is verified the way Mastodon would.
`GET /bench/counts` reports what arrived, with monotonic times comparable
with the load generator's (one clock per machine).

    python -m bench.remote --fd N --port P [--keys keys.json] [--verify-key pem]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from activitypub import httpsig
from activitypub.errors import SignatureError
from activitypub.keys import load_public_key

from .processes import stop_on_signal_or_orphaning

AS_CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]


def actor_document(base: str, name: str, public_key_pem: str) -> dict[str, Any]:
    """What Mastodon serves for an account, reduced to what a poll server reads."""
    actor_id = f"{base}/users/{name}"
    return {
        "@context": AS_CONTEXT, "id": actor_id, "type": "Person",
        "preferredUsername": name, "name": name.title(), "url": f"{base}/@{name}",
        "inbox": f"{actor_id}/inbox", "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers", "following": f"{actor_id}/following",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id,
                      "publicKeyPem": public_key_pem},
    }


def key_index(name: str, keys: int) -> int:
    """Voter `v17` signs with key 17 mod the number of keys; the load generator agrees."""
    digits = "".join(c for c in name if c.isdigit())
    return int(digits or 0) % keys


class Remote:
    def __init__(self, base: str, host: str, public_keys: list[str],
                 verify_key: str | None) -> None:
        self._base, self._host, self._keys = base, host, public_keys
        self._verify_key = load_public_key(verify_key) if verify_key else None
        self.arrivals: Counter[str] = Counter()
        self.unverified = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/users/{name}", self.actor)
        app.router.add_get("/bench/counts", self.counts)
        app.router.add_post("/{path:.*}", self.inbox)
        return app

    async def actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not self._keys:  # a sink plays no accounts
            return web.json_response({"error": "not found"}, status=404)
        pem = self._keys[key_index(name, len(self._keys))]
        return web.json_response(actor_document(self._base, name, pem),
                                 content_type="application/activity+json")

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self._verify_key is not None and not self._verified(request, body):
            self.unverified += 1
            return web.Response(status=401)
        now = time.monotonic()
        self.first_at = self.first_at or now
        self.last_at = now
        self.arrivals[request.path] += 1
        return web.Response(status=202)

    def _verified(self, request: web.Request, body: bytes) -> bool:
        assert self._verify_key is not None
        try:
            params = httpsig.check_request("POST", request.path_qs, request.headers, body,
                                           expected_host=self._host, now=datetime.now(UTC))
            httpsig.verify(params, "POST", request.path_qs, request.headers, self._verify_key)
        except SignatureError:
            return False
        return True

    async def counts(self, request: web.Request) -> web.Response:
        """What arrived; `?paths=1` adds every inbox path, to check them one by one."""
        found: dict[str, Any] = {
            "received": sum(self.arrivals.values()), "distinct": len(self.arrivals),
            "duplicates": sum(n - 1 for n in self.arrivals.values() if n > 1),
            "unverified": self.unverified, "first_at": self.first_at, "last_at": self.last_at,
        }
        if request.query.get("paths"):
            found["paths"] = sorted(self.arrivals)
        return web.json_response(found)


async def run(args: argparse.Namespace) -> None:
    keys = json.loads(args.keys.read_text())["public_keys"] if args.keys else []
    verify_key = args.verify_key.read_text() if args.verify_key else None
    host = f"127.0.0.1:{args.port}"
    remote = Remote(f"http://{host}", host, keys, verify_key)
    runner = web.AppRunner(remote.app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, socket.socket(fileno=args.fd)).start()
    await stop_on_signal_or_orphaning()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.remote")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=Path, help="JSON with the actors' public keys")
    parser.add_argument("--verify-key", type=Path)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

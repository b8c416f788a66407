"""The staff JSON API under /api/v1: polls in and out, for a library's own tools.

Every endpoint needs `Authorization: Bearer <token>` (tokens come from
`peiling token create`). Bodies are parsed as strictly as the inbox parses a
peer's activity: one JSON object, known fields of the right type, a size cap;
the poll rules themselves stay in `lifecycle`, which the CLI calls too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from quart import Blueprint, Response, request

from activitypub.errors import MalformedError, NotFound, PayloadTooLarge, UnsupportedMediaType
from activitypub.jsonparse import parse_object
from activitypub.vocab import JsonObject

from ..lifecycle import close_poll, delete_poll, edit_poll, existing_poll, publish_poll, reopen_poll
from ..outgoing import iso
from ..polls import Opinion, Poll, PollDraft, Tally, closing_time, draft_of
from ..tokens import hash_token
from ..urls import Urls
from . import json_response, services

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_BODY_BYTES = 256 * 1024
POLL_ID = "<int:poll_id>"
MAX_POLL_ID = 2**63 - 1  # SQLite's INTEGER range: a larger id cannot exist
JSON = "application/json"


@bp.url_value_preprocessor
def check_poll_id(_: str | None, values: dict[str, Any] | None) -> None:
    """An id past SQLite's range is a 404 here, not an OverflowError in the store."""
    if values and values.get("poll_id", 0) > MAX_POLL_ID:
        raise NotFound(f"no poll {values['poll_id']}")


@bp.before_request
async def require_token() -> Response | None:
    """Refuse before the body is read: no token, no work."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("send Authorization: Bearer <token> (see `peiling token create`)",
                             'Bearer realm="peiling"')
    store = services().store
    found = await store.api_token_by_hash(hash_token(token.strip()))
    if found is None:
        return _unauthorized("the token is unknown or revoked",
                             'Bearer realm="peiling", error="invalid_token"')
    await store.touch_api_token(found[0], time.time())
    return None


def _unauthorized(reason: str, challenge: str) -> Response:
    response = json_response({"error": reason}, status=401, content_type=JSON)
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.get("/polls")
async def list_polls() -> Response:
    s = services()
    found = [poll for actor in await s.store.local_actors()
             for poll in await s.store.polls(actor.username)]
    found.sort(key=lambda poll: (-poll.published_at, -poll.id))
    return json_response({"polls": [await _rendered(poll) for poll in found]},
                         content_type=JSON)


@bp.post("/polls")
async def create_poll() -> Response:
    body = await _json_body(frozenset({*FIELDS, "username"}))
    for required in ("question", "closes_at"):
        if required not in body:
            raise MalformedError(f"{required} is required")
    username = body.pop("username", None)
    if username is None:
        username = await _first_username()
    elif not isinstance(username, str):
        raise MalformedError("username must be a string")
    draft = _draft(body, PollDraft(question="", end_time=0.0))
    poll = await publish_poll(services(), username, draft)
    return json_response(await _rendered(poll), status=201, content_type=JSON)


@bp.get(f"/polls/{POLL_ID}")
async def show_poll(poll_id: int) -> Response:
    poll = await existing_poll(services(), poll_id)
    return json_response(await _rendered(poll), content_type=JSON)


@bp.patch(f"/polls/{POLL_ID}")
async def change_poll(poll_id: int) -> Response:
    """Any subset of the fields; `lifecycle.edit_poll` refuses what votes have locked."""
    body = await _json_body(frozenset(FIELDS))
    if not body:
        raise MalformedError("no fields to change")
    poll = await existing_poll(services(), poll_id)
    edited = await edit_poll(services(), poll_id, _draft(body, draft_of(poll)))
    return json_response(await _rendered(edited), content_type=JSON)


@bp.post(f"/polls/{POLL_ID}/close")
async def close(poll_id: int) -> Response:
    poll = await close_poll(services(), poll_id)
    return json_response(await _rendered(poll), content_type=JSON)


@bp.post(f"/polls/{POLL_ID}/reopen")
async def reopen(poll_id: int) -> Response:
    """No body reopens until the planned end; `closes_at` sets a new one."""
    body: JsonObject = {}
    if request.content_length or "Transfer-Encoding" in request.headers:
        body = await _json_body(frozenset({"closes_at"}))
    end = _closing("closes_at", body["closes_at"]) if "closes_at" in body else None
    poll = await reopen_poll(services(), poll_id, end)
    return json_response(await _rendered(poll), content_type=JSON)


@bp.delete(f"/polls/{POLL_ID}")
async def remove(poll_id: int) -> Response:
    await delete_poll(services(), poll_id)
    return Response("", status=204)


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(anything: str) -> Response:
    """API clients parse every answer as JSON, a wrong path's 404 too."""
    raise NotFound(f"no API endpoint {request.method} /api/v1/{anything[:100]}")


async def _rendered(poll: Poll) -> JsonObject:
    s = services()
    return poll_json(poll, await s.store.tally(poll.id), s.urls, time.time())


def poll_json(poll: Poll, tally: Tally, urls: Urls, now: float) -> JsonObject:
    """The API's view of a poll: staff see the counts even while results are hidden."""
    return {
        "id": poll.id, "url": urls.poll(poll.id), "username": poll.local_username,
        "question": poll.question, "introduction": poll.introduction, "article": poll.article,
        "opinions": [{"name": o.name, "role": o.role, "text": o.text} for o in poll.opinions],
        "options": list(poll.options), "multiple": poll.multiple,
        "hide_results": poll.hide_results, "closes_at": iso(poll.closes_at),
        "closed": not poll.is_open(now), "published_at": iso(poll.published_at),
        "edited_at": iso(poll.edited_at) if poll.edited_at is not None else None,
        "tally": {"counts": dict(zip(poll.options, tally.counts, strict=False)),
                  "voters": tally.voters},
    }


async def _first_username() -> str:
    actors = await services().store.local_actors()
    if not actors:
        raise NotFound("no local actor yet: run `peiling init` first")
    return actors[0].username


# ---------------------------------------------------------------- request bodies


async def _json_body(allowed: frozenset[str]) -> JsonObject:
    """One JSON object with only `allowed` fields, or the error that says what is wrong."""
    if request.mimetype != JSON:
        raise UnsupportedMediaType(f"Content-Type must be {JSON}")
    body = parse_object(await _capped_body())
    unknown = sorted(name[:40] for name in body if name not in allowed)
    if unknown:
        raise MalformedError(f"unknown fields: {', '.join(unknown[:5])}")
    return body


async def _capped_body() -> bytes:
    """The body, refused with 413 past MAX_BODY_BYTES (declared or streamed)."""
    too_large = PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    data = bytearray()
    async with asyncio.timeout(request.body_timeout):
        async for chunk in request.body:
            data += chunk
            if len(data) > MAX_BODY_BYTES:
                raise too_large
    return bytes(data)


def _draft(body: JsonObject, base: PollDraft) -> PollDraft:
    """`base` with the body's fields applied, each checked by its reader in FIELDS."""
    changes = {}
    for name, value in body.items():
        attribute, read = FIELDS[name]
        changes[attribute] = read(name, value)
    return replace(base, **changes)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise MalformedError(f"{name} must be a string")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise MalformedError(f"{name} must be true or false")
    return value


def _options(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedError(f"{name} must be a list of strings")
    return tuple(value)


def _opinions(name: str, value: Any) -> tuple[Opinion, ...]:
    """A list of {name, text, role?} objects; a missing role is an empty one."""
    if not isinstance(value, list):
        raise MalformedError(f"{name} must be a list of objects with name, role and text")
    return tuple(_opinion(f"{name}[{i}]", item) for i, item in enumerate(value))


def _opinion(name: str, value: Any) -> Opinion:
    if not isinstance(value, dict) or not {"name", "text"} <= value.keys() <= {
            "name", "role", "text"}:
        raise MalformedError(f"{name} must be an object with name, role and text only")
    return Opinion(_text(f"{name}.name", value["name"]),
                   _text(f"{name}.role", value.get("role", "")),
                   _text(f"{name}.text", value["text"]))


def _closing(name: str, value: Any) -> float:
    return closing_time(_text(name, value), name)


FIELDS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "question": ("question", _text),
    "introduction": ("introduction", _text),
    "article": ("article", _text),
    "opinions": ("opinions", _opinions),
    "options": ("options", _options),
    "multiple": ("multiple", _flag),
    "hide_results": ("hide_results", _flag),
    "closes_at": ("end_time", _closing),
}

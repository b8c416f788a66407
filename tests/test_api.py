"""The staff JSON API against a real instance: polls made, changed and removed over
HTTP with a token, and every bad request refused with its status, storing nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from harness import RunningInstance

from fediverse.tokens import hash_token
from fediverse.web.api import MAX_BODY_BYTES

TOKEN = "test-token-abcdefghijklmnopqrstuvwxyz0123456789"
JSON = "application/json"


def ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.fixture
async def api(instance: RunningInstance) -> AsyncIterator[Api]:
    await instance.services.store.create_api_token("tests", hash_token(TOKEN), time.time())
    async with aiohttp.ClientSession() as session:
        yield Api(instance, session)


class Api:
    """Requests to /api/v1 with the test token unless told otherwise."""

    def __init__(self, instance: RunningInstance, session: aiohttp.ClientSession) -> None:
        self.instance = instance
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, *, raw: Any = None,
                   token: str | None = TOKEN, headers: dict[str, str] | None = None,
                   ) -> tuple[int, Any, Any]:
        sent = {"Authorization": f"Bearer {token}"} if token is not None else {}
        if body is not None:
            raw, sent["Content-Type"] = json.dumps(body).encode(), JSON
        sent.update(headers or {})
        async with self.session.request(method, f"{self.instance.url}/api/v1{path}",
                                        data=raw, headers=sent) as response:
            text = await response.text()
            document = json.loads(text) if text else None
            return response.status, document, response.headers

    async def create(self, **fields: Any) -> dict[str, Any]:
        status, poll, _ = await self.call("POST", "/polls", {
            "question": "Bibliotheken nemen sociale media nog niet serieus.",
            "closes_at": ahead(days=14), **fields})
        assert status == 201, poll
        return poll

    async def polls(self) -> list[dict[str, Any]]:
        status, document, _ = await self.call("GET", "/polls")
        assert status == 200
        return document["polls"]

    async def assert_serving(self, polls_before: list[dict[str, Any]]) -> None:
        """Nothing changed, and the instance still answers."""
        assert await self.polls() == polls_before
        async with self.session.get(f"{self.instance.url}/healthz") as response:
            assert response.status == 200


async def vote(instance: RunningInstance, poll_id: int, choice: int = 0) -> None:
    await instance.services.store.record_vote(poll_id, "https://m.example/users/alice",
                                              [choice], True, None, time.time())


# ---------------------------------------------------------------- happy paths


async def test_create_publishes_a_poll_with_defaults(api):
    closes = ahead(days=21)

    status, poll, headers = await api.call("POST", "/polls", {
        "question": "  De bibliotheek moet op zondag open.  ", "closes_at": closes,
        "introduction": "Wat vindt u?", "article": "## Waarom\n\nOmdat...",
        "opinions": [{"name": "An Jansen", "role": "Directeur (fictief)", "text": "Eens."}]})

    assert status == 201 and headers["Content-Type"] == JSON
    assert poll["question"] == "De bibliotheek moet op zondag open."
    assert poll["options"] == ["Eens", "Oneens"]
    assert poll["multiple"] is False and poll["hide_results"] is False
    assert poll["opinions"] == [{"name": "An Jansen", "role": "Directeur (fictief)",
                                 "text": "Eens."}]
    assert poll["closed"] is False and poll["edited_at"] is None
    assert poll["closes_at"] == datetime.fromisoformat(closes).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert poll["url"] == f"{api.instance.url}/polls/{poll['id']}"
    assert poll["tally"] == {"counts": {"Eens": 0, "Oneens": 0}, "voters": 0}
    assert await api.polls() == [poll]


async def test_list_and_show_carry_the_tally(api):
    first = await api.create()
    second = await api.create(options=["Ja", "Nee", "Weet niet"], multiple=True,
                              hide_results=True)
    await vote(api.instance, second["id"], 2)

    listed = await api.polls()
    status, shown, _ = await api.call("GET", f"/polls/{second['id']}")

    assert [p["id"] for p in listed] == [second["id"], first["id"]]
    assert status == 200 and shown == listed[0]
    assert shown["tally"] == {"counts": {"Ja": 0, "Nee": 0, "Weet niet": 1}, "voters": 1}


async def test_edit_changes_any_subset_before_votes(api):
    poll = await api.create()

    status, edited, _ = await api.call("PATCH", f"/polls/{poll['id']}", {
        "options": ["Helemaal eens", "Oneens"], "multiple": True, "article": "Nieuw."})

    assert status == 200
    assert edited["options"] == ["Helemaal eens", "Oneens"] and edited["multiple"] is True
    assert edited["article"] == "Nieuw." and edited["question"] == poll["question"]
    assert edited["edited_at"] is not None


@pytest.mark.parametrize("change, reason", [
    ({"options": ["Ja", "Nee"]}, "options and the choice mode are locked"),
    ({"multiple": True}, "options and the choice mode are locked"),
    ({"question": "Een andere vraag."}, "the question is locked"),
])
async def test_after_a_vote_what_was_voted_on_is_locked(api, change, reason):
    poll = await api.create()
    await vote(api.instance, poll["id"])
    before = await api.polls()

    status, error, _ = await api.call("PATCH", f"/polls/{poll['id']}", change)

    assert status == 422 and reason in error["error"]
    await api.assert_serving(before)


async def test_after_a_vote_article_and_opinions_stay_editable(api):
    poll = await api.create()
    await vote(api.instance, poll["id"])
    opinions = [{"name": "Piet de Vries", "role": "", "text": "Oneens."}]

    status, edited, _ = await api.call("PATCH", f"/polls/{poll['id']}", {
        "article": "Bijgewerkt.", "opinions": opinions, "question": poll["question"],
        "options": poll["options"]})

    assert status == 200
    assert edited["article"] == "Bijgewerkt." and edited["opinions"] == opinions


async def test_close_early_then_reopen(api):
    poll = await api.create()
    path = f"/polls/{poll['id']}"

    closed_status, closed, _ = await api.call("POST", f"{path}/close")
    again_status, again, _ = await api.call("POST", f"{path}/close")
    reopened_status, reopened, _ = await api.call("POST", f"{path}/reopen")

    assert closed_status == 200 and closed["closed"] is True
    assert again_status == 422 and "closed already" in again["error"]
    assert reopened_status == 200 and reopened["closed"] is False
    assert reopened["closes_at"] == poll["closes_at"]


async def test_reopen_with_a_new_closing_time(api):
    poll = await api.create()
    await api.call("POST", f"/polls/{poll['id']}/close")
    closes = ahead(days=3)

    status, reopened, _ = await api.call("POST", f"/polls/{poll['id']}/reopen",
                                         {"closes_at": closes})

    assert status == 200 and reopened["closed"] is False
    assert reopened["closes_at"] == datetime.fromisoformat(closes).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_delete_removes_the_poll_everywhere(api):
    poll = await api.create()

    status, body, _ = await api.call("DELETE", f"/polls/{poll['id']}")

    assert status == 204 and body is None
    assert await api.polls() == []
    for method, suffix, payload in (("GET", "", None), ("PATCH", "", {"article": "x"}),
                                    ("DELETE", "", None), ("POST", "/close", None)):
        gone, error, _ = await api.call(method, f"/polls/{poll['id']}{suffix}", payload)
        assert gone == 404 and f"no poll {poll['id']}" in error["error"]
    async with api.session.get(poll["url"],
                               headers={"Accept": "application/activity+json"}) as response:
        assert response.status == 404


@pytest.mark.parametrize("path", ["/polls/999", "/polls/99999999999999999999999",
                                  "/polls/-1", "/polls/abc"])
async def test_unknown_poll_ids_are_404(api, path):
    status, _, _ = await api.call("GET", path)

    assert status == 404
    await api.assert_serving([])


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer wrong-token"},
    {"Authorization": "Bearer " + "x" * 4000},
], ids=["none", "empty", "blank", "basic", "wrong", "huge"])
@pytest.mark.parametrize("method, path", [("GET", "/polls"), ("POST", "/polls"),
                                          ("GET", "/polls/1"), ("DELETE", "/polls/1")])
async def test_requests_without_a_valid_token_are_401(api, headers, method, path):
    poll = await api.create()
    before = await api.polls()
    body = json.dumps({"question": "Binnengesmokkeld?", "closes_at": ahead(days=2)})

    status, error, answer = await api.call(method, path.replace("1", str(poll["id"])),
                                           raw=body, token=None,
                                           headers={"Content-Type": JSON, **headers})

    assert status == 401 and answer["WWW-Authenticate"].startswith("Bearer")
    assert "token" in error["error"]
    await api.assert_serving(before)


async def test_a_revoked_token_stops_working(api):
    store = api.instance.services.store
    assert await store.revoke_api_token("tests", time.time()) is True

    status, error, answer = await api.call("GET", "/polls")

    assert status == 401 and 'error="invalid_token"' in answer["WWW-Authenticate"]
    assert "revoked" in error["error"]


async def test_a_used_token_records_when(api):
    await api.polls()

    [token] = await api.instance.services.store.api_tokens()

    assert token.name == "tests" and token.last_used_at is not None


# ---------------------------------------------------------------- bad bodies

def body(**changes: Any) -> bytes:
    fields = {"question": "Geldig?", "closes_at": ahead(days=7), **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


BAD_CREATES: dict[str, tuple[Any, str | None, int, str]] = {
    # name: (raw body, content type, status, fragment of the error)
    "text content type": (lambda: body(), "text/plain", 415, "application/json"),
    "form content type": (lambda: b"question=x", "application/x-www-form-urlencoded", 415,
                          "application/json"),
    "no content type": (lambda: body(), None, 415, "application/json"),
    "malformed JSON": (lambda: b'{"question": ', JSON, 400, "not valid JSON"),
    "empty body": (lambda: b"", JSON, 400, "not valid JSON"),
    "JSON array": (lambda: b'[{"question": "x"}]', JSON, 400, "must be an object"),
    "nested 10000 deep": (lambda: b'{"question": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
                          JSON, 400, "nested"),
    "NaN": (lambda: b'{"question": NaN}', JSON, 400, "NaN"),
    "invalid UTF-8": (lambda: b'{"question": "\xff"}', JSON, 400, "UTF-8"),
    "lone surrogate": (lambda: body(question="\ud800"), JSON, 400, "Unicode"),
    "unknown field": (lambda: body(colour="blue"), JSON, 400, "unknown fields: colour"),
    "question missing": (lambda: body(question=...), JSON, 400, "question is required"),
    "closes_at missing": (lambda: body(closes_at=...), JSON, 400, "closes_at is required"),
    "question as number": (lambda: body(question=42), JSON, 400, "question must be a string"),
    "article as object": (lambda: body(article={}), JSON, 400, "article must be a string"),
    "options as string": (lambda: body(options="Eens,Oneens"), JSON, 400,
                          "options must be a list of strings"),
    "options with number": (lambda: body(options=["Eens", 2]), JSON, 400,
                            "options must be a list of strings"),
    "opinions as string": (lambda: body(opinions="Jan: eens"), JSON, 400, "opinions must be"),
    "opinion as string": (lambda: body(opinions=["Jan: eens"]), JSON, 400, "opinions[0]"),
    "opinion without text": (lambda: body(opinions=[{"name": "Jan"}]), JSON, 400,
                             "opinions[0]"),
    "opinion extra key": (lambda: body(opinions=[{"name": "J", "text": "t", "x": 1}]), JSON,
                          400, "opinions[0]"),
    "opinion name as list": (lambda: body(opinions=[{"name": ["J"], "text": "t"}]), JSON, 400,
                             "opinions[0].name must be a string"),
    "opinion with empty name": (lambda: body(opinions=[{"name": " ", "text": "t"}]), JSON,
                                422, "needs a name"),
    "multiple as string": (lambda: body(multiple="yes"), JSON, 400, "multiple must be"),
    "hide_results as 1": (lambda: body(hide_results=1), JSON, 400, "hide_results must be"),
    "username as number": (lambda: body(username=1), JSON, 400, "username must be"),
    "unknown username": (lambda: body(username="nobody"), JSON, 404, "no local actor"),
    "empty question": (lambda: body(question="   "), JSON, 422, "question needs"),
    "question too long": (lambda: body(question="x" * 501), JSON, 422, "question needs"),
    "one option": (lambda: body(options=["Eens"]), JSON, 422, "2 to 20 options"),
    "too many options": (lambda: body(options=[f"o{i}" for i in range(21)]), JSON, 422,
                         "2 to 20 options"),
    "10000 options": (lambda: body(options=["o"] * 10_000), JSON, 422, "2 to 20 options"),
    "duplicate options": (lambda: body(options=["Eens", " Eens"]), JSON, 422, "differ"),
    "empty option": (lambda: body(options=["Eens", ""]), JSON, 422, "every option"),
    "too many opinions": (lambda: body(opinions=[{"name": "n", "text": "t"}] * 21), JSON, 422,
                          "at most 20 opinions"),
    "closes_at in the past": (lambda: body(closes_at=ahead(days=-1)), JSON, 422,
                              "closing time"),
    "closes_at in 2 minutes": (lambda: body(closes_at=ahead(minutes=2)), JSON, 422,
                               "closing time"),
    "closes_at in 2 years": (lambda: body(closes_at=ahead(days=730)), JSON, 422,
                             "closing time"),
    "closes_at without timezone": (lambda: body(closes_at="2999-01-01T12:00:00"), JSON, 400,
                                   "timezone"),
    "closes_at garbage": (lambda: body(closes_at="next tuesday"), JSON, 400, "ISO-8601"),
    "closes_at huge": (lambda: body(closes_at="2" * 100_000), JSON, 400, "ISO-8601"),
    "closes_at as number": (lambda: body(closes_at=1_900_000_000), JSON, 400,
                            "closes_at must be a string"),
}


@pytest.mark.parametrize("name", list(BAD_CREATES))
async def test_bad_create_bodies_are_refused_and_store_nothing(api, name):
    make, content_type, expected, fragment = BAD_CREATES[name]
    before = await api.polls()

    status, error, _ = await api.call(
        "POST", "/polls", raw=make(),
        headers={"Content-Type": content_type} if content_type else {})

    assert status == expected, error
    assert fragment in error["error"]
    await api.assert_serving(before)


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
async def test_oversized_body_is_413_and_stores_nothing(api, chunked):
    payload = body(article="a" * (MAX_BODY_BYTES + 1))

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start:start + 65536]

    status, error, _ = await api.call("POST", "/polls", raw=stream() if chunked else payload,
                                      headers={"Content-Type": JSON})

    assert status == 413 and f"larger than {MAX_BODY_BYTES} bytes" in error["error"]
    await api.assert_serving([])


@pytest.mark.parametrize("change, expected, fragment", [
    ({}, 400, "no fields to change"),
    ({"username": "bieb"}, 400, "unknown fields: username"),
    ({"id": 5}, 400, "unknown fields: id"),
    ({"options": "Ja"}, 400, "options must be a list"),
    ({"question": None}, 400, "question must be a string"),
    ({"options": ["Ja"]}, 422, "2 to 20 options"),
    ({"closes_at": "2000-01-01T00:00:00Z"}, 422, "closing time"),
    ({"closes_at": "morgen"}, 400, "ISO-8601"),
    ({"article": "x" * 100_001}, 422, "texts are limited"),
])
async def test_bad_edits_are_refused_and_change_nothing(api, change, expected, fragment):
    poll = await api.create()
    before = await api.polls()

    status, error, _ = await api.call("PATCH", f"/polls/{poll['id']}", change)

    assert status == expected and fragment in error["error"]
    await api.assert_serving(before)


@pytest.mark.parametrize("raw, content_type, expected, fragment", [
    (b'{"closes_at": "soon"}', JSON, 400, "ISO-8601"),
    (b'{"closes_at": "2000-01-01T00:00:00Z"}', JSON, 422, "closing time"),
    (b'{"until": "2999-01-01T00:00:00Z"}', JSON, 400, "unknown fields"),
    (b"[]", JSON, 400, "must be an object"),
    (b"closes_at=soon", "text/plain", 415, "application/json"),
])
async def test_bad_reopens_are_refused_and_change_nothing(api, raw, content_type, expected,
                                                          fragment):
    poll = await api.create()
    await api.call("POST", f"/polls/{poll['id']}/close")
    before = await api.polls()

    status, error, _ = await api.call("POST", f"/polls/{poll['id']}/reopen", raw=raw,
                                      headers={"Content-Type": content_type})

    assert status == expected and fragment in error["error"]
    await api.assert_serving(before)


async def test_an_open_poll_cannot_be_reopened(api):
    poll = await api.create()

    status, error, _ = await api.call("POST", f"/polls/{poll['id']}/reopen")

    assert status == 422 and "closed early" in error["error"]

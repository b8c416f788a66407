"""What other servers and browsers see of the library: WebFinger, the actor,
NodeInfo, collections, the HTML profile."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from harness import RunningInstance, process, start_instance

from fediverse.storage import LocalActor
from fediverse.storage.sqlite import SqliteStore

AS2 = "application/activity+json"


async def get(url: str, accept: str = "*/*") -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Accept": accept}, allow_redirects=False) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def get_json(url: str, accept: str = AS2) -> tuple[int, str, dict]:
    status, content_type, text = await get(url, accept)
    return status, content_type, json.loads(text)


async def test_webfinger_finds_the_library_by_handle(instance: RunningInstance):
    host = instance.services.settings.host

    status, content_type, jrd = await get_json(
        f"{instance.url}/.well-known/webfinger?resource=acct:bieb@{host}")

    assert status == 200
    assert content_type.startswith("application/jrd+json")
    assert jrd["subject"] == f"acct:bieb@{host}"
    self_links = [link for link in jrd["links"] if link["rel"] == "self"]
    assert self_links == [{"rel": "self", "type": AS2, "href": instance.actor_id}]


async def test_webfinger_also_resolves_the_actor_url(instance: RunningInstance):
    status, _, jrd = await get_json(
        f"{instance.url}/.well-known/webfinger?resource={instance.actor_id}")

    assert status == 200
    assert jrd["subject"] == f"acct:bieb@{instance.services.settings.host}"


@pytest.mark.parametrize("resource, status", [
    ("", 400),
    ("acct:nobody@{host}", 404),
    ("acct:bieb@elsewhere.example", 404),
    ("not a handle", 400),
    ("acct:" + "a" * 5000 + "@{host}", 404),
    ("http://elsewhere.example/users/bieb", 404),
])
async def test_webfinger_refuses_what_is_not_ours(instance, resource, status):
    resource = resource.format(host=instance.services.settings.host)

    answer, _, body = await get(f"{instance.url}/.well-known/webfinger?resource={resource}")

    assert answer == status
    assert "error" in body


@pytest.mark.parametrize("accept", [
    AS2,
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    "application/activity+json, application/ld+json",
])
async def test_actor_document_by_content_negotiation(instance, accept):
    status, content_type, actor = await get_json(instance.actor_id, accept)

    assert status == 200
    assert content_type.startswith(AS2)
    assert actor["id"] == instance.actor_id
    assert actor["type"] == "Organization"
    assert actor["preferredUsername"] == "bieb"
    assert actor["inbox"] == f"{instance.actor_id}/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{instance.url}/inbox"
    assert actor["publicKey"]["id"] == f"{instance.actor_id}#main-key"
    assert actor["publicKey"]["owner"] == instance.actor_id
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    declared = {k for entry in actor["@context"] if isinstance(entry, dict) for k in entry}
    assert {"manuallyApprovesFollowers", "discoverable", "indexable"} <= declared


async def test_browsers_get_the_html_profile(instance: RunningInstance):
    status, _, _ = await get(instance.actor_id, "text/html")
    assert status == 302

    status, content_type, page = await get(f"{instance.url}/@bieb", "text/html")

    assert status == 200
    assert content_type.startswith("text/html")
    assert "Bibliotheek bieb" in page
    assert f"@bieb@{instance.services.settings.host}" in page
    assert "BEGIN PUBLIC KEY" not in page


async def test_html_escapes_the_library_name(tmp_path):
    running = await start_instance(tmp_path, "bieb")
    await running.stop()
    store = await SqliteStore.open(running.settings.database)
    actor = await store.local_actor("bieb")
    await store.create_local_actor(LocalActor(
        "evil", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
        actor.private_key_pem, actor.public_key_pem), time.time())
    await store.close()
    running = await start_instance(tmp_path, "bieb", port=running.port)
    try:
        _, _, page = await get(f"{running.url}/@evil", "text/html")
    finally:
        await running.stop()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img src=x" not in page


async def test_unknown_actor_is_404(instance: RunningInstance):
    for path in ("/users/nobody", "/users/nobody/followers", "/users/nobody/outbox", "/@nobody"):
        status, _, _ = await get(f"{instance.url}{path}", AS2)
        assert status == 404, path


async def test_nodeinfo_is_discoverable(instance: RunningInstance):
    status, _, discovery = await get_json(f"{instance.url}/.well-known/nodeinfo", "*/*")
    [link] = discovery["links"]
    assert link["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"

    status, content_type, info = await get_json(link["href"], "*/*")

    assert status == 200
    assert "schema/2.1" in content_type
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "peiling"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 1
    assert info["openRegistrations"] is False


async def test_outbox_and_following_are_collections(instance: RunningInstance):
    for name in ("outbox", "following", "followers"):
        status, _, collection = await get_json(f"{instance.actor_id}/{name}")
        assert status == 200
        assert collection["type"] == "OrderedCollection"
        assert collection["totalItems"] == 0


async def test_private_activities_are_not_served(instance, remote):
    await remote.send(remote.fixture("mastodon-follow.json", instance), instance.inbox)
    await process(instance)
    accept_id = remote.received[0].json["id"]

    status, _, _ = await get(accept_id, AS2)

    assert status == 404


async def test_healthz(instance: RunningInstance):
    status, _, body = await get(f"{instance.url}/healthz")
    assert (status, body) == (200, '{"status": "ok"}')

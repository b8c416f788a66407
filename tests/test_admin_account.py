"""Staff change their own password: the current one is asked, bad input changes
nothing, and every other session of the account ends."""

from __future__ import annotations

import pytest
from admin_client import PASSWORD, AdminClient

from fediverse import accounts
from fediverse.login_limit import PER_ACCOUNT

NEW = "a much better passphrase"


async def still_logged_in(client: AdminClient) -> bool:
    status, _, _ = await client.get("/admin/")
    return status == 200


async def test_staff_change_their_password_and_other_sessions_end(instance, staff):
    other = AdminClient(instance)
    await other.log_in()
    await staff.get("/admin/account")

    status, _, headers = await staff.post("/admin/account", {
        "current": PASSWORD, "new": NEW, "repeat": NEW})

    assert status == 303 and headers["Location"] == "/admin/account"
    assert await still_logged_in(staff)  # this browser got a new session
    assert not await still_logged_in(other)  # the other one ended
    async with AdminClient(instance) as fresh:
        assert await fresh.log_in(password=PASSWORD) == 401
    async with AdminClient(instance) as fresh:
        assert await fresh.log_in(password=NEW) == 303
    await other.close()


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"current": "wrong password!", "new": NEW, "repeat": NEW}, 401,
     "Het huidige wachtwoord klopt niet."),
    ({"current": PASSWORD, "new": "short", "repeat": "short"}, 422, "10 tot 1024 tekens"),
    ({"current": PASSWORD, "new": "x" * 1025, "repeat": "x" * 1025}, 422, "10 tot 1024 tekens"),
    ({"current": PASSWORD, "new": NEW, "repeat": NEW + "!"}, 422, "verschillen"),
    ({"current": PASSWORD}, 422, "10 tot 1024 tekens"),
    ({"current": PASSWORD, "new": "\udcff" * 12, "repeat": "\udcff" * 12}, 422, None),
], ids=["wrong current", "too short", "too long", "repeat differs", "fields missing",
        "not text"])
async def test_a_refused_change_keeps_the_old_password(instance, staff, fields, status,
                                                       message):
    await staff.get("/admin/account")
    if "\udcff" in fields.get("new", ""):
        body = (f"csrf_token={staff.csrf}&current={PASSWORD.replace(' ', '+')}"
                "&new=%ff%fe" + "x" * 12 + "&repeat=%ff%fe" + "x" * 12).encode()
        async with staff.session.post(
                f"{instance.url}/admin/account", data=body, allow_redirects=False,
                headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
            assert response.status == 422
            assert "Dit wachtwoord kan niet worden gebruikt." in await response.text()
    else:
        got, page, _ = await staff.post("/admin/account", fields)
        assert got == status
        assert message in page

    assert await still_logged_in(staff)
    async with AdminClient(instance) as fresh:
        assert await fresh.log_in(password=PASSWORD) == 303


async def test_guessing_the_current_password_hits_the_login_limit(instance, staff):
    await staff.get("/admin/account")
    for _ in range(PER_ACCOUNT):
        status, _, _ = await staff.post("/admin/account", {
            "current": "not my password", "new": NEW, "repeat": NEW})
        assert status == 401

    status, _, headers = await staff.post("/admin/account", {
        "current": PASSWORD, "new": NEW, "repeat": NEW})

    assert status == 429 and int(headers["Retry-After"]) > 0
    account = await instance.services.store.admin_account("anna")
    assert await accounts.password_matches(account.password_hash, PASSWORD)


async def test_without_the_csrf_token_nothing_changes(instance, staff):
    status, _, _ = await staff.post("/admin/account", {
        "current": PASSWORD, "new": NEW, "repeat": NEW}, csrf=False)

    assert status == 400
    async with AdminClient(instance) as fresh:
        assert await fresh.log_in(password=PASSWORD) == 303

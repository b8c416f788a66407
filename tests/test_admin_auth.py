"""Logging in to /admin: accounts, sessions that really end, a limit on guessing,
CSRF on every form, and no admin page (or action) without a login."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from admin_client import PASSWORD, AdminClient, make_account
from harness import RunningInstance

from fediverse import accounts
from fediverse.login_limit import PER_ACCOUNT, PER_ADDRESS, LoginLimit


@pytest.fixture
async def staff(instance: RunningInstance) -> AsyncIterator[AdminClient]:
    """Unlike conftest's: anna has an account but is not logged in yet."""
    await make_account(instance)
    client = AdminClient(instance)
    yield client
    await client.close()


def admin_rules(instance: RunningInstance) -> list[tuple[str, str]]:
    """(method, concrete path) of every admin route, with 1 for each path variable."""
    found = []
    for rule in instance.app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in (
                "admin.login", "admin.login_post"):
            continue
        path = re.sub(r"<any\([^)]*\):[a-z_]+>", "approve", rule.rule)
        path = re.sub(r"<[^>]+>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


# ---------------------------------------------------------------- login required


async def test_every_admin_page_and_action_needs_a_login(instance, staff):
    poll_count = len(await instance.services.store.polls("bieb"))
    rules = admin_rules(instance)
    assert len(rules) > 20  # the map was read

    for method, path in rules:
        if method == "GET":
            status, _, headers = await staff.get(path)
        else:
            status, _, headers = await staff.post(path, {"target": "spam.example",
                                                         "question": "Sneaky?"})
        assert status == 303, (method, path)
        assert headers["Location"].startswith("/admin/login"), (method, path)

    assert len(await instance.services.store.polls("bieb")) == poll_count
    assert await instance.services.store.blocked_domains() == []


async def test_the_login_page_sends_staff_back_where_they_were_going(staff):
    status, _, headers = await staff.get("/admin/reports")
    assert headers["Location"] == "/admin/login?next=/admin/reports"

    await staff.get(headers["Location"])
    status, _, headers = await staff.post("/admin/login", {
        "username": "anna", "password": PASSWORD, "next": "/admin/reports"})
    assert status == 303 and headers["Location"] == "/admin/reports"


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/admin/",
                                       "/admin/\\evil", "/polls/1", "javascript:alert(1)"])
async def test_login_never_redirects_off_the_admin(staff, next_path):
    await staff.get("/admin/login")
    _, _, headers = await staff.post("/admin/login", {
        "username": "anna", "password": PASSWORD, "next": next_path})
    assert headers["Location"] == "/admin/"


# ---------------------------------------------------------------- passwords and sessions


async def test_right_password_logs_in_and_pages_are_not_cached(staff):
    assert await staff.log_in() == 303

    status, page, headers = await staff.get("/admin/")
    assert status == 200 and "anna" in page
    assert headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "Cookie" in headers["Vary"]


async def test_stored_password_is_an_argon2id_hash(instance, staff):
    account = await instance.services.store.admin_account("anna")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


async def test_wrong_password_and_unknown_name_get_the_same_answer(staff):
    await staff.get("/admin/login")
    wrong_password = await staff.post("/admin/login", {"username": "anna", "password": "nope"})
    unknown_name = await staff.post("/admin/login", {"username": "bert", "password": "nope"})

    assert wrong_password[0] == unknown_name[0] == 401
    message = "De gebruikersnaam of het wachtwoord klopt niet."
    assert message in wrong_password[1] and message in unknown_name[1]
    assert (await staff.get("/admin/"))[0] == 303  # not logged in


async def test_logout_ends_the_session_even_for_a_copied_cookie(instance, staff):
    await staff.log_in()
    copied = {c.key: c.value for c in staff.session.cookie_jar}

    status, _, headers = await staff.post("/admin/logout", {})
    assert status == 303 and headers["Location"] == "/admin/login"

    thief = AdminClient(instance)
    thief.session.cookie_jar.update_cookies(copied)
    try:
        assert (await thief.get("/admin/"))[0] == 303
    finally:
        await thief.close()


async def test_a_new_password_or_a_disabled_account_ends_its_sessions(instance, staff):
    await staff.log_in()
    await accounts.change_password(instance.services.store, "anna", "another good password")
    assert (await staff.get("/admin/"))[0] == 303
    assert await staff.log_in() == 401  # the old password no longer works
    assert await staff.log_in(password="another good password") == 303

    await instance.services.store.disable_admin("anna", 0.0)
    assert (await staff.get("/admin/"))[0] == 303
    assert await staff.log_in(password="another good password") == 401


async def test_login_replaces_the_csrf_token(staff):
    await staff.get("/admin/login")
    before = staff.csrf
    await staff.log_in()
    assert staff.csrf and staff.csrf != before


# ---------------------------------------------------------------- guessing


async def test_too_many_wrong_passwords_lock_the_account_with_a_clear_message(staff):
    await staff.get("/admin/login")
    for _ in range(PER_ACCOUNT):
        assert (await staff.post("/admin/login", {"username": "anna", "password": "x"}))[0] == 401

    status, page, headers = await staff.post("/admin/login",
                                             {"username": "anna", "password": PASSWORD})

    assert status == 429 and int(headers["Retry-After"]) > 60
    assert "Te veel mislukte pogingen" in page
    assert (await staff.get("/admin/"))[0] == 303


async def test_an_unknown_name_locks_the_same_way(staff):
    """Otherwise the lock-out would tell which names exist."""
    await staff.get("/admin/login")
    answers = [(await staff.post("/admin/login", {"username": "bert", "password": "x"}))[0]
               for _ in range(PER_ACCOUNT + 1)]
    assert answers == [401] * PER_ACCOUNT + [429]


async def test_one_address_trying_many_names_is_stopped(staff):
    await staff.get("/admin/login")
    for i in range(PER_ADDRESS):
        await staff.post("/admin/login", {"username": f"user{i}", "password": "x"})

    status, _, _ = await staff.post("/admin/login", {"username": "anna", "password": PASSWORD})
    assert status == 429


def test_the_limit_forgets_failures_after_the_window():
    now = [1000.0]
    limit = LoginLimit(per_account=2, per_address=10, window=60, clock=lambda: now[0])
    limit.failed("anna", "192.0.2.1")
    limit.failed("ANNA", "192.0.2.2")
    assert limit.wait("anna", "192.0.2.3") == 60
    now[0] += 61
    assert limit.wait("anna", "192.0.2.3") is None
    limit.failed("anna", "192.0.2.1")
    limit.succeeded("anna")
    assert limit.wait("anna", "192.0.2.1") is None


def test_the_limit_keeps_memory_bounded():
    limit = LoginLimit(max_keys=100)
    for i in range(1000):
        limit.failed(f"name{i}", f"198.51.100.{i % 250}")
    assert len(limit._failures) <= 100


# ---------------------------------------------------------------- CSRF and hostile input


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
async def test_a_form_without_the_right_csrf_token_changes_nothing(instance, staff, token):
    await staff.log_in()
    data = {"target": "spam.example"}
    if token is not None:
        data["csrf_token"] = token

    status, page, _ = await staff.post("/admin/blocks", data, csrf=False)

    assert status == 400 and "verlopen" in page
    assert await instance.services.store.blocked_domains() == []
    assert (await staff.get("/admin/blocks"))[0] == 200  # still logged in, still serving


async def test_a_login_without_csrf_token_is_refused(staff):
    status, _, _ = await staff.post("/admin/login", {"username": "anna", "password": PASSWORD},
                                    csrf=False)
    assert status == 400
    assert (await staff.get("/admin/"))[0] == 303


@pytest.mark.parametrize("fields", [
    {"username": "anna" * 10_000, "password": PASSWORD},
    {"username": "anna", "password": PASSWORD + "x" * 10_000},
    {"username": "anna\x00", "password": PASSWORD},
    {"username": "' OR 1=1 --", "password": "' OR 1=1 --"},
    {"username": "<script>alert(1)</script>", "password": "x"},
    {},
])
async def test_hostile_login_fields_are_refused_and_escaped(staff, fields):
    await staff.get("/admin/login")
    status, page, _ = await staff.post("/admin/login", fields)
    assert status == 401
    assert "<script>alert" not in page
    assert (await staff.get("/healthz"))[0] == 200


async def test_an_oversized_login_body_is_refused(staff):
    await staff.get("/admin/login")
    status, _, _ = await staff.post("/admin/login", {"username": "anna",
                                                     "password": "x" * 2_000_000})
    assert status == 413
    assert (await staff.get("/healthz"))[0] == 200


@pytest.mark.parametrize(("body", "content_type"), [
    (b"username=\xff\xfe&password=x", "application/x-www-form-urlencoded"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (b'{"username": "anna"}', "application/json"),
])
async def test_malformed_form_bodies_are_refused(instance, staff, body, content_type):
    async with staff.session.post(f"{instance.url}/admin/login", data=body,
                                  headers={"Content-Type": content_type}) as response:
        assert response.status == 400
    assert (await staff.get("/admin/"))[0] == 303
    assert (await staff.get("/healthz"))[0] == 200

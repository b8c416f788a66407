"""Exports for staff: results as CSV and JSON, the discussion as CSV; safe to open in
a spreadsheet, and without commenters' e-mail addresses unless asked for."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from admin_client import AdminClient
from harness import RunningInstance

from fediverse.exports import safe_cell
from fediverse.polls import PollDraft
from fediverse.storage import Reply

EMAIL = "canary-7f3a@example.org"


@pytest.fixture
async def poll_id(instance: RunningInstance) -> int:
    store = instance.services.store
    poll = await store.create_poll("bieb", PollDraft(
        question="=Zondag open?", end_time=time.time() + 86400,
        options=("Eens", "-Oneens", "@Weet niet")), time.time())
    for i, choice in enumerate((0, 0, 1)):
        await store.record_vote(poll.id, f"https://m.example/users/{i}", [choice], True, None,
                                time.time())
    await store.save_comment(Reply(
        id=f"{instance.url}/polls/{poll.id}/comments/a", poll_id=poll.id, actor=None,
        author_name="=HYPERLINK(\"https://evil.example\";\"klik\")", author_handle=None,
        author_url=None, content="<p>+31 6 12345678 &amp; meer</p><p>Tweede</p>",
        published_at=time.time(), state="visible"), EMAIL)
    await store.save_reply(Reply(
        id="https://m.example/notes/1", poll_id=poll.id, actor="https://m.example/users/eve",
        author_name="Eve", author_handle="@eve@m.example", author_url=None,
        content="<p>\tGewoon</p>", published_at=time.time() + 1, state="hidden"))
    return poll.id


def rows_of(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with a byte order mark
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+31", "'+31"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("gewoon", "gewoon"), ("", ""), (None, ""), (3, "3"),
    ("a=b", "a=b"),
])
def test_cells_that_spreadsheets_would_run_are_made_text(value, expected):
    assert safe_cell(value) == expected


async def test_results_csv_is_escaped_and_exact(staff, poll_id):
    status, text, headers = await staff.get(f"/admin/polls/{poll_id}/results.csv")

    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    assert headers["Cache-Control"] == "no-store"
    assert rows_of(text) == [["option", "votes", "percent_of_voters"], ["Eens", "2", "67"],
                             ["'-Oneens", "1", "33"], ["'@Weet niet", "0", "0"],
                             ["voters", "3", ""]]


async def test_results_json_carries_the_counts(staff, poll_id):
    status, text, _ = await staff.get(f"/admin/polls/{poll_id}/results.json")
    document = json.loads(text)
    assert status == 200 and document["voters"] == 3
    assert document["question"] == "=Zondag open?"  # JSON is data, not a spreadsheet
    assert [(o["name"], o["votes"]) for o in document["options"]] == [
        ("Eens", 2), ("-Oneens", 1), ("@Weet niet", 0)]


async def test_the_discussion_leaves_out_email_addresses_unless_asked(staff, poll_id):
    _, plain, _ = await staff.get(f"/admin/polls/{poll_id}/discussion.csv")
    _, with_email, headers = await staff.get(f"/admin/polls/{poll_id}/discussion.csv?email=1")

    assert EMAIL not in plain and "canary" not in plain
    header, local, remote = rows_of(plain)
    assert header == ["id", "published_at", "state", "author", "handle", "source", "text"]
    assert local[3] == "'=HYPERLINK(\"https://evil.example\";\"klik\")"
    assert local[5:] == ["web", "'+31 6 12345678 & meer\nTweede"]
    assert remote[2:] == ["hidden", "Eve", "'@eve@m.example", "fediverse", "Gewoon"]

    assert "with-email" in headers["Content-Disposition"]
    header, local, remote = rows_of(with_email)
    assert header[-1] == "email" and local[-1] == EMAIL and remote[-1] == ""


@pytest.mark.parametrize("path", ["/admin/polls/{id}/results.csv",
                                  "/admin/polls/{id}/discussion.csv?email=1"])
async def test_exports_need_a_login(instance, poll_id, path):
    client = AdminClient(instance)
    try:
        status, text, headers = await client.get(path.format(id=poll_id))
    finally:
        await client.close()
    assert status == 303 and headers["Location"].startswith("/admin/login")
    assert EMAIL not in text


async def test_exports_of_unknown_polls_are_404(staff):
    assert (await staff.get("/admin/polls/999/results.csv"))[0] == 404
    assert (await staff.get("/admin/polls/999/discussion.csv"))[0] == 404

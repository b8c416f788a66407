"""`peiling poll ...` and `peiling token ...` against a demo instance in tmp_path:
what staff type is stored, and what they mistype is refused with exit code 2, a
reason, and no change."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fediverse.cli import main
from fediverse.demo import DEMO_QUESTION
from fediverse.polls import MAX_TEXT_LENGTH, Poll, Tally
from fediverse.storage.sqlite import SqliteStore
from fediverse.tokens import hash_token

DAY = 86400.0


def peiling(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def stored(config: Path) -> list[tuple[Poll, Tally]]:
    """Every live poll with its tally, straight from the database."""
    async def read() -> list[tuple[Poll, Tally]]:
        store = await SqliteStore.open(config.parent / "peiling.sqlite3")
        try:
            return [(poll, await store.tally(poll.id)) for poll in await store.polls("bieb")]
        finally:
            await store.close()
    return asyncio.run(read())


def on_store(config: Path, work: Any) -> Any:
    async def run() -> Any:
        store = await SqliteStore.open(config.parent / "peiling.sqlite3")
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


def vote(config: Path, poll_id: int) -> None:
    on_store(config, lambda store: store.record_vote(
        poll_id, "https://m.example/users/alice", [0], True, None, time.time()))


def create(config: Path, *extra: str) -> Poll:
    before = {poll.id for poll, _ in stored(config)}
    closing = [] if "--closes" in extra else ["--days", "7"]
    assert peiling(config, "poll", "create", "--question", "Meer stiltewerkplekken?",
                   *closing, *extra) == 0
    [poll] = [poll for poll, _ in stored(config) if poll.id not in before]
    return poll


# ---------------------------------------------------------------- the demo poll


def test_init_demo_creates_one_open_demo_poll_however_often_it_runs(config, capsys):
    assert peiling(config, "init", "--demo", "--exist-ok") == 0
    assert peiling(config, "init", "--demo", "--exist-ok") == 0

    [(poll, tally)] = stored(config)
    assert poll.question == DEMO_QUESTION
    assert poll.options == ("Eens", "Oneens") and not poll.multiple
    assert poll.is_open(time.time()) and tally.voters == 0
    assert 27 * DAY < poll.end_time - time.time() <= 28 * DAY
    assert poll.introduction and "## " in poll.article
    assert 2 <= len(poll.opinions) <= 3
    assert all("fictief" in opinion.role for opinion in poll.opinions)
    assert "demo poll" not in capsys.readouterr().out


# ---------------------------------------------------------------- happy paths


def test_create_stores_every_flag(config, tmp_path, capsys):
    article = tmp_path / "artikel.md"
    article.write_text("## Stilte\n\nWaarom *stilte* telt.\n", encoding="utf-8")

    poll = create(config, "--intro", "Wat vindt u?", "--article-file", str(article),
                  "--opinion", "An Jansen|Directeur (fictief)|Eens | zeker",
                  "--opinion", "Piet|Lezer|Oneens", "--option", "Ja", "--option", "Nee",
                  "--option", "Soms", "--multiple", "--hide-results")

    assert poll.introduction == "Wat vindt u?"
    assert poll.article == "## Stilte\n\nWaarom *stilte* telt.\n"
    assert [(o.name, o.role, o.text) for o in poll.opinions] == [
        ("An Jansen", "Directeur (fictief)", "Eens | zeker"), ("Piet", "Lezer", "Oneens")]
    assert poll.options == ("Ja", "Nee", "Soms") and poll.multiple and poll.hide_results
    assert f"published poll {poll.id}: http://127.0.0.1:8000/polls/{poll.id}" in (
        capsys.readouterr().out)


def test_create_with_closes_uses_that_moment(config):
    closes = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    local = closes.astimezone(timezone(timedelta(hours=2)))

    poll = create(config, "--closes", local.isoformat())

    assert poll.end_time == closes.timestamp()


def test_list_and_show_print_polls_with_their_tally(config, capsys):
    poll = create(config, "--option", "Ja", "--option", "Nee")
    vote(config, poll.id)
    capsys.readouterr()

    assert peiling(config, "poll", "list") == 0
    listing = capsys.readouterr().out
    assert peiling(config, "poll", "show", str(poll.id)) == 0
    shown = capsys.readouterr().out

    assert listing.index("Meer stiltewerkplekken?") < listing.index(DEMO_QUESTION)
    assert f"{poll.id}\topen until" in listing and "1 voters" in listing
    assert "Meer stiltewerkplekken?" in shown and "single choice" in shown
    assert "  Ja: 1\n  Nee: 0\n" in shown


def test_edit_changes_only_what_the_flags_name(config):
    poll = create(config, "--intro", "Oud.")

    assert peiling(config, "poll", "edit", str(poll.id), "--option", "Ja", "--option", "Nee",
                   "--multiple") == 0

    [edited] = [p for p, _ in stored(config) if p.id == poll.id]
    assert edited.options == ("Ja", "Nee") and edited.multiple
    assert edited.introduction == "Oud." and edited.question == poll.question
    assert edited.edited_at is not None


def test_after_a_vote_the_article_and_opinions_stay_editable(config, tmp_path):
    poll = create(config)
    vote(config, poll.id)
    article = tmp_path / "nieuw.md"
    article.write_text("Bijgewerkt.", encoding="utf-8")

    assert peiling(config, "poll", "edit", str(poll.id), "--article-file", str(article),
                   "--opinion", "Kees|Wethouder (fictief)|Eens.", "--no-hide-results") == 0

    [edited] = [p for p, _ in stored(config) if p.id == poll.id]
    assert edited.article == "Bijgewerkt." and edited.opinions[0].name == "Kees"


def test_close_reopen_and_delete(config, capsys):
    poll = create(config)

    assert peiling(config, "poll", "close", str(poll.id)) == 0
    assert not [p for p, _ in stored(config) if p.id == poll.id][0].is_open(time.time())
    assert peiling(config, "poll", "reopen", str(poll.id), "--days", "3") == 0
    [reopened] = [p for p, _ in stored(config) if p.id == poll.id]
    assert reopened.is_open(time.time())
    assert 2.9 * DAY < reopened.closes_at - time.time() <= 3 * DAY
    assert peiling(config, "poll", "delete", str(poll.id)) == 0

    assert [p.question for p, _ in stored(config)] == [DEMO_QUESTION]
    out = capsys.readouterr().out
    assert f"closed poll {poll.id}" in out and f"deleted poll {poll.id}" in out


# ---------------------------------------------------------------- bad input


def big_file(tmp_path: Path) -> str:
    path = tmp_path / "groot.md"
    path.write_bytes(b"a" * (4 * MAX_TEXT_LENGTH + 1))
    return str(path)


def latin1_file(tmp_path: Path) -> str:
    path = tmp_path / "latin1.md"
    path.write_bytes("café".encode("latin-1"))
    return str(path)


BAD_CREATES: dict[str, tuple[Any, str]] = {
    # name: (flags after `poll create`, or a function of tmp_path giving them; reason)
    "no question": (["--days", "7"], "needs --question"),
    "no closing time": (["--question", "Vraag?"], "--closes or --days"),
    "empty question": (["--question", "", "--days", "7"], "question needs"),
    "blank question": (["--question", "   ", "--days", "7"], "question needs"),
    "question too long": (["--question", "x" * 501, "--days", "7"], "question needs"),
    "non-UTF-8 question": (["--question", "caf\udce9", "--days", "7"], "UTF-8"),
    "garbage --closes": (["--question", "V?", "--closes", "morgen"], "ISO-8601"),
    "--closes without timezone": (["--question", "V?", "--closes", "2030-01-01T12:00"],
                                  "timezone"),
    "--closes in the past": (["--question", "V?", "--closes", "2001-01-01T00:00Z"],
                             "closing time"),
    "--closes huge": (["--question", "V?", "--closes", "9" * 10_000], "ISO-8601"),
    "--days 0": (["--question", "V?", "--days", "0"], "--days must be 1 to 366"),
    "--days negative": (["--question", "V?", "--days", "-3"], "--days must be 1 to 366"),
    "--days huge": (["--question", "V?", "--days", "9" * 400], "--days must be 1 to 366"),
    "one option": (["--question", "V?", "--days", "7", "--option", "Ja"], "2 to 20 options"),
    "duplicate options": (["--question", "V?", "--days", "7", "--option", "Ja",
                           "--option", "Ja "], "differ"),
    "21 options": (["--question", "V?", "--days", "7",
                    *[arg for i in range(21) for arg in ("--option", f"o{i}")]],
                   "2 to 20 options"),
    "opinion without roles": (["--question", "V?", "--days", "7", "--opinion", "Jan: eens"],
                              "Name|Role|Text"),
    "opinion without name": (["--question", "V?", "--days", "7", "--opinion", " |Rol|Eens"],
                             "needs a name"),
    "missing article file": (["--question", "V?", "--days", "7", "--article-file",
                              "/nonexistent/artikel.md"], "cannot read"),
    "article is a directory": (lambda tmp: ["--question", "V?", "--days", "7",
                                            "--article-file", str(tmp)], "cannot read"),
    "article not UTF-8": (lambda tmp: ["--question", "V?", "--days", "7", "--article-file",
                                       latin1_file(tmp)], "cannot read"),
    "article file too large": (lambda tmp: ["--question", "V?", "--days", "7",
                                            "--article-file", big_file(tmp)],
                               "larger than an article"),
    "unknown actor": (["--question", "V?", "--days", "7", "--as", "nobody"], "no local actor"),
}


@pytest.mark.parametrize("name", list(BAD_CREATES))
def test_bad_creates_exit_2_with_the_reason_and_store_nothing(config, tmp_path, capsys,
                                                              name):
    flags, reason = BAD_CREATES[name]
    before = stored(config)

    code = peiling(config, "poll", "create", *(flags(tmp_path) if callable(flags) else flags))

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("peiling: ") and reason in err
    assert stored(config) == before


@pytest.mark.parametrize("flags, reason", [
    (["--option", "Ja", "--option", "Nee"], "options and the choice mode are locked"),
    (["--multiple"], "options and the choice mode are locked"),
    (["--question", "Een andere vraag?"], "the question is locked"),
])
def test_after_a_vote_locked_fields_cannot_be_edited(config, capsys, flags, reason):
    poll = create(config)
    vote(config, poll.id)
    before = stored(config)

    assert peiling(config, "poll", "edit", str(poll.id), *flags) == 2

    assert reason in capsys.readouterr().err
    assert stored(config) == before


@pytest.mark.parametrize("command", [["show"], ["close"], ["reopen"], ["delete"],
                                     ["edit", "--intro", "x"]])
def test_unknown_poll_ids_exit_2(config, capsys, command):
    before = stored(config)

    assert peiling(config, "poll", command[0], "999", *command[1:]) == 2

    assert "peiling: no poll 999" in capsys.readouterr().err
    assert stored(config) == before


@pytest.mark.parametrize("poll_id", ["99999999999999999999999", "-1", "0", "abc"])
def test_impossible_poll_ids_are_usage_errors(config, capsys, poll_id):
    with pytest.raises(SystemExit) as exit_info:
        peiling(config, "poll", "show", poll_id)

    assert exit_info.value.code == 2
    assert "is not a poll id" in capsys.readouterr().err


@pytest.mark.parametrize("command, reason", [
    (["close"], "closed already"), (["reopen"], "closed early"),
    (["edit"], "at least one flag"), (["edit", "--days", "0"], "--days must be"),
    (["edit", "--closes", "2000-01-01T00:00Z"], "closing time"),
])
def test_impossible_changes_exit_2_and_change_nothing(config, capsys, command, reason):
    poll = create(config)
    if command == ["close"]:
        assert peiling(config, "poll", "close", str(poll.id)) == 0
    before = stored(config)

    assert peiling(config, "poll", command[0], str(poll.id), *command[1:]) == 2

    assert reason in capsys.readouterr().err
    assert stored(config) == before


def test_poll_commands_need_an_initialised_instance(tmp_path, capsys):
    config = tmp_path / "peiling.toml"
    config.write_text('base_url = "http://127.0.0.1:8000"\nmode = "demo"\n')

    assert peiling(config, "poll", "list") == 2

    assert "run `peiling init` first" in capsys.readouterr().err


# ---------------------------------------------------------------- API tokens


def test_token_create_prints_it_once_and_stores_only_its_hash(config, capsys):
    assert peiling(config, "token", "create", "website") == 0

    out, err = capsys.readouterr()
    token = out.strip()
    assert len(token) >= 40 and "shown only this once" in err
    found = on_store(config, lambda store: store.api_token_by_hash(hash_token(token)))
    assert found is not None and found[1] == "website"
    database = (config.parent / "peiling.sqlite3").read_bytes()
    assert token.encode() not in database


def test_token_list_and_revoke(config, capsys):
    assert peiling(config, "token", "create", "website") == 0
    token = capsys.readouterr().out.strip()

    assert peiling(config, "token", "revoke", "website") == 0
    assert "revoked 'website'" in capsys.readouterr().out
    assert peiling(config, "token", "list") == 0

    listing = capsys.readouterr().out
    assert listing.startswith("website\tcreated ") and "last used never" in listing
    assert "\trevoked " in listing
    assert on_store(config, lambda store: store.api_token_by_hash(hash_token(token))) is None
    assert peiling(config, "token", "create", "website") == 0  # the name is free again


@pytest.mark.parametrize("command, reason", [
    (["create", ""], "1 to 100 characters"), (["create", "   "], "1 to 100 characters"),
    (["create", "x" * 101], "1 to 100 characters"), (["create", "caf\udce9"], "UTF-8"),
    (["create", "website"], "exists; revoke it first"),
    (["revoke", "nobody"], "no active token named 'nobody'"),
])
def test_bad_token_commands_exit_2_and_change_nothing(config, capsys, command, reason):
    assert peiling(config, "token", "create", "website") == 0
    capsys.readouterr()
    before = on_store(config, lambda store: store.api_tokens())

    assert peiling(config, "token", *command) == 2

    assert reason in capsys.readouterr().err
    assert on_store(config, lambda store: store.api_tokens()) == before

"""`peiling admin ...` and `peiling block|unblock|purge`: passwords only from standard
input or a prompt, bad input refused with exit code 2 and no change."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest
from test_cli_polls import on_store

from fediverse import accounts
from fediverse.accounts import DEMO_ADMIN
from fediverse.cli import main
from fediverse.storage.sqlite import SqliteStore

PASSWORD = "a long enough password"


def peiling(config: Path, *args: str, stdin: str = "",
            monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(config), *args])


def names(config: Path) -> list[str]:
    return [a.username for a in on_store(config, lambda store: store.admin_accounts())]


def test_demo_init_makes_the_documented_demo_account_once(config, capsys):
    account = on_store(config, lambda store: store.admin_account(DEMO_ADMIN[0]))
    assert account is not None
    assert asyncio.run(accounts.password_matches(account.password_hash, DEMO_ADMIN[1]))
    assert peiling(config, "init", "--demo", "--exist-ok") == 0
    assert names(config) == ["admin"]
    assert "peiling-demo" in capsys.readouterr().out


def test_production_init_makes_no_demo_account(tmp_path, capsys):
    path = tmp_path / "peiling.toml"
    assert main(["--config", str(path), "init", "--base-url", "https://bieb.example",
                 "--name", "Bieb", "--handle", "bieb"]) == 0
    assert main(["--config", str(path), "admin", "list"]) == 0
    assert capsys.readouterr().out.count("admin") == 0


def test_create_reads_the_password_from_stdin(config, monkeypatch, capsys):
    assert peiling(config, "admin", "create", "anna", stdin=f"{PASSWORD}\n",
                   monkeypatch=monkeypatch) == 0

    account = on_store(config, lambda store: store.admin_account("anna"))
    assert asyncio.run(accounts.password_matches(account.password_hash, PASSWORD))
    assert PASSWORD not in capsys.readouterr().out
    assert peiling(config, "admin", "list") == 0
    assert "anna  last login never" in capsys.readouterr().out


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("anna", "short", "10 to 1024"),
    ("anna", "x" * 2000, "10 to 1024"),
    ("Anna Jansen", PASSWORD, "a-z, 0-9"),
    ("", PASSWORD, "a-z, 0-9"),
    ("a" * 65, PASSWORD, "a-z, 0-9"),
    ("anna\udcff", PASSWORD, "UTF-8"),
    ("admin", PASSWORD, "exists"),
])
def test_bad_accounts_are_refused(config, monkeypatch, capsys, username, password, reason):
    before = names(config)
    assert peiling(config, "admin", "create", username, stdin=password + "\n",
                   monkeypatch=monkeypatch) == 2
    assert reason in capsys.readouterr().err
    assert names(config) == before


def test_password_disable_and_delete_end_sessions(config, monkeypatch):
    peiling(config, "admin", "create", "anna", stdin=PASSWORD, monkeypatch=monkeypatch)

    def session_alive(token: str) -> bool:
        found = on_store(config, lambda store: accounts.session_account(store, token,
                                                                          time.time()))
        return found is not None

    def log_in(password: str) -> str:
        from fediverse.login_limit import LoginLimit
        return on_store(config, lambda store: accounts.log_in(
            store, LoginLimit(), "anna", password, "192.0.2.1", time.time(), 3600))

    token = log_in(PASSWORD)
    assert session_alive(token)
    assert peiling(config, "admin", "password", "anna", stdin="another password here",
                   monkeypatch=monkeypatch) == 0
    assert not session_alive(token)

    token = log_in("another password here")
    assert peiling(config, "admin", "disable", "anna") == 0
    assert not session_alive(token)
    assert peiling(config, "admin", "delete", "anna") == 0
    assert names(config) == ["admin"]
    assert peiling(config, "admin", "delete", "anna") == 2
    assert peiling(config, "admin", "password", "nobody", stdin=PASSWORD,
                   monkeypatch=monkeypatch) == 2


def test_block_unblock_and_purge(config, capsys):
    store_path = config.parent / "peiling.sqlite3"

    async def seed() -> int:
        store = await SqliteStore.open(store_path)
        try:
            [poll] = await store.polls("bieb")
            for voter, choice in (("https://spam.example/u/1", 0),
                                  ("https://spam.example:8443/u/2", 0),
                                  ("https://ok.example/u/3", 1)):
                await store.record_vote(poll.id, voter, [choice], True, None, time.time())
            return poll.id
        finally:
            await store.close()
    poll_id = asyncio.run(seed())

    assert peiling(config, "block", "Spam.Example", "--purge") == 0
    assert "removed 2 votes" in capsys.readouterr().out
    tally = on_store(config, lambda store: store.tally(poll_id))
    assert tally.counts == (0, 1) and tally.voters == 1
    assert on_store(config, lambda store: store.is_blocked("spam.example"))

    assert peiling(config, "unblock", "spam.example") == 0
    assert peiling(config, "unblock", "spam.example") == 2
    assert peiling(config, "block", "https://ok.example/u/3") == 0
    assert peiling(config, "purge", "https://ok.example/u/3") == 0
    assert on_store(config, lambda store: store.tally(poll_id)).voters == 0


@pytest.mark.parametrize("target", ["not a domain", "http://[x", "127.0.0.1",
                                    "http://127.0.0.1:8000/users/bieb", "bad\udcff.example"])
def test_bad_block_targets_are_refused(config, capsys, target):
    assert peiling(config, "block", target) == 2
    assert capsys.readouterr().err.startswith("peiling: ")
    assert on_store(config, lambda store: store.blocked_domains()) == []
    assert on_store(config, lambda store: store.blocked_actors()) == []

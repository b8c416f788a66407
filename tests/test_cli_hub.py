"""`peiling init --hub`, `peiling hub ...` and `peiling poll adopt` from the command line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from harness import FakeRemote
from hub_helpers import national_poll, start_hub

from fediverse import follows
from fediverse.cli import main
from fediverse.hub.following import RETRY_SECONDS, FollowRetry
from fediverse.settings import load_settings
from fediverse.storage.sqlite import SqliteStore


async def run(*args: str) -> int:
    """The command in a thread: it runs its own event loop, the fakes run in ours."""
    return await asyncio.to_thread(main, list(args))


def init_args(config: Path, *extra: str) -> list[str]:
    return ["--config", str(config), "init", "--demo", *extra, "--base-url", "http://127.0.0.1:9"]


def init_hub(tmp_path: Path) -> Path:
    config = tmp_path / "hub" / "peiling.toml"
    assert main(init_args(config, "--hub")) == 0
    return config


def test_init_hub_writes_the_role_and_makes_the_hub_actor(tmp_path, capsys):
    config = init_hub(tmp_path)

    settings = load_settings(config, environ={})
    assert settings.is_hub and settings.role == "hub"
    assert "created @hub@127.0.0.1:9" in capsys.readouterr().out
    assert 'role = "hub"' in config.read_text()


def test_hub_commands_refuse_on_a_library(tmp_path, capsys):
    config = tmp_path / "peiling.toml"
    assert main(["--config", str(config), "init", "--demo"]) == 0

    code = main(["--config", str(config), "hub", "follow", "@bieb@127.0.0.1:9"])

    assert code == 2
    assert 'role = "hub"' in capsys.readouterr().err


async def test_hub_follows_a_directory_file_and_retries_what_is_not_accepted(
        tmp_path, remote: FakeRemote, capsys):
    config = tmp_path / "hub" / "peiling.toml"
    assert await run(*init_args(config, "--hub")) == 0
    for name, key in (("lib1", 2), ("lib2", 3)):
        remote.add_actor(name, key_index=key, type="Organization")
    directory = tmp_path / "bibliotheken.txt"
    directory.write_text(f"# libraries of the province\n@lib1@{remote.host}\n\n"
                         f"@lib2@{remote.host}  # the city\n@gone@{remote.host}\n")

    code = await run("--config", str(config), "hub", "follow", "--file", str(directory))

    output = capsys.readouterr()
    assert code == 2 and "1 of 3 follows failed" in output.err  # gone has no actor
    follows = [r.json for r in remote.received if r.json["type"] == "Follow"]
    assert sorted(f["object"] for f in follows) == [f"{remote.base}/users/lib1",
                                                   f"{remote.base}/users/lib2"]

    assert await run("--config", str(config), "hub", "retry") == 0
    again = [r.json for r in remote.received if r.json["type"] == "Follow"][2:]
    assert sorted(f["object"] for f in again) == sorted(f["object"] for f in follows)
    assert {f["id"] for f in again}.isdisjoint(f["id"] for f in follows)  # new Follow ids
    assert await run("--config", str(config), "hub", "libraries") == 0
    assert f"{remote.base}/users/lib1 pending polls=0" in capsys.readouterr().out


def test_hub_follow_needs_someone_to_follow(tmp_path, capsys):
    config = init_hub(tmp_path)

    assert main(["--config", str(config), "hub", "follow"]) == 2
    assert "name libraries to follow" in capsys.readouterr().err


async def test_a_library_adopts_a_national_poll_from_the_command_line(tmp_path, capsys):
    hub = await start_hub(tmp_path)
    try:
        national = await national_poll(hub, options=("Ja", "Nee", "Weet niet"), multiple=True)
        url = hub.services.urls.poll(national.id)
        config = tmp_path / "bieb" / "peiling.toml"
        assert await run(*init_args(config)) == 0
        capsys.readouterr()

        code = await run("--config", str(config), "poll", "adopt", url)
        failed = await run("--config", str(config), "poll", "adopt", f"{hub.url}/polls/999")

        assert code == 0 and f"a copy of {url}" in capsys.readouterr().out
        assert failed == 2
        store = await SqliteStore.open(load_settings(config, environ={}).database)
        try:
            copy = [p for p in await store.polls("bieb") if p.question == national.question]
            assert [(p.options, p.multiple, p.end_time) for p in copy] == [
                (("Ja", "Nee", "Weet niet"), True, int(national.end_time))]  # endTime is in seconds
            assert await store.national_poll_of(copy[0].id) == url
        finally:
            await store.close()
    finally:
        await hub.stop()


def test_hubs_setting_reads_a_toml_array_or_a_comma_separated_variable(tmp_path, capsys):
    config = tmp_path / "peiling.toml"
    config.write_text('base_url = "https://bieb.example"\n'
                      'hubs = ["https://hub.example/users/hub"]\n')

    from_file = load_settings(config, environ={})
    from_env = load_settings(config, environ={
        "PEILING_HUBS": "https://a.example/users/hub, https://b.example/users/hub"})

    assert from_file.hubs == ("https://hub.example/users/hub",)
    assert from_env.hubs == ("https://a.example/users/hub", "https://b.example/users/hub")
    config.write_text('base_url = "https://bieb.example"\nhubs = ["hub.example"]\n')
    assert main(["--config", str(config), "poll", "list"]) == 2
    assert "hubs must be actor URLs" in capsys.readouterr().err


async def test_a_serving_hub_asks_again_where_a_follow_went_unanswered(tmp_path, remote):
    hub = await start_hub(tmp_path)
    try:
        lib = remote.add_actor("lib", key_index=2, type="Organization")
        await follows.follow(hub.services, "hub", lib)
        await hub.services.delivery.run_once()
        now = [time.time()]
        retry = FollowRetry(hub.services, clock=lambda: now[0])

        assert await retry.run_once() == 0  # too early
        now[0] += RETRY_SECONDS + 1
        assert await retry.run_once() == 1
        await hub.services.delivery.run_once()

        sent = [r.json for r in remote.received if r.json["type"] == "Follow"]
        assert [f["object"] for f in sent] == [lib, lib] and sent[0]["id"] != sent[1]["id"]
        [record] = await hub.services.store.following("hub")
        assert (record.state, record.follow_id) == ("pending", sent[1]["id"])
    finally:
        await hub.stop()

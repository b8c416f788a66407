"""The `peiling` command and `make run`: set-up errors are clear and change nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fediverse.cli import main
from fediverse.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_init_creates_config_database_and_actor(tmp_path, capsys):
    config = tmp_path / "peiling.toml"

    code = main(["--config", str(config), "init", "--base-url", "https://bieb.example",
                 "--name", "Bibliotheek Voorbeeld", "--handle", "bieb"])

    assert code == 0
    settings = load_settings(config, environ={})
    assert settings.base_url == "https://bieb.example"
    assert settings.mode == "production"
    assert settings.database == tmp_path / "peiling.sqlite3"
    assert settings.database.exists()
    assert "created @bieb@bieb.example" in capsys.readouterr().out


def test_init_twice_refuses_unless_exist_ok(tmp_path, capsys):
    config = tmp_path / "peiling.toml"
    args = ["--config", str(config), "init", "--demo"]
    assert main(args) == 0

    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--exist-ok"]) == 0


@pytest.mark.parametrize("args, message", [
    (["init", "--base-url", "https://bieb.example", "--name", "X"], "--handle"),
    (["init", "--base-url", "http://bieb.example", "--name", "X", "--handle", "b"], "https"),
    (["init", "--base-url", "ftp://bieb.example", "--name", "X", "--handle", "b"], "absolute"),
    (["init", "--base-url", "https://bieb.example/sub", "--name", "X", "--handle", "b"], "root"),
    (["init", "--base-url", "https://bieb.example", "--name", "X", "--handle", "no way"],
     "handle"),
    (["init", "--name", "X", "--handle", "bieb"], "base-url"),
])
def test_init_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, message):
    config = tmp_path / "peiling.toml"

    code = main(["--config", str(config), *args])

    assert code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, message", [
    ("base_url = ", "cannot read"),
    ('base_url = "https://b.example"\ncolour = "blue"\n', "unknown settings"),
    ('base_url = "https://b.example"\nmode = "party"\n', "mode must be"),
    ('base_url = "https://b.example"\ndelivery_workers = "many"\n', "not a valid int"),
])
def test_bad_config_files_are_explained(tmp_path, capsys, content, message):
    config = tmp_path / "peiling.toml"
    config.write_text(content)

    code = main(["--config", str(config), "deliveries"])

    assert code == 2
    assert message in capsys.readouterr().err


def test_environment_overrides_the_file(tmp_path):
    config = tmp_path / "peiling.toml"
    config.write_text('base_url = "https://b.example"\nmode = "production"\n')

    settings = load_settings(config, environ={"PEILING_MODE": "demo",
                                              "PEILING_BASE_URL": "http://127.0.0.1:9",
                                              "PEILING_MANUALLY_APPROVES_FOLLOWERS": "yes"})

    assert settings.mode == "demo"
    assert settings.base_url == "http://127.0.0.1:9"
    assert settings.manually_approves_followers is True
    assert settings.fetch_policy.allow_loopback is True


def test_production_is_the_safe_default():
    settings = Settings(base_url="https://Bieb.Example/")

    assert settings.base_url == "https://bieb.example"
    assert settings.fetch_policy.allow_http is False
    assert settings.fetch_policy.allow_loopback is False
    with pytest.raises(SettingsError):
        load_settings(Path("/nonexistent/peiling.toml"), environ={})


def test_follow_without_an_actor_says_so(tmp_path, capsys):
    config = tmp_path / "peiling.toml"
    config.write_text('base_url = "http://127.0.0.1:9"\nmode = "demo"\n')

    assert main(["--config", str(config), "follow", "@x@127.0.0.1:9"]) == 2
    assert "peiling init" in capsys.readouterr().err


def test_make_run_serves_the_demo_library(tmp_path):
    """The README's quick start: WebFinger, actor and NodeInfo answer within a minute."""
    port = free_port()
    process = subprocess.Popen(
        ["make", "-s", "run", f"PORT={port}", f"DEMO_DIR={tmp_path}/demo"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        jrd = wait_for(f"{base}/.well-known/webfinger?resource=acct:bieb@127.0.0.1:{port}")
        actor = fetch(f"{base}/users/bieb", "application/activity+json")
        nodeinfo = fetch(f"{base}/nodeinfo/2.1")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    assert f'"href": "{base}/users/bieb"' in jrd
    assert '"preferredUsername": "bieb"' in actor
    assert '"software": {"name": "peiling"' in nodeinfo
    assert (tmp_path / "demo" / "peiling.sqlite3").exists()


def wait_for(url: str, within: float = 60.0) -> str:
    deadline = time.monotonic() + within
    while True:
        try:
            return fetch(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def fetch(url: str, accept: str = "*/*") -> str:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()

"""One frozen `Settings` object, read from a TOML file and/or the environment.

Production is the default: https only and no private addresses when fetching.
The `demo` mode (for `make run`, tests and local experiments) explicitly allows
plain http and loopback peers so that fediverse software on the same machine
can federate with it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from activitypub.client import FetchPolicy

MODES = ("production", "demo")
ROLES = ("library", "hub")
ENV_PREFIX = "PEILING_"
DEFAULT_CONFIG = Path("peiling.toml")


class SettingsError(ValueError):
    """The configuration cannot describe a working instance."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    database: Path = Path("peiling.sqlite3")
    mode: str = "production"
    manually_approves_followers: bool = False
    signature_window_seconds: int = 3600
    inbox_max_bytes: int = 1_048_576
    inbox_budget_per_host_per_minute: int = 600
    key_refetch_seconds: int = 300
    fetch_failure_ttl_seconds: int = 300
    delivery_workers: int = 32
    delivery_per_host: int = 8
    delivery_give_up_hours: float = 48.0
    host_unavailable_days: float = 3.0
    tally_debounce_seconds: float = 60.0
    admin_session_hours: float = 12.0
    web_votes_per_ip_per_hour: int = 60
    comments_per_ip_per_hour: int = 10
    comment_max_chars: int = 3000
    trusted_proxy: str = ""  # the reverse proxy's address: then X-Forwarded-For names the visitor
    role: str = "library"
    hubs: tuple[str, ...] = ()
    hub_stale_hours: float = 24.0
    run_background_workers: bool = True
    templates_dir: Path = field(default_factory=lambda: Path(__file__).parent.parent / "templates")

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SettingsError(f"base_url must be an absolute URL, not {self.base_url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise SettingsError("base_url must be the root of a host, e.g. https://bieb.example")
        if self.role not in ROLES:
            raise SettingsError(f"role must be one of {', '.join(ROLES)}, not {self.role!r}")
        if any(not hub.startswith(("https://", "http://")) for hub in self.hubs):
            raise SettingsError("hubs must be actor URLs, e.g. https://hub.example/users/hub")
        if self.inbox_budget_per_host_per_minute < 1:
            raise SettingsError("inbox_budget_per_host_per_minute must be at least 1")
        for name in ("web_votes_per_ip_per_hour", "comments_per_ip_per_hour",
                     "comment_max_chars"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        if parts.scheme == "http" and self.mode == "production":
            raise SettingsError("production needs an https base_url (use mode = demo to test)")
        object.__setattr__(self, "base_url", f"{parts.scheme}://{parts.netloc.lower()}")

    @property
    def host(self) -> str:
        """Host and port as peers write it in `Host:` and in acct: handles."""
        return urlsplit(self.base_url).netloc

    @property
    def is_demo(self) -> bool:
        return self.mode == "demo"

    @property
    def is_hub(self) -> bool:
        return self.role == "hub"

    @property
    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(allow_http=self.is_demo, allow_loopback=self.is_demo)


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from defaults < config file < PEILING_* environment < overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config or (Path(environ[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in environ
                      else DEFAULT_CONFIG)
    if path.exists():
        try:
            with path.open("rb") as handle:
                values.update(tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read {path}: {exc}") from exc
        database = Path(values.get("database", Settings.database))
        values["database"] = database if database.is_absolute() else path.parent / database
    elif config is not None:
        raise SettingsError(f"config file {config} does not exist")
    known = {f.name: f for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise SettingsError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    for name in known:
        if f"{ENV_PREFIX}{name.upper()}" in environ:
            values[name] = environ[f"{ENV_PREFIX}{name.upper()}"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "base_url" not in values:
        raise SettingsError("base_url is not set (config file, PEILING_BASE_URL or --base-url)")
    return Settings(**{name: _coerce(known[name].type, value, name)
                       for name, value in values.items()})


def _coerce(annotation: Any, value: Any, name: str) -> Any:
    """Turn a string from the environment into the field's type."""
    kind = str(annotation)
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(value)
            return lowered in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "Path":
            return Path(value)
        if kind == "tuple[str, ...]":  # a TOML array, or comma-separated in the environment
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name}: {value!r} is not a valid {kind}") from exc
    return str(value) if kind == "str" else value

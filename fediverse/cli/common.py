"""What every `peiling` subcommand shares: settings, errors, running against the
instance (with or without its network side)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from ..app import build_services
from ..services import Services
from ..settings import Settings, SettingsError, load_settings
from ..storage import Store
from ..storage.sqlite import SqliteStore


class CommandError(Exception):
    """The command line asks for something impossible; the message says what."""


def settings_of(args: argparse.Namespace, **overrides: object) -> Settings:
    return load_settings(args.config, **overrides)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Services]:
    services = await build_services(settings)
    try:
        yield services
    finally:
        await services.client.close()
        await services.store.close()


def with_services(args: argparse.Namespace,
                   work: Callable[[Services, str], Awaitable[None]]) -> int:
    """Run `work` against the instance, then send what it queued."""
    async def run() -> None:
        async with opened(settings_of(args)) as services:
            actors = await services.store.local_actors()
            if not actors:
                raise SettingsError("no local actor yet: run `peiling init` first")
            await work(services, args.username or actors[0].username)
            await services.delivery.run_once()

    asyncio.run(run())
    return 0


def with_store(args: argparse.Namespace, work: Callable[[Store], Awaitable[None]]) -> int:
    """Run `work` against the database alone: no keys, no network."""
    async def run() -> None:
        store = await SqliteStore.open(settings_of(args).database)
        try:
            await work(store)
        finally:
            await store.close()

    asyncio.run(run())
    return 0




def checked_text(text: str) -> str:
    """Arguments that were not UTF-8 arrive as lone surrogates, which SQLite refuses."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CommandError("arguments must be valid UTF-8 text") from exc
    return text

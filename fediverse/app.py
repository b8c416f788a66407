"""The application factory: blueprints, error mapping, background workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator

from quart import Quart, Response, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from activitypub.client import Client, RequestSigner
from activitypub.errors import ActivityPubError
from activitypub.keys import load_private_key

from . import __version__
from .delivery import DeliveryWorker, Outbox
from .directory import ActorDirectory
from .hub import pages as national_pages
from .hub.following import FollowRetry
from .i18n import gettext
from .incoming import InboxWorker
from .outgoing import iso
from .polls import PollError
from .services import Services
from .settings import Settings
from .storage.sqlite import SqliteStore
from .tallies import TallyWorker
from .urls import Urls
from .web import (
    activitypub,
    api,
    inbox,
    json_response,
    localisation,
    pagepolicy,
    pollpage,
    polls,
    services,
    syndication,
    wants_activity_json,
    wellknown,
)
from .web.admin import bp as admin_bp
from .web.forms import FormError, csrf_token

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Quart:
    app = Quart(__name__, template_folder=str(settings.templates_dir))
    app.config["MAX_CONTENT_LENGTH"] = settings.inbox_max_bytes
    app.config["BODY_TIMEOUT"] = 30
    app.config["SETTINGS"] = settings
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=not settings.is_demo,
                      SESSION_COOKIE_NAME="peiling_session")
    for blueprint in (wellknown.bp, activitypub.bp, inbox.bp, polls.bp, api.bp, pollpage.bp,
                      syndication.bp, pagepolicy.bp, admin_bp):
        app.register_blueprint(blueprint)
    if settings.is_hub:  # the national pages exist only on a hub
        app.register_blueprint(national_pages.bp)
    _register_error_handlers(app, settings)
    app.add_template_filter(iso, "isotime")
    app.add_template_global(csrf_token)
    localisation.install(app, secure_cookies=not settings.is_demo)

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"}, content_type="application/json")

    @app.get("/")
    async def index() -> str:
        s = services()
        return await render_template("index.html", actors=await s.store.local_actors(),
                                     host=s.settings.host)

    @app.while_serving  # type: ignore[type-var]  # Quart types the generator narrowly
    async def lifespan() -> AsyncIterator[None]:
        built = await build_services(settings)
        await built.store.release_all_leases()  # the server owns the queue: old leases are void
        app.secret_key = await built.store.instance_secret(
            "cookie-key", lambda: secrets.token_urlsafe(48), time.time())
        app.extensions["services"] = built
        with _startup_objects_frozen():
            async with _background(built, settings.run_background_workers):
                yield
        await built.client.close()
        await built.store.close()

    return app


async def build_services(settings: Settings) -> Services:
    """Open the store and make the runtime objects of one instance."""
    store = await SqliteStore.open(settings.database)
    urls = Urls(settings.base_url)
    actors = await store.local_actors()
    signer = (RequestSigner(urls.key_id(actors[0].username),
                            load_private_key(actors[0].private_key_pem)) if actors else None)
    client = Client(settings.fetch_policy, signer=signer,
                    user_agent=f"Peiling/{__version__} (+{settings.base_url}/)",
                    limit=settings.delivery_workers + 16,
                    limit_per_host=settings.delivery_per_host + 2)
    directory = ActorDirectory(store, client, refetch_seconds=settings.key_refetch_seconds,
                               failure_ttl_seconds=settings.fetch_failure_ttl_seconds)
    wake = asyncio.Event()
    delivery = DeliveryWorker(
        store, client, urls, workers=settings.delivery_workers,
        per_host=settings.delivery_per_host,
        give_up_seconds=settings.delivery_give_up_hours * 3600,
        unavailable_seconds=settings.host_unavailable_days * 86400, wake=wake,
    )
    return Services(settings=settings, urls=urls, store=store, client=client,
                    directory=directory, outbox=Outbox(store, urls, wake), delivery=delivery)


@contextlib.contextmanager
def _startup_objects_frozen() -> Iterator[None]:
    """Keep what start-up made (modules, routes, templates, translations: some 66,000
    objects, all living as long as we serve) out of the garbage collector's full
    passes. Each pass over them took about 40 ms and came about once a second under
    load, and every request and commit in flight waited for it: frozen, the vote
    benchmark's p99 went from 61-75 to 25-28 ms. Unfrozen when serving stops."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.asynccontextmanager
async def _background(built: Services, enabled: bool) -> AsyncIterator[None]:
    """Run the inbox, tally and delivery workers and the WAL checkpoints while serving
    (tests drive the workers by hand)."""
    tasks = []
    if enabled:
        tally = TallyWorker(built, debounce_seconds=built.settings.tally_debounce_seconds)
        tasks = [asyncio.create_task(built.store.checkpoint_forever()),
                 asyncio.create_task(InboxWorker(built).run_forever()),
                 asyncio.create_task(built.delivery.run_forever()),
                 asyncio.create_task(tally.run_forever())]
        if built.settings.is_hub:
            tasks.append(asyncio.create_task(FollowRetry(built).run_forever()))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _register_error_handlers(app: Quart, settings: Settings) -> None:
    @app.errorhandler(ActivityPubError)
    async def protocol_error(error: ActivityPubError) -> Response:
        if _wants_html():
            message = (gettext("This page does not exist (any more).")
                       if error.http_status == 404 else str(error))
            return await _error_page(message, error.http_status)
        return json_response({"error": str(error)}, status=error.http_status,
                             content_type="application/json")

    @app.errorhandler(FormError)
    async def form_error(error: FormError) -> Response:
        return await _error_page(str(error), error.http_status)

    @app.errorhandler(PollError)
    async def poll_error(error: PollError) -> Response:
        return json_response({"error": str(error)}, status=422, content_type="application/json")

    @app.errorhandler(RequestEntityTooLarge)
    async def too_large(_: RequestEntityTooLarge) -> Response:
        limit = settings.inbox_max_bytes
        return json_response({"error": f"body is larger than {limit} bytes"}, status=413,
                             content_type="application/json")


def _wants_html() -> bool:
    """A browser asking for a page gets an HTML error page; software gets JSON."""
    return "text/html" in request.headers.get("Accept", "") and not wants_activity_json()


async def _error_page(message: str, status: int) -> Response:
    page = await render_template("error.html", message=message, status=status)
    return Response(page, status=status, content_type="text/html; charset=utf-8")

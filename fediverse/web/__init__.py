"""HTTP endpoints: ActivityPub, well-known documents, inbox and HTML pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from quart import Response, current_app, request

from activitypub.vocab import AS2_CONTENT_TYPE

from ..services import Services

T = TypeVar("T")


def per_app(key: str, make: Callable[[], T]) -> T:
    """The one object kept under `key` for the running app, made on first use: rate
    budgets, login limits and vote locks live as long as the app, and each process
    keeps its own."""
    registry = current_app.extensions
    if key not in registry:
        registry[key] = make()
    return cast(T, registry[key])


def services() -> Services:
    """The running instance's services (made in the app's lifespan)."""
    found: Services = current_app.extensions["services"]
    return found


def wants_activity_json() -> bool:
    """Content negotiation: AS2 for fediverse software, HTML for browsers."""
    accept = request.headers.get("Accept", "")
    return "application/activity+json" in accept or "application/ld+json" in accept


def json_response(document: Any, *, status: int = 200, content_type: str = AS2_CONTENT_TYPE,
                  ) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), status=status,
                        content_type=content_type)
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

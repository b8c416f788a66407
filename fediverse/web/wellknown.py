"""WebFinger, NodeInfo and host-meta: how other servers discover us."""

from __future__ import annotations

from quart import Blueprint, Response, request

from activitypub import nodeinfo
from activitypub.errors import MalformedError, NotFound
from activitypub.webfinger import JRD_CONTENT_TYPE, Handle, jrd_for, parse_handle

from .. import __version__
from . import json_response, services

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/webfinger")
async def webfinger() -> Response:
    resource = request.args.get("resource", "")
    if not resource:
        raise MalformedError("resource parameter is required")
    s = services()
    username = s.urls.username_of(resource) if resource.startswith("http") else None
    if username is None and not resource.startswith("http"):
        handle = parse_handle(resource)
        username = handle.user if handle.domain == s.settings.host.lower() else None
    if username is None or await s.store.local_actor(username) is None:
        raise NotFound("no such account here")
    handle = Handle(username, s.settings.host)
    return json_response(jrd_for(handle, s.urls.actor(username), s.urls.profile(username)),
                         content_type=JRD_CONTENT_TYPE)


@bp.get("/.well-known/host-meta")
async def host_meta() -> Response:
    """XRD pointing at WebFinger; Mastodon falls back to it after a 404."""
    template = f"{services().urls.base}/.well-known/webfinger?resource={{uri}}"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">'
            f'<Link rel="lrdd" template="{template}"/></XRD>\n')
    return Response(body, content_type="application/xrd+xml")


@bp.get("/.well-known/nodeinfo")
async def nodeinfo_discovery() -> Response:
    return json_response(nodeinfo.discovery(f"{services().urls.base}/nodeinfo/2.1"),
                         content_type="application/json")


@bp.get("/nodeinfo/2.1")
async def nodeinfo_document() -> Response:
    s = services()
    actors = await s.store.local_actors()
    posts = sum([await s.store.public_outbox_count(a.username) for a in actors])
    document = nodeinfo.document(
        software="peiling", version=__version__,
        homepage=s.urls.base, users=len(actors), local_posts=posts, open_registrations=False,
        metadata={"nodeName": actors[0].name if actors else s.settings.host},
    )
    return json_response(document, content_type=nodeinfo.CONTENT_TYPE_21)

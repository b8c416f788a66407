"""Voting or replying from one's own fediverse account: the way to its server.

The visitor types their handle; we ask their server (WebFinger, through the
SSRF-guarded client) for its remote-interaction template and send the visitor
there with this poll's URL, where their own server shows the poll to vote on or
answer. A handle that is no handle, a server we cannot reach or one without
the template gives a message for the visitor, never an error page.
"""

from __future__ import annotations

from urllib.parse import quote

from activitypub.errors import ActivityPubError, MalformedError
from activitypub.webfinger import lookup_url, parse_handle, subscribe_template

from .i18n import gettext as _
from .services import Services

MAX_HANDLE_CHARS = 300
JRD_ACCEPT = "application/jrd+json, application/json"


class InteractionError(ValueError):
    """No way to the visitor's server; the message is for the visitor."""


async def interaction_url(services: Services, text: str, object_url: str) -> str:
    """The page on the visitor's own server where they can answer `object_url`."""
    try:
        if len(text) > MAX_HANDLE_CHARS:
            raise MalformedError("too long")
        handle = parse_handle(text)
    except MalformedError as exc:
        raise InteractionError(_("That is not a fediverse address: write it like"
                                 " @name@server.example.")) from exc
    allowed = ("https", "http") if services.settings.is_demo else ("https",)
    for scheme in allowed:
        try:
            jrd = await services.client.fetch_json(lookup_url(handle, scheme),
                                                   accept=JRD_ACCEPT)
        except (ActivityPubError, ValueError):
            continue
        template = subscribe_template(jrd)
        target = template.replace("{uri}", quote(object_url, safe="")) if template else ""
        if not target.startswith(tuple(f"{s}://" for s in allowed)):  # never javascript:
            raise InteractionError(_("Your server %(server)s does not offer a way to answer"
                                     " from another site. Search there for the address"
                                     " of this poll instead.", server=handle.domain))
        return target
    raise InteractionError(_("Could not reach %(server)s. Check the address, or search on"
                             " your server for the address of this poll.",
                             server=handle.domain))

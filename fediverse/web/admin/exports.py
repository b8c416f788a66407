"""Downloads for staff: a poll's results (CSV, JSON) and its discussion (CSV).

The discussion leaves out commenters' e-mail addresses unless staff tick the
box for them (`?email=1`): a file travels further than a page.
"""

from __future__ import annotations

import json
import time

from quart import Response, request

from ...exports import discussion_csv, results_csv, results_json
from ...lifecycle import existing_poll
from .. import services
from .base import bp

CSV = "text/csv; charset=utf-8"
MAX_REPLIES = 1_000_000


@bp.get("/polls/<int:poll_id>/results.csv")
async def results_as_csv(poll_id: int) -> Response:
    s = services()
    poll = await existing_poll(s, poll_id)
    return _download(results_csv(poll, await s.store.tally(poll_id)), CSV,
                     f"poll-{poll_id}-results.csv")


@bp.get("/polls/<int:poll_id>/results.json")
async def results_as_json(poll_id: int) -> Response:
    s = services()
    poll = await existing_poll(s, poll_id)
    document = results_json(poll, await s.store.tally(poll_id), s.urls.poll(poll_id),
                            not poll.is_open(time.time()))
    return _download(json.dumps(document, ensure_ascii=False, indent=2),
                     "application/json", f"poll-{poll_id}-results.json")


@bp.get("/polls/<int:poll_id>/discussion.csv")
async def discussion_as_csv(poll_id: int) -> Response:
    s = services()
    await existing_poll(s, poll_id)
    with_email = request.args.get("email") == "1"
    replies = await s.store.staff_replies(poll_id, None, MAX_REPLIES)
    return _download(discussion_csv(replies, with_email=with_email), CSV,
                     f"poll-{poll_id}-discussion{'-with-email' if with_email else ''}.csv")


def _download(body: str, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

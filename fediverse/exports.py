"""A poll's results and discussion as files for staff: CSV (for Excel) and JSON.

CSV cells that a spreadsheet would read as a formula (starting with `=`, `+`,
`-`, `@`, a tab or a carriage return) get a leading apostrophe: a reply that
says `=HYPERLINK(...)` must stay text when staff open the file (CSV injection).
Files start with a UTF-8 byte order mark, so Excel reads accents correctly.
Commenters' e-mail addresses are included only when staff ask for them.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Sequence

import nh3

from .outgoing import iso
from .polls import Poll, Tally
from .storage import Reply

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def results_rows(poll: Poll, tally: Tally) -> list[list[object]]:
    percentages = tally.percentages()
    return [[option, tally.counts[i] if i < len(tally.counts) else 0,
             percentages[i] if i < len(percentages) else 0]
            for i, option in enumerate(poll.options)]


def results_csv(poll: Poll, tally: Tally) -> str:
    rows: list[list[object]] = results_rows(poll, tally)
    rows.append(["voters", tally.voters, ""])
    return csv_text(["option", "votes", "percent_of_voters"], rows)


def results_json(poll: Poll, tally: Tally, url: str, closed: bool) -> dict[str, object]:
    return {
        "id": poll.id, "url": url, "question": poll.question,
        "multiple": poll.multiple, "closes_at": iso(poll.closes_at), "closed": closed,
        "voters": tally.voters,
        "options": [{"name": name, "votes": votes, "percent_of_voters": pct}
                    for name, votes, pct in results_rows(poll, tally)],
    }


def discussion_csv(replies: Iterable[tuple[Reply, str | None]], *, with_email: bool) -> str:
    header = ["id", "published_at", "state", "author", "handle", "source", "text"]
    if with_email:
        header.append("email")
    rows = []
    for reply, email in replies:
        row: list[object] = [reply.id, iso(reply.published_at), reply.state, reply.author_name,
                             reply.author_handle or "", "fediverse" if reply.actor else "web",
                             plain_text(reply.content)]
        if with_email:
            row.append(email or "")
        rows.append(row)
    return csv_text(header, rows)


def plain_text(sanitised_html: str) -> str:
    """A reply's stored HTML as the text a reader sees: paragraphs on their own lines."""
    spaced = re.sub(r"(?i)<br\s*/?>|</p>\s*<p>", "\n", sanitised_html)
    return html.unescape(nh3.clean(spaced, tags=set())).strip()

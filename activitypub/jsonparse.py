"""Defensive JSON parsing for documents from other servers.

`json.loads` raises `RecursionError` (not `ValueError`) on deeply nested input
and happily returns `NaN`; a handler that trusts it answers 500. Everything that
parses outside input goes through `parse_object`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import MalformedError
from .vocab import JsonObject

MAX_DEPTH = 32
MAX_MEMBERS = 10_000


def _refuse_constant(name: str) -> Any:
    raise MalformedError(f"JSON constant {name} is not allowed")


# One decoder for every document: `json.loads` with an argument builds a new one
# (and its scanner) per call, a third of the parse of a typical activity.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def parse_object(body: bytes, *, max_depth: int = MAX_DEPTH) -> JsonObject:
    """Parse a UTF-8 JSON object no deeper than `max_depth`, or raise MalformedError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("body is not valid UTF-8") from exc
    try:
        value = _DECODER.decode(text)
    except RecursionError as exc:
        raise MalformedError("JSON is nested too deeply") from exc
    except ValueError as exc:
        raise MalformedError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedError("JSON document must be an object")
    if not _plainly_in_shape(body, max_depth):
        check_shape(value, max_depth=max_depth)
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _plainly_in_shape(body: bytes, max_depth: int) -> bool:
    """What `check_shape` refuses cannot be in most bodies, which it can tell from the
    bytes far faster than by walking the parsed value (every inbox POST parses
    one): no more brackets than `max_depth` cannot nest deeper, fewer bytes than
    MAX_MEMBERS cannot hold more members in one place, and a lone surrogate can
    only come from a `\\udXXX` escape (UTF-8 cannot encode one). A false alarm only
    means the walk."""
    return (len(body) <= MAX_MEMBERS and body.count(b"{") + body.count(b"[") <= max_depth
            and _SURROGATE_ESCAPE.search(body) is None)


def check_shape(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse what parses but would hurt later, walking without recursion: nesting
    past `max_depth`, objects or arrays of more than MAX_MEMBERS members (no
    activity needs 100,000 recipients), and lone surrogates (`"\\ud800"` is valid
    JSON but no UTF-8 text, so SQLite and every encoder refuse it)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                raise MalformedError(f"JSON is nested deeper than {max_depth} levels")
            if len(node) > MAX_MEMBERS:
                raise MalformedError(f"JSON has more than {MAX_MEMBERS} members in one place")
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(node, str):
            _require_text(node)


def _require_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("JSON string is not valid Unicode text") from exc

"""Defensive JSON parsing for documents from other servers.

`json.loads` raises `RecursionError` (not `ValueError`) on deeply nested input
and happily returns `NaN`; a handler that trusts it answers 500. Everything that
parses outside input goes through `parse_object`.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import MalformedError
from .vocab import JsonObject

MAX_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise MalformedError(f"JSON constant {name} is not allowed")


def parse_object(body: bytes, *, max_depth: int = MAX_DEPTH) -> JsonObject:
    """Parse a UTF-8 JSON object no deeper than `max_depth`, or raise MalformedError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("body is not valid UTF-8") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise MalformedError("JSON is nested too deeply") from exc
    except ValueError as exc:
        raise MalformedError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedError("JSON document must be an object")
    if depth_of(value) > max_depth:
        raise MalformedError(f"JSON is nested deeper than {max_depth} levels")
    return value


def depth_of(value: Any) -> int:
    """Nesting depth of a parsed JSON value, computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
    return deepest

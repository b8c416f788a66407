"""API tokens: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: a leaked database does not leak access."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

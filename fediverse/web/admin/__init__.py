"""The admin under /admin: what library staff use (issue 4).

`base` holds the blueprint and what every page shares (login required, no
caching, CSP); each other module adds the routes of one job to it.
"""

from __future__ import annotations

from . import account, adoption, auth, exports, federation, moderation, polls
from .base import bp

__all__ = ["account", "adoption", "auth", "bp", "exports", "federation", "moderation", "polls"]

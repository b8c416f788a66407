"""Staff accounts: passwords hashed with argon2id, logins, and server-side sessions.

argon2id is memory-hard (64 MiB and 3 passes per hash, RFC 9106's second
recommendation), so a stolen database costs a guesser real hardware per try.
Hashing takes about a tenth of a second of CPU: it runs in a thread, at most two
at a time, so logins neither stall the event loop nor let a flood of them take
all the memory. A login for an unknown name hashes too, so the answer time does
not tell which names exist.

A session is a random token in Quart's signed cookie; the database keeps only
its sha256, with an expiry. Logout deletes the row, and a new password or a
disabled account deletes all of the account's rows, so those end the session
whatever the browser still holds.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .login_limit import LoginLimit
from .storage import AdminAccount, Store

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MIN_PASSWORD = 10
DEMO_ADMIN = ("admin", "peiling-demo")  # demo instances only: `make run` and `make demo` print it
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte password would only cost us

_HASHER = PasswordHasher()
_HASHING = threading.BoundedSemaphore(2)  # a thread lock: event loops come and go (tests)


class AccountError(ValueError):
    """An account change that cannot be made; the message says why."""


class LoginRefused(Exception):
    """A login that did not succeed: wrong name or password, or too many tries
    (`retry_after` seconds). Neither says which of name and password was wrong."""

    def __init__(self, retry_after: int | None = None) -> None:
        super().__init__("login refused")
        self.retry_after = retry_after


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise AccountError("a username is 1 to 64 characters: a-z, 0-9, '_', '.' or '-',"
                           " starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AccountError("a password must be valid UTF-8 text") from exc
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """None (no such account) is checked against a throwaway hash and never matches."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _hash(password: str) -> str:
    with _HASHING:
        return _HASHER.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    with _HASHING:
        try:
            matches = _HASHER.verify(password_hash or _unknown_account_hash(), password)
            return matches and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


@functools.cache
def _unknown_account_hash() -> str:
    """Checked against when the name is unknown, so that takes as long as a wrong password."""
    return _HASHER.hash(secrets.token_urlsafe(16))


async def create_account(store: Store, username: str, password: str, now: float) -> int:
    return await store.create_admin(check_username(username),
                                    await hash_password(check_password(password)), now)


async def ensure_demo_account(store: Store, now: float) -> None:
    """A demo instance's staff account (`DEMO_ADMIN`), made when it has no account yet,
    so a reviewer can log in to /admin at once; a later run changes nothing. The
    callers (`peiling init --demo`, `peiling demo`) make it in demo mode only: a known
    password on a public instance is an open door."""
    if not await store.admin_accounts():
        await create_account(store, *DEMO_ADMIN, now)


async def change_password(store: Store, username: str, password: str) -> None:
    """Set a new password; every session of the account ends."""
    if not await store.set_admin_password(username,
                                          await hash_password(check_password(password))):
        raise AccountError(f"no account named {username!r}")


async def log_in(store: Store, limit: LoginLimit, username: str, password: str,
                 address: str, now: float, session_seconds: float) -> str:
    """A new session token for the right name and password, else LoginRefused."""
    wait = limit.wait(username, address)
    if wait is not None:
        raise LoginRefused(wait)
    account = await store.admin_account(username[:100])
    good = await password_matches(
        account.password_hash if account else None, password[:MAX_PASSWORD])
    if account is None or account.disabled_at is not None or not good:
        limit.failed(username, address)
        raise LoginRefused()
    limit.succeeded(username)
    return await _new_session(store, account.id, now, session_seconds)


async def change_own_password(store: Store, limit: LoginLimit, account: AdminAccount,
                              current: str, new: str, address: str, now: float,
                              session_seconds: float) -> str:
    """Staff replace their own password. The current one is asked, so a session left
    open on a shared computer is not enough, and a wrong one counts against the login
    limit like a failed login. Every session of the account ends (a thief's too);
    the caller's is replaced by the one whose token this returns. A new password
    that `check_password` refuses raises AccountError and changes nothing."""
    wait = limit.wait(account.username, address)
    if wait is not None:
        raise LoginRefused(wait)
    if not await password_matches(account.password_hash, current[:MAX_PASSWORD]):
        limit.failed(account.username, address)
        raise LoginRefused()
    await change_password(store, account.username, new)
    return await _new_session(store, account.id, now, session_seconds)


async def _new_session(store: Store, account_id: int, now: float, seconds: float) -> str:
    token = secrets.token_urlsafe(32)
    await store.create_admin_session(token_digest(token), account_id, now, now + seconds)
    return token


async def session_account(store: Store, token: object, now: float) -> AdminAccount | None:
    """The logged-in account of a session token from the cookie, if still live."""
    if not isinstance(token, str) or not token:
        return None
    return await store.admin_by_session(token_digest(token), now)


async def log_out(store: Store, token: object) -> None:
    if isinstance(token, str) and token:
        await store.end_admin_session(token_digest(token))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()

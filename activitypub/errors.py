"""One exception tree for the protocol package; every class knows its HTTP status.

The web layer maps these to responses in one place, so a handler never has to
decide between 400 and 401 itself.
"""

from __future__ import annotations


class ActivityPubError(Exception):
    """Base of every protocol error; the message is safe to show to the peer."""

    http_status = 400


class MalformedError(ActivityPubError):
    """The document or header cannot be parsed or breaks a structural limit."""

    http_status = 400


class SignatureError(ActivityPubError):
    """The request is not provably from its actor."""

    http_status = 401


class PayloadTooLarge(ActivityPubError):
    """The body is larger than we are willing to read."""

    http_status = 413


class UnsupportedMediaType(ActivityPubError):
    """The body is not an ActivityPub document."""

    http_status = 415


class OriginError(ActivityPubError):
    """An id in the activity is not on the host of the actor that signed it."""

    http_status = 403


class Forbidden(ActivityPubError):
    """The sender is blocked, or may not do this to this object."""

    http_status = 403


class NotFound(ActivityPubError):
    """No such local object."""

    http_status = 404


class FetchError(ActivityPubError):
    """A remote document could not be fetched or was not acceptable.

    Raised by the outgoing client; inbox verification turns it into a 401
    because the sender could not be authenticated.
    """

    http_status = 502

    def __init__(self, *args: object, status: int | None = None) -> None:
        """`status` is the remote HTTP status when there was a response, for logs and retries."""
        super().__init__(*args)
        self.status = status


class AddressNotAllowed(FetchError):
    """The URL points at an address we never connect to (private, loopback...)."""


class TemporaryFetchError(FetchError):
    """The remote host may answer later (timeout, 5xx, connection refused)."""

    http_status = 503

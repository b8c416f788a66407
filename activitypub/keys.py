"""RSA key pairs for actors: making our own, and admitting the ones peers publish.

Mastodon only verifies RSA (PKCS#1 v1.5, SHA-256) on the cavage path, so every
actor key we make is RSA. A peer's `publicKeyPem` is hostile input: it is
refused unless it is a sane RSA key (security.md rule 5), so a tiny modulus or a
low exponent can never become the thing that authenticates an actor.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from .errors import SignatureError

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
MIN_REMOTE_KEY_SIZE = 2048
MAX_REMOTE_KEY_SIZE = 4096
LOADED_KEYS_KEPT = 2048


def generate_private_key() -> RSAPrivateKey:
    """A new actor key: RSA-2048 is what Mastodon itself generates and accepts."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


def private_key_pem(key: RSAPrivateKey) -> str:
    """Unencrypted PKCS#8 PEM, for storage in our own database."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: RSAPrivateKey | RSAPublicKey) -> str:
    """SubjectPublicKeyInfo PEM: the form Mastodon publishes as `publicKeyPem`."""
    public = key.public_key() if isinstance(key, RSAPrivateKey) else key
    return public.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def load_private_key(pem: str) -> RSAPrivateKey:
    """Our own stored key; anything but RSA is a configuration error, not a peer's."""
    key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("actor private key must be RSA")
    return key


@lru_cache(maxsize=LOADED_KEYS_KEPT)
def load_public_key(pem: str) -> RSAPublicKey:
    """A peer's `publicKeyPem`, admitted only if it is RSA 2048-4096 bits with e = 65537.

    Every failure is a SignatureError because the key came from a remote actor
    document: a request that rests on an unusable key is simply not authenticated.
    Every inbox POST needs its sender's key, and parsing the PEM costs a third of
    the RSA verification it serves, so loaded keys are kept by their text (the
    same text always makes the same key; a refused one is not kept).
    """
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("publicKeyPem is not a valid PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise SignatureError("publicKeyPem is not an RSA key")
    if not MIN_REMOTE_KEY_SIZE <= key.key_size <= MAX_REMOTE_KEY_SIZE:
        raise SignatureError(f"RSA key of {key.key_size} bits is not accepted")
    if key.public_numbers().e != PUBLIC_EXPONENT:
        raise SignatureError("RSA public exponent must be 65537")
    return key

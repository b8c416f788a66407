"""Actor keys: our own round-trip through PEM; a peer's key is admitted only if sane."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from activitypub.errors import SignatureError
from activitypub.keys import (
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
)


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_private_key()


def _spki_pem(public: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def test_generated_key_is_rsa_2048_with_e_65537(key: RSAPrivateKey) -> None:
    assert key.key_size == 2048
    assert key.private_numbers().public_numbers.e == 65537


def test_private_key_survives_a_pem_round_trip(key: RSAPrivateKey) -> None:
    pem = private_key_pem(key)

    loaded = load_private_key(pem)

    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert loaded.private_numbers() == key.private_numbers()


def test_public_key_pem_is_spki_and_loads_back(key: RSAPrivateKey) -> None:
    pem = public_key_pem(key)

    loaded = load_public_key(pem)

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert loaded.public_numbers() == key.public_key().public_numbers()
    assert public_key_pem(key.public_key()) == pem


def test_pkcs1_public_key_pem_is_accepted(key: RSAPrivateKey) -> None:
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode("ascii")
    )

    assert load_public_key(pem).key_size == 2048


def test_4096_bit_key_is_accepted() -> None:
    big = rsa.generate_private_key(public_exponent=65537, key_size=4096)

    assert load_public_key(public_key_pem(big)).key_size == 4096


def test_non_rsa_private_key_is_refused() -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )

    with pytest.raises(ValueError, match="RSA"):
        load_private_key(pem)


@pytest.mark.parametrize(
    ("make_pem", "reason"),
    [
        pytest.param(
            lambda: public_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "1024 bits",
            id="rsa-1024",
        ),
        pytest.param(
            lambda: public_key_pem(rsa.generate_private_key(public_exponent=3, key_size=2048)),
            "exponent",
            id="e=3",
        ),
        pytest.param(
            lambda: _spki_pem(ec.generate_private_key(ec.SECP256R1()).public_key()),
            "not an RSA key",
            id="ec-p256",
        ),
        pytest.param(
            lambda: _spki_pem(ed25519.Ed25519PrivateKey.generate().public_key()),
            "not an RSA key",
            id="ed25519",
        ),
        pytest.param(lambda: "garbage", "not a valid PEM", id="garbage"),
        pytest.param(lambda: "", "not a valid PEM", id="empty"),
        pytest.param(
            lambda: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "not a valid PEM",
            id="truncated-der",
        ),
        pytest.param(lambda: "\ud800", "not a valid PEM", id="lone-surrogate"),
    ],
)
def test_unacceptable_remote_key_is_refused(make_pem: Callable[[], str], reason: str) -> None:
    pem = make_pem()

    with pytest.raises(SignatureError, match=reason):
        load_public_key(pem)

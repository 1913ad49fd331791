"""Webhook signatures: the header format against an independent HMAC, what verify() accepts and refuses,
and the per-endpoint secret derivation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from libs.webhooks.signing import derive_secret, signature_header, verify

SECRET = "whsec_0123456789abcdef"
T = 1_700_000_000
BODY = b'{"id":"dlv_1","type":"analysis.completed","data":{"n":1}}'


def test_header_matches_an_independently_computed_hmac() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, T, BODY) == f"t=1700000000,v1={expected}"


def test_verify_accepts_its_own_header() -> None:
    assert verify(SECRET, signature_header(SECRET, T, BODY), BODY, now=T + 10)


def test_verify_accepts_one_matching_entry_among_several() -> None:
    """As during a secret rotation: one v1= per secret, the receiver knows one of them."""
    ours = signature_header(SECRET, T, BODY).split(",")[1]
    header = f"t={T},v1={'0' * 64},{ours},v0=ignored"
    assert verify(SECRET, header, BODY, now=T)


def test_verify_refuses_a_changed_body() -> None:
    header = signature_header(SECRET, T, BODY)
    assert not verify(SECRET, header, BODY.replace(b"1}", b"2}"), now=T)
    assert not verify(SECRET, header, BODY + b" ", now=T)


def test_verify_refuses_another_secret() -> None:
    header = signature_header("whsec_other", T, BODY)
    assert not verify(SECRET, header, BODY, now=T)


def test_verify_refuses_a_stale_or_far_future_timestamp() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 300)
    assert not verify(SECRET, header, BODY, now=T + 301)
    assert not verify(SECRET, header, BODY, now=T - 301)
    assert not verify(SECRET, header, BODY, now=T + 60, tolerance_s=30)


def test_verify_refuses_a_replayed_signature_with_a_fresh_timestamp() -> None:
    mac = signature_header(SECRET, T, BODY).split("v1=")[1]
    assert not verify(SECRET, f"t={T + 1000},v1={mac}", BODY, now=T + 1000)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"t={T}",
        "v1=" + "0" * 64,
        f"t=abc,v1={'0' * 64}",
        f"t={T},t={T + 1},v1=ab",
        "t=,v1=",
        "t=١٢٣,v1=é",
    ],
)
def test_verify_refuses_malformed_headers_without_raising(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=T)


def test_verify_refuses_two_timestamps_even_if_one_is_signed() -> None:
    header = signature_header(SECRET, T, BODY)
    assert not verify(SECRET, f"t={T + 5},{header}", BODY, now=T)


def test_derive_secret_is_stable_and_differs_per_endpoint_and_key() -> None:
    key = b"k" * 32
    first = derive_secret(key, "ep_1")
    assert first == derive_secret(key, "ep_1")
    assert first == "whsec_" + hmac.new(key, b"ep_1", hashlib.sha256).hexdigest()
    assert first != derive_secret(key, "ep_2")
    assert first != derive_secret(b"j" * 32, "ep_1")
    assert len(first) == len("whsec_") + 64


def test_derive_secret_refuses_an_empty_master_key() -> None:
    with pytest.raises(ValueError, match="empty"):
        derive_secret(b"", "ep_1")

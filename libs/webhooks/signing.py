"""Webhook signatures: per-endpoint secrets derived from one master key, Stripe-style signed headers."""

from __future__ import annotations

import hashlib
import hmac

SECRET_PREFIX = "whsec_"
SCHEME = "v1"


def derive_secret(master_key: bytes, endpoint_id: str) -> str:
    """The endpoint's signing secret. Derived, never stored or sent in events: the gateway shows it once
    at registration and the alerts service derives it again from the same key in its environment."""
    if not master_key:
        # An empty key would make every secret computable from the (public) endpoint id alone.
        raise ValueError("the webhook master key is empty")
    digest = hmac.new(master_key, endpoint_id.encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    # The timestamp is inside the MAC, so a captured delivery cannot be replayed later with a fresh t=.
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The X-ViralSpot-Signature value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">."""
    return f"t={timestamp},{SCHEME}={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: True when one v1= entry matches and t is within tolerance_s of now.

    Several v1= entries are accepted (Stripe sends one per active secret while a secret is rotated).
    A malformed header is simply not valid; it never raises.
    """
    timestamp: int | None = None
    candidates: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return False  # two timestamps or a non-numeric one: which was signed is ambiguous
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value.encode("utf-8", "replace"))
    if timestamp is None or not candidates:
        return False
    # Both directions: a far-future t would otherwise stay replayable for as long as it is ahead.
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body).encode()
    # compare_digest on every entry: the time taken does not reveal how much of a guess was right.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)

"""RATE_LIMIT_*: '<requests>/<seconds>' or 'off', refused with the setting's name otherwise."""

import pytest
from pydantic import ValidationError

from services.gateway.limits import rate_limited
from services.gateway.settings import GatewaySettings, RateLimit, parse_limit

BASE = {"database_url": "postgresql://127.0.0.1/x", "amqp_url": "amqp://127.0.0.1/"}


def test_defaults_are_documented_budgets() -> None:
    settings = GatewaySettings(**BASE)
    assert settings.rate_limit_analyses == RateLimit(20, 3600)
    assert settings.rate_limit_reruns == RateLimit(20, 3600)
    assert settings.rate_limit_profiles == RateLimit(120, 60)
    assert settings.rate_limit_watch_refreshes == RateLimit(6, 3600)


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("20/3600", RateLimit(20, 3600)),
        (" 3/2 ", RateLimit(3, 2)),
        ("OFF", None),
        ("1/86400", RateLimit(1, 86400)),
    ],
)
def test_a_limit_is_requests_per_seconds_or_off(text: str, limit: RateLimit | None) -> None:
    assert parse_limit(text) == limit


@pytest.mark.parametrize(
    "text", ["", "20", "0/60", "5/0", "5/86401", "-1/60", "1.5/60", "5 per minute", "1/2/3"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="requests>/<seconds"):
        parse_limit(text)


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_PROFILES", "off")
    monkeypatch.setenv("RATE_LIMIT_RERUNS", "5/60")
    settings = GatewaySettings(**BASE)
    assert settings.rate_limit_profiles is None and settings.rate_limit_reruns == RateLimit(5, 60)
    monkeypatch.setenv("RATE_LIMIT_ANALYSES", "lots")
    with pytest.raises(ValidationError, match="rate_limit_analyses"):
        GatewaySettings(**BASE)


def test_a_rate_is_its_capacity_over_its_period() -> None:
    assert RateLimit(120, 60).per_second == 2.0


@pytest.mark.parametrize(("wait_s", "header"), [(0.01, "1"), (1.0, "1"), (1.01, "2"), (1799.2, "1800")])
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(wait_s: float, header: str) -> None:
    refusal = rate_limited("profiles", wait_s, RateLimit(3, 4))
    assert refusal.status == 429 and refusal.error_code == "RATE_LIMITED"
    assert refusal.headers == {"Retry-After": header} and refusal.troubleshooting

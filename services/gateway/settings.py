from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from libs.blobs import MediaStoreSettings
from libs.runtime.config import ServiceSettings, comma_separated

# Asymmetric only: HS256 is verified with AUTH_JWT_SECRET alone, never with a key a JWKS publishes.
JwksAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]
DEFAULT_JWKS_ALGORITHMS: tuple[JwksAlgorithm, ...] = ("RS256", "ES256")
# An origin as browsers send it: scheme, host and port, nothing after.
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$")

_RATE_LIMIT = re.compile(r"^([0-9]{1,6})/([0-9]{1,6})$")


@dataclass(frozen=True)
class RateLimit:
    """`capacity` requests at once, refilled evenly over `period_s` seconds ("20/3600": 20 an hour)."""

    capacity: int
    period_s: int

    @property
    def per_second(self) -> float:
        return self.capacity / self.period_s


def parse_limit(value: str) -> RateLimit | None:
    """'<requests>/<seconds>' (requests 1-999999, seconds 1-86400), or 'off' for no limit (None). A
    day at most: buckets untouched for a day are purged as full (limits.py)."""
    text = value.strip().lower()
    if text == "off":
        return None
    match = _RATE_LIMIT.fullmatch(text)
    if match is None or int(match[1]) < 1 or not 1 <= int(match[2]) <= 86_400:
        raise ValueError(f"'{value}' is not '<requests>/<seconds>' (such as 20/3600, at most a day) or 'off'")
    return RateLimit(int(match[1]), int(match[2]))


class GatewaySettings(MediaStoreSettings, ServiceSettings):
    # A refused setting may be a secret (a short AUTH_JWT_SECRET): its value stays out of the error.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    admin_token: SecretStr | None = None
    # Every API request holds a connection for a few round trips: more of them than a worker needs.
    db_pool_max: int = 24
    # Live analysis progress over Server-Sent Events (GET /api/viral-ideas/queue/{session_id}/events).
    sse_max_clients: int = Field(default=2000, ge=1, le=100_000)
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    sse_client_buffer: int = Field(default=64, ge=4, le=10_000)
    sse_disconnect_check_s: float = Field(default=1.0, gt=0, le=60)
    # Status answers kept in memory (status_cache.py), checked against the projector per read; 0: off.
    status_cache_entries: int = Field(default=10_000, ge=0, le=1_000_000)
    # Users: `Authorization: Bearer <JWT>` from an identity provider (services/gateway/identity.py).
    auth_jwt_secret: SecretStr | None = None
    auth_jwks_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    auth_jwks_algorithms: Annotated[list[JwksAlgorithm], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_JWKS_ALGORITHMS), min_length=1
    )
    auth_jwt_issuer: str | None = None
    auth_jwt_audience: str | None = None
    auth_jwt_leeway_s: float = Field(default=30.0, ge=0, le=300)
    auth_jwks_ttl_s: float = Field(default=300.0, gt=0, le=86_400)
    # However many tokens name a kid the keys lack, the JWKS is fetched at most this often.
    auth_jwks_min_refetch_s: float = Field(default=30.0, ge=0, le=3600)
    auth_jwks_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # POST /api/auth/dev-token, for `make run` only (also needs AUTH_JWT_SECRET).
    auth_dev_login: bool = False
    auth_dev_token_ttl_s: int = Field(default=3600, ge=60, le=86_400)
    # A profile fetched (by a request or an analysis) this recently is not fetched again on request.
    profile_freshness_hours: int = Field(default=168, ge=1, le=8760)
    # The competitor picker (services/gateway/picker.py): similar accounts fetched on demand are served
    # this long; a request that needs a fetch waits up to PICKER_WAIT_S for it, then answers 202.
    picker_cache_hours: float = Field(default=24.0, gt=0, le=168)
    picker_wait_s: float = Field(default=8.0, ge=0, le=30)
    # Analyses one user may have queued or running at once (creations and re-runs beyond: 429).
    max_running_analyses_per_user: int = Field(default=3, ge=1, le=1000)
    # Boards (services/gateway/boards.py): per user, and items per board; beyond them 409.
    max_boards_per_user: int = Field(default=50, ge=1, le=10_000)
    max_board_items: int = Field(default=500, ge=1, le=100_000)
    # Watchlists and webhooks (services/gateway/watchlists.py, webhooks.py): per user; beyond them 409.
    max_watches_per_user: int = Field(default=200, ge=1, le=10_000)
    max_webhooks_per_user: int = Field(default=10, ge=1, le=100)
    # A new watch alerts on reels posted from this long before it began (a body's alert_from instead).
    watch_lookback_h: float = Field(default=72.0, ge=0, le=720)
    # The key each webhook endpoint's signing secret is derived from, the alerts service's too; unset,
    # webhooks answer 503 WEBHOOKS_DISABLED.
    webhook_signing_key: SecretStr | None = None
    # Development only: http endpoints on loopback (a local receiver); never in production.
    webhook_allow_loopback: bool = False
    # A streaming replica of DATABASE_URL's database for browse reads (services/gateway/replica.py);
    # unset: everything reads the primary. Reads fall back to the primary while the replica's lag is
    # over REPLICA_MAX_LAG_S or unknown (checked every REPLICA_CHECK_S).
    database_read_url: str | None = None
    replica_max_lag_s: float = Field(default=5.0, gt=0, le=3600)
    replica_check_s: float = Field(default=1.0, gt=0, le=60)
    # Token buckets per user (per address for anonymous callers), "<requests>/<seconds>" or "off".
    rate_limit_analyses: Annotated[RateLimit | None, NoDecode] = RateLimit(20, 3600)
    rate_limit_reruns: Annotated[RateLimit | None, NoDecode] = RateLimit(20, 3600)
    rate_limit_profiles: Annotated[RateLimit | None, NoDecode] = RateLimit(120, 60)
    # POST /api/watchlist/refresh fetches every watched creator again: a few a day, not a loop.
    rate_limit_watch_refreshes: Annotated[RateLimit | None, NoDecode] = RateLimit(6, 3600)
    # Browsers on these origins may call the API (services/gateway/cors.py); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_max_age_s: int = Field(default=600, ge=0, le=86_400)

    @field_validator(
        "auth_jwt_secret",
        "auth_jwks_url",
        "auth_jwt_issuer",
        "auth_jwt_audience",
        "webhook_signing_key",
        "database_read_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # docker compose passes `${AUTH_JWT_SECRET:-}` as an empty string when the operator sets none.
        return None if value == "" else value

    @field_validator("auth_jwt_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        # RFC 7518 3.2: an HS256 key at least as long as the hash; a shorter one is guessable offline.
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("AUTH_JWT_SECRET must be at least 32 characters")
        return value

    @field_validator(
        "rate_limit_analyses",
        "rate_limit_reruns",
        "rate_limit_profiles",
        "rate_limit_watch_refreshes",
        mode="before",
    )
    @classmethod
    def _rate_limit(cls, value: Any) -> Any:
        return parse_limit(value) if isinstance(value, str) else value

    @field_validator("auth_jwks_algorithms", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return comma_separated(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        origins = [value.rstrip("/").lower() for value in values]
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"'{origin}' is not an origin such as https://app.example.com (no '*', no path)"
                )
        return list(dict.fromkeys(origins))

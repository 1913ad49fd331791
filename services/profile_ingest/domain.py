"""How an ingestion's failures are judged (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass

from libs.instagram import (
    AccountNotFound,
    AccountPrivate,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
)


@dataclass(frozen=True)
class Failure:
    error_code: str
    reason: str
    transient: bool


def judge(exc: BaseException) -> Failure:
    """Private and unknown accounts fail at once; provider outages and surprises are worth a retry."""
    if isinstance(exc, AccountPrivate):
        return Failure("ACCOUNT_PRIVATE", str(exc), transient=False)
    if isinstance(exc, AccountNotFound):
        return Failure("ACCOUNT_NOT_FOUND", str(exc), transient=False)
    if isinstance(exc, ProviderRateLimited):
        return Failure("PROVIDER_RATE_LIMITED", str(exc), transient=True)
    if isinstance(exc, ProviderRejected):
        return Failure("PROVIDER_REJECTED", str(exc), transient=False)
    if isinstance(exc, ProviderBadResponse):
        return Failure(
            "PROVIDER_BAD_RESPONSE", f"The provider sent an unreadable answer: {exc}", transient=True
        )
    if isinstance(exc, ProviderError):
        return Failure("PROVIDER_UNAVAILABLE", str(exc), transient=exc.transient)
    return Failure("INTERNAL_ERROR", f"Ingestion failed unexpectedly ({type(exc).__name__})", transient=True)

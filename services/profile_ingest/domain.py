"""What an ingestion decides (no I/O): whether a request is still to do, which attempt this is, how a
failure is judged and whether it is tried again, and the events that record each step."""

from __future__ import annotations

from dataclasses import dataclass

from libs.events.catalog import (
    ProfileIngested,
    ProfileIngestFailed,
    ProfileIngestStarted,
    ProfileRequested,
    ProfileRequestPromoted,
)
from libs.instagram import (
    AccountNotFound,
    AccountPrivate,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
)
from libs.instagram.models import Profile, Reel, SimilarAccount
from libs.scoring.snapshots import profile_snapshot, similar_snapshot

# The original LOW message and its HIGH promotion both name the request; either may arrive first.
Request = ProfileRequested | ProfileRequestPromoted
# What an ingestion appends to the profile's stream.
IngestEvent = ProfileIngestStarted | ProfileIngested | ProfileIngestFailed

FINISHED = ("completed", "failed")


def still_to_do(status: str | None) -> bool:
    """A request seen for the first time (no status yet) or left pending or processing: a redelivery
    of a finished one, or the other message of a promoted one, finds it done."""
    return status not in FINISHED


def next_attempt(attempts_so_far: int) -> int:
    return attempts_so_far + 1


def started(request: Request, attempt: int) -> ProfileIngestStarted:
    return ProfileIngestStarted(username=request.username, request_id=request.request_id, attempt=attempt)


def ingested(
    request: Request, attempt: int, duration_ms: int, profile: Profile, reels: list[Reel],
    similar: list[SimilarAccount],
) -> ProfileIngested:  # fmt: skip
    """The fetched profile with its statistics, its reels scored against its median, its similar accounts."""
    snapshot, scored = profile_snapshot(profile, reels)
    return ProfileIngested(
        username=request.username,
        request_id=request.request_id,
        attempts=attempt,
        duration_ms=duration_ms,
        profile=snapshot,
        reels=scored,
        similar=similar_snapshot(similar),
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


@dataclass(frozen=True)
class FailedAttempt:
    failure: Failure
    will_retry: bool
    event: ProfileIngestFailed

    @property
    def request_status(self) -> str:
        """The request waits for its next attempt, or is given up."""
        return "pending" if self.will_retry else "failed"

    @property
    def unexpected(self) -> bool:
        return self.failure.error_code == "INTERNAL_ERROR"


def failed_attempt(request: Request, attempt: int, exc: BaseException, max_attempts: int) -> FailedAttempt:
    """A transient failure is tried again until the request has had `max_attempts` attempts."""
    failure = judge(exc)
    will_retry = failure.transient and attempt < max_attempts
    event = ProfileIngestFailed(
        username=request.username,
        request_id=request.request_id,
        attempts=attempt,
        will_retry=will_retry,
        reason=failure.reason,
        error_code=failure.error_code,
    )
    return FailedAttempt(failure, will_retry, event)

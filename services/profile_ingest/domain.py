"""What an ingestion decides (no I/O): whether a request is still to do, which attempt this is, how a
failure is judged and whether it is tried again, what the classifier reads of a fetched profile, and
the events that record each step."""

from __future__ import annotations

from dataclasses import dataclass

from libs.analysis import Categorisation, ContentText, CreatorText
from libs.events.catalog import (
    ContentFetched,
    MediaKind,
    MediaStored,
    ProfileCategorised,
    ProfileIngested,
    ProfileIngestFailed,
    ProfileIngestStarted,
    ProfileRequested,
    ProfileRequestPromoted,
    ReelsCategorised,
)
from libs.instagram import (
    AccountNotFound,
    AccountPrivate,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
)
from libs.instagram.models import Post, Profile, Reel, SimilarAccount
from libs.scoring.snapshots import post_snapshots, profile_snapshot, similar_snapshot

# The original LOW message and its HIGH promotion both name the request; either may arrive first.
Request = ProfileRequested | ProfileRequestPromoted
# What an ingestion appends to the profile's stream.
IngestEvent = (
    ProfileIngestStarted | ProfileIngested | ProfileIngestFailed | ProfileCategorised | ReelsCategorised
)

FINISHED = ("completed", "failed")
MAX_SOURCE_URL = 2048


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
    similar: list[SimilarAccount], posts: list[Post] | None = None,
) -> ProfileIngested:  # fmt: skip
    """The fetched profile with its statistics, its reels scored against its median views, its posts
    against their median likes, its similar accounts."""
    snapshot, scored = profile_snapshot(profile, reels)
    return ProfileIngested(
        username=request.username,
        request_id=request.request_id,
        attempts=attempt,
        duration_ms=duration_ms,
        profile=snapshot,
        reels=scored,
        similar=similar_snapshot(similar),
        posts=post_snapshots(posts or []),
    )


def classifier_input(ingested: ProfileIngested) -> tuple[CreatorText, list[ContentText]]:
    """What the classifier reads: the creator's name, bio and account type, and each reel's caption and
    transcript and each post's caption, in the order the event lists them."""
    profile = ingested.profile
    creator = CreatorText(
        username=ingested.username,
        full_name=profile.profile_name,
        bio=profile.bio,
        account_type=profile.account_type,
    )
    reels = [ContentText(reel.content_id, reel.description, reel.transcript) for reel in ingested.reels]
    posts = [ContentText(post.content_id, post.description) for post in ingested.posts]
    return creator, [*reels, *posts]


def categorised(
    ingested: ProfileIngested, categorisation: Categorisation
) -> tuple[ProfileCategorised, ReelsCategorised]:
    """The creator's categories and their reels' and posts', committed with the ProfileIngested they
    come from; each ingestion categorises anew, and the later events replace the earlier."""
    content = ReelsCategorised(
        username=ingested.username, classifier=categorisation.classifier, reels=categorisation.content
    )
    return categorisation.profile, content


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


@dataclass(frozen=True)
class MediaItem:
    """An image a fetch names: a creator's profile image (owner: the username) or a reel's thumbnail
    (owner: its content_id)."""

    username: str
    kind: MediaKind
    owner: str
    url: str


def media_wanted(event: ProfileIngested | ContentFetched) -> list[MediaItem]:
    """The images of a profile fetched by an ingestion or by an analysis, once each."""
    profile = event.profile
    items: dict[tuple[str, str], MediaItem] = {}
    if profile is not None and profile.profile_image_url:
        items[("profile_image", profile.username)] = MediaItem(
            profile.username, "profile_image", profile.username, profile.profile_image_url
        )
    for reel in event.reels:
        if reel.thumbnail_url:
            item = MediaItem(event.username, "reel_thumbnail", reel.content_id, reel.thumbnail_url)
            items.setdefault((item.kind, item.owner), item)
    return [item for item in items.values() if len(item.url) <= MAX_SOURCE_URL]


def media_to_fetch(wanted: list[MediaItem], handled: dict[tuple[str, str], str]) -> list[MediaItem]:
    """`handled` maps (kind, owner) to the source URL last copied or refused: the same URL again (a
    redelivery, a profile fetched again whose image did not move) is not fetched again."""
    return [item for item in wanted if handled.get((item.kind, item.owner)) != item.url]


def media_stored(item: MediaItem, key: str, content_type: str, size: int, sha256: str) -> MediaStored:
    return MediaStored(
        username=item.username,
        kind=item.kind,
        owner=item.owner,
        source_url=item.url,
        key=key,
        content_type=content_type,
        bytes=size,
        sha256=sha256,
    )

"""Every event type of the product. Names are past tense; payloads are the contract in contracts/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from libs.blobs.keys import KEY_PATTERN
from libs.categories import MAX_KEYWORDS, CategoryName, ContentStyle
from libs.events.upcasting import Upcaster, UpcastStep, check_chains
from libs.usernames import USERNAME_PATTERN

Priority = Literal["HIGH", "MEDIUM", "LOW"]
# AMQP message priority per queue priority; the profile work queue is declared with x-max-priority 10.
MESSAGE_PRIORITY: dict[str, int] = {"HIGH": 9, "MEDIUM": 5, "LOW": 1}

Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]
# A user is the identity provider's `sub` claim, as services/gateway/identity.py accepts it.
UserId = Annotated[str, Field(min_length=1, max_length=255)]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    # The version producers write. Raising it needs an upcaster from the previous one (`upcaster`) and
    # the previous JSON Schema kept in contracts/events (`make contracts` keeps it).
    schema_version: ClassVar[int] = 1


REGISTRY: dict[str, type[Event]] = {}
UPCASTERS: list[UpcastStep] = []


def event(cls: type[Event]) -> type[Event]:
    cls.event_type = cls.__name__
    REGISTRY[cls.__name__] = cls
    return cls


def upcaster(event_cls: type[Event], from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Declares the decorated function the step of event_cls's chain from `from_version` to the next."""

    def declare(step: Upcaster) -> Upcaster:
        UPCASTERS.append(UpcastStep(event_cls.event_type, from_version, step))
        return step

    return declare


def profile_stream(username: str) -> str:
    return f"profile-{username}"


def analysis_stream(queue_id: str) -> str:
    return f"analysis-{queue_id}"


def crawl_stream(run_id: str) -> str:
    return f"crawl-{run_id}"


def media_stream(username: str) -> str:
    return f"media-{username}"


# Profiles: stream profile-<username>


@event
class ProfileRequested(Event):
    username: Username
    source: str = Field(pattern=r"^[a-z0-9_]{1,20}$")
    priority: Priority
    request_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    crawl_run_id: str | None = None


@event
class ProfileRequestPromoted(Event):
    """A queued LOW request raised to HIGH by a user asking for the same profile."""

    username: Username
    request_id: str
    priority: Priority


@event
class ProfileIngestStarted(Event):
    username: Username
    request_id: str
    attempt: int = Field(ge=1)


class ProfileSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    username: str
    profile_name: str | None = None
    bio: str | None = None
    followers: int = 0
    following: int = 0
    posts_count: int = 0
    is_verified: bool = False
    is_private: bool = False
    account_type: str | None = None
    profile_image_url: str | None = None
    total_reels: int = 0
    median_views: float = 0
    mean_views: float = 0
    std_views: float = 0
    total_views: int = 0
    total_likes: int = 0
    total_comments: int = 0
    engagement_rate: float = 0


class ReelSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    content_id: str
    shortcode: str
    url: str
    description: str | None = None
    view_count: int | None = None
    like_count: int = 0
    comment_count: int = 0
    outlier_score: float = 0
    engagement_rate: float = 0
    date_posted: datetime | None = None
    thumbnail_url: str | None = None
    transcript: str | None = None


class SimilarAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    username: str
    full_name: str | None = None
    followers: int | None = None
    is_private: bool | None = None
    is_verified: bool | None = None
    profile_image_url: str | None = None


class PostSnapshot(BaseModel):
    """An image or carousel post: no views, so its outlier score is likes over the creator's median
    likes of posts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    content_id: str
    shortcode: str
    url: str
    post_type: Literal["image", "carousel"]
    carousel_count: int = Field(default=1, ge=1)
    description: str | None = None
    like_count: int = 0
    comment_count: int = 0
    outlier_score: float = 0
    date_posted: datetime | None = None
    thumbnail_url: str | None = None


@event
class ProfileIngested(Event):
    username: Username
    request_id: str
    attempts: int = Field(ge=1)
    duration_ms: int = Field(ge=0)
    profile: ProfileSnapshot
    reels: list[ReelSnapshot] = Field(default_factory=list, max_length=200)
    similar: list[SimilarAccount] = Field(default_factory=list, max_length=200)
    # Added with the discovery feed; events written before it have none.
    posts: list[PostSnapshot] = Field(default_factory=list, max_length=200)


Keyword = Annotated[str, Field(min_length=1, max_length=40)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]


@event
class ProfileCategorised(Event):
    """A creator filed under the taxonomy (libs/categories.py). A later one replaces it."""

    username: Username
    primary_category: CategoryName
    secondary_category: CategoryName | None = None
    tertiary_category: CategoryName | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    language: LanguageCode | None = None
    account_type: str | None = Field(default=None, max_length=40)
    # Which classifier decided (the local engine's version, or the language model's).
    classifier: str = Field(min_length=1, max_length=100)


class ReelCategories(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    content_id: str
    category: CategoryName
    keywords: list[Keyword] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    language: LanguageCode | None = None
    content_style: ContentStyle
    hook_type: str | None = Field(default=None, max_length=40)


@event
class ReelsCategorised(Event):
    """A creator's reels and posts filed under the taxonomy; a later one replaces what it names."""

    username: Username
    classifier: str = Field(min_length=1, max_length=100)
    reels: list[ReelCategories] = Field(default_factory=list, max_length=400)


@event
class ProfileIngestFailed(Event):
    username: Username
    request_id: str
    attempts: int = Field(ge=1)
    will_retry: bool
    reason: str = Field(max_length=2000)
    error_code: str = Field(max_length=100)


# The competitor picker's similar accounts of one username, fetched on demand: stream similar-<username>.
# A request is answered by exactly one of Fetched or FetchFailed; the gateway appends a new request only
# when none is pending.


def similar_stream(username: str) -> str:
    return f"similar-{username}"


@event
class SimilarAccountsRequested(Event):
    """The picker asks for a username's similar accounts (GET /api/profile/{username}/similar-fast)."""

    username: Username
    request_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    # On profile-ingest's priority work queue (AMQP priority from it); the picker asks HIGH.
    priority: Priority


@event
class SimilarAccountsFetched(Event):
    username: Username
    request_id: str
    duration_ms: int = Field(ge=0)
    accounts: list[SimilarAccount] = Field(default_factory=list, max_length=200)


@event
class SimilarAccountsFetchFailed(Event):
    """No retry: a person is waiting, and their next call asks again (a gone account is remembered)."""

    username: Username
    request_id: str
    reason: str = Field(max_length=2000)
    error_code: str = Field(max_length=100)


# Media copies: stream media-<username>. The provider's image URLs expire; profile-ingest keeps a copy.

MediaKind = Literal["profile_image", "reel_thumbnail"]


@event
class MediaStored(Event):
    """A creator's profile image or a reel's thumbnail copied into the media store under a key made of
    its bytes' SHA-256 (libs/blobs/keys.py): the read model serves the copy instead of the provider URL.
    A later one for the same (kind, owner) replaces it; the same bytes fetched again emit none."""

    username: Username
    kind: MediaKind
    # The username for a profile image, the reel's content_id for a thumbnail.
    owner: str = Field(min_length=1, max_length=100)
    source_url: str = Field(min_length=1, max_length=2048)
    key: str = Field(pattern=KEY_PATTERN)
    content_type: str = Field(pattern=r"^image/(jpeg|png|webp|gif)$")
    bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


# Viral ideas analysis: stream analysis-<queue_id>


class ContentStrategy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    contentType: str = Field(max_length=500)
    targetAudience: str = Field(max_length=500)
    goals: str = Field(max_length=500)
    additionalNotes: str | None = Field(default=None, max_length=500)


SelectionMethod = Literal["manual", "suggested"]


class Competitor(BaseModel):
    """A competitor of an analysis and how the creator chose it: typed in ("manual") or taken from the
    competitor picker ("suggested")."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    username: str
    selection_method: SelectionMethod


def _typed_in(competitors: Any) -> Any:
    """Version 1 named competitors by username alone, and every one of them was typed in. Anything
    else is left as it is, for the model to refuse (an upcaster never raises)."""
    if not isinstance(competitors, list):
        return competitors
    return [{"username": c, "selection_method": "manual"} if isinstance(c, str) else c for c in competitors]


@event
class AnalysisRequested(Event):
    # 2: competitors carry their selection_method.
    schema_version: ClassVar[int] = 2

    queue_id: str
    session_id: str = Field(min_length=1, max_length=255)
    primary_username: Username
    competitors: list[Competitor] = Field(default_factory=list, max_length=15)
    content_strategy: ContentStrategy
    analysis_settings: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(ge=1, le=10)
    auto_rerun_enabled: bool = True
    rerun_frequency_hours: int = Field(ge=1, le=168)
    # The `sub` of the token that created the job: its owner. None: an anonymous job (or an old event).
    user_id: UserId | None = None


@upcaster(AnalysisRequested, from_version=1)
def _requested_competitors_chosen(payload: dict[str, Any]) -> dict[str, Any]:
    if "competitors" not in payload:
        return payload
    return {**payload, "competitors": _typed_in(payload["competitors"])}


@event
class AnalysisTriggered(Event):
    queue_id: str
    # manual: an administrator's /process; rerun: the owner's /rerun.
    trigger: Literal["start", "manual", "rerun", "process_pending", "schedule", "lease_expired"]
    run: int = Field(ge=1)
    user_id: UserId | None = None  # the user who asked (None: an administrator or the system)


@event
class AnalysisCancelled(Event):
    queue_id: str
    reason: str = Field(default="cancelled by user", max_length=500)
    user_id: UserId | None = None


@event
class AnalysisUpdated(Event):
    """The owner changed what the next run uses; only the fields given change (None: unchanged)."""

    # 2: competitors carry their selection_method, as in AnalysisRequested.
    schema_version: ClassVar[int] = 2

    queue_id: str
    user_id: UserId | None = None
    competitors: list[Competitor] | None = Field(default=None, max_length=15)
    content_strategy: ContentStrategy | None = None
    auto_rerun_enabled: bool | None = None
    rerun_frequency_hours: int | None = Field(default=None, ge=1, le=168)


@upcaster(AnalysisUpdated, from_version=1)
def _updated_competitors_chosen(payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("competitors") is None:
        return payload
    return {**payload, "competitors": _typed_in(payload["competitors"])}


@event
class AnalysisStarted(Event):
    queue_id: str
    run: int = Field(ge=1)
    worker: str
    lease_expires_at: datetime


@event
class ProgressUpdated(Event):
    queue_id: str
    run: int = Field(ge=1)
    step: str
    progress: int = Field(ge=0, le=100)
    message: str | None = None


@event
class CompetitorStatusChanged(Event):
    queue_id: str
    run: int = Field(ge=1)
    username: str
    status: Literal["pending", "processing", "completed", "failed"]
    error_message: str | None = None


@event
class ContentFetched(Event):
    queue_id: str
    run: int = Field(ge=1)
    username: str
    profile_type: Literal["primary", "competitor"]
    profile: ProfileSnapshot | None = None
    reels: list[ReelSnapshot] = Field(default_factory=list, max_length=200)


class AnalyzedReel(ReelSnapshot):
    """A reel the analysis read, with whose it is."""

    username: str
    reel_type: Literal["primary", "competitor"]


class AnalysisResult(BaseModel):
    """What one run produced: its numbers, the reels it read, and the engine's answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    analysis_type: Literal["initial", "manual_rerun", "recurring"]
    workflow_version: str
    started_at: datetime
    completed_at: datetime
    processing_time_seconds: float = Field(ge=0)
    primary_reels_count: int = Field(ge=0)
    competitor_reels_count: int = Field(ge=0)
    transcripts_fetched: int = Field(ge=0)
    competitors_analyzed: list[str] = Field(default_factory=list)
    analyzed_reels: list[AnalyzedReel] = Field(default_factory=list)
    # The engine's answer (libs.analysis AnalysisData), already validated by the engine that gave it.
    analysis_data: dict[str, Any]


@event
class AnalysisCompleted(Event):
    queue_id: str
    run: int = Field(ge=1)
    result: AnalysisResult
    next_scheduled_run: datetime | None = None


@event
class AnalysisFailed(Event):
    queue_id: str
    run: int = Field(ge=1)
    error_message: str = Field(max_length=2000)
    will_retry: bool = False


# Crawler: stream crawl-<run_id>. A run goes pending -> running -> completed|failed; a provider outage
# pauses it (CrawlPaused) and the next claim resumes it (CrawlStarted with resumed=true).

CrawlOutcome = Literal["queued", "skipped_duplicate", "skipped_low_quality"]


@event
class CrawlRequested(Event):
    """A crawl run asked for by an admin (gateway) or by the crawler's own schedule."""

    run_id: str
    # Empty: the crawler picks seeds itself from the profiles already ingested.
    seed_usernames: list[Username] = Field(default_factory=list, max_length=50)
    target_profiles: int = Field(ge=1, le=1000)
    max_rounds: int = Field(ge=1, le=20)
    # How many new profiles one seed's similar accounts may contribute.
    per_seed_limit: int = Field(ge=1, le=80)
    min_followers: int = Field(ge=0)
    exclude_private: bool = True
    trigger: Literal["admin", "schedule"] = "admin"


@event
class CrawlStarted(Event):
    """A crawler worker took the run on: first start, resumption after a pause, or after a dead worker."""

    run_id: str
    seeds: list[str] = Field(default_factory=list)
    automatic_seeds: bool = False
    resumed: bool = False
    worker: str | None = None


@event
class CrawlPaused(Event):
    """The provider is unavailable: the run waits and is resumed at resume_at, keeping its progress."""

    run_id: str
    reason: str = Field(max_length=2000)
    resume_at: datetime
    pauses: int = Field(ge=1)


@event
class ProfileDiscovered(Event):
    run_id: str
    username: str
    seed: str
    round: int = Field(ge=1)
    outcome: CrawlOutcome
    reason: str | None = None
    # Set when outcome is "queued": the ProfileRequested appended to profile-<username>.
    request_id: str | None = None
    followers: int | None = None


@event
class CrawlRoundCompleted(Event):
    run_id: str
    round: int = Field(ge=1)
    seed: str
    discovered: int = Field(ge=0)
    queued: int = Field(ge=0)
    skipped_duplicates: int = Field(default=0, ge=0)
    skipped_low_quality: int = Field(default=0, ge=0)


@event
class CrawlCompleted(Event):
    """The run's end. discovered = queued + skipped_duplicates + skipped_low_quality."""

    run_id: str
    status: Literal["completed", "failed"]
    rounds_completed: int = Field(ge=0)
    queued: int = Field(ge=0)
    reason: str | None = None
    discovered: int = Field(default=0, ge=0)
    skipped_duplicates: int = Field(default=0, ge=0)
    skipped_low_quality: int = Field(default=0, ge=0)


# Watchlists, alerts and webhooks (issue 15). A user's watchlist is stream watchlist-<user_id>; what
# the alerts service finds for them, alerts-<user_id>; their webhook endpoints, webhooks-<user_id>; one
# endpoint's deliveries, webhook-<endpoint_id>. Signing secrets never travel in events: each endpoint's
# is derived from WEBHOOK_SIGNING_KEY and its id (services/alerts/signing.py).


def watchlist_stream(user_id: str) -> str:
    return f"watchlist-{user_id}"


def alerts_stream(user_id: str) -> str:
    return f"alerts-{user_id}"


def webhooks_stream(user_id: str) -> str:
    return f"webhooks-{user_id}"


def webhook_stream(endpoint_id: str) -> str:
    return f"webhook-{endpoint_id}"


OutlierScore = Annotated[float, Field(ge=1.0, le=1000.0)]


@event
class WatchStarted(Event):
    """A user watches a creator, or changes the thresholds of a creator they watch."""

    # 2: min_niche_score.
    schema_version: ClassVar[int] = 2

    user_id: UserId
    username: Username
    min_outlier_score: OutlierScore = 3.0
    # Also at least this many times the niche's median views (its category's reels that month); None:
    # the creator's baseline alone decides.
    min_niche_score: OutlierScore | None = None
    # Reels posted from then on are alerted: what was an outlier long before the watch began is not news.
    alert_from: datetime


@upcaster(WatchStarted, from_version=1)
def _watch_without_niche(payload: dict[str, Any]) -> dict[str, Any]:
    return {"min_niche_score": None, **payload}


@event
class WatchStopped(Event):
    user_id: UserId
    username: Username


@event
class OutlierDetected(Event):
    """A watched creator's reel at or above the watcher's threshold, found in the ingestion
    `ingestion_event_id` (new, or grown since the last one). Once per user, reel and thresholds."""

    # 2: the niche's score and threshold, and the reel's category.
    schema_version: ClassVar[int] = 2

    user_id: UserId
    username: Username
    content_id: str = Field(min_length=1, max_length=64)
    shortcode: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    view_count: int = Field(ge=0)
    outlier_score: float = Field(ge=0)
    threshold: OutlierScore
    median_views: float | None = None  # the creator's, that the score is over
    date_posted: datetime | None = None
    description: str | None = Field(default=None, max_length=2200)
    ingestion_event_id: str
    # Set when the watch has a min_niche_score: the reel's views over its niche's median views.
    min_niche_score: OutlierScore | None = None
    niche_outlier_score: float | None = Field(default=None, ge=0)
    category: CategoryName | None = None


@upcaster(OutlierDetected, from_version=1)
def _alert_without_niche(payload: dict[str, Any]) -> dict[str, Any]:
    return {"min_niche_score": None, "niche_outlier_score": None, "category": None, **payload}


@event
class WebhookRegistered(Event):
    user_id: UserId
    endpoint_id: str
    url: str = Field(max_length=2048)
    description: str = Field(default="", max_length=200)


@event
class WebhookRemoved(Event):
    user_id: UserId
    endpoint_id: str


DeliveryState = Literal["delivered", "retrying", "gave_up"]


@event
class WebhookDeliveryAttempted(Event):
    """One attempt to deliver an alert to an endpoint, and what came of it: `retrying` at
    next_attempt_at, `gave_up` after a day of failures (the endpoint is failing until one succeeds)."""

    user_id: UserId
    endpoint_id: str
    delivery_id: str
    alert_event_id: str
    attempt: int = Field(ge=1)
    state: DeliveryState
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: float = Field(ge=0)
    next_attempt_at: datetime | None = None


@event
class WebhookRedeliveryRequested(Event):
    """The owner asks for a delivery to be sent again (a new attempt, now)."""

    user_id: UserId
    endpoint_id: str
    delivery_id: str


# Checked as the catalogue is imported: a process whose chains have a gap or a duplicate does not start.
CHAINS = check_chains({name: cls.schema_version for name, cls in REGISTRY.items()}, UPCASTERS)

"""profile-ingest's decisions, without the provider or the database."""

from datetime import UTC, datetime

import pytest

from libs.analysis import LOCAL_CLASSIFIER, ContentText, CreatorText, categorise
from libs.events.catalog import (
    ProfileCategorised,
    ProfileIngested,
    ProfileIngestFailed,
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
    ProviderUnavailable,
)
from libs.instagram.models import Post, Profile, Reel, SimilarAccount
from services.profile_ingest.domain import (
    categorised,
    classifier_input,
    failed_attempt,
    ingested,
    judge,
    next_attempt,
    started,
    still_to_do,
)

REQUEST = ProfileRequested(username="maya", source="frontend", priority="HIGH", request_id="0000000a")
PROMOTION = ProfileRequestPromoted(username="maya", request_id="0000000a", priority="HIGH")
POSTED = datetime(2026, 1, 1, tzinfo=UTC)


def reel(pk: str, views: int | None) -> Reel:
    return Reel(pk=pk, shortcode=f"s{pk}", url=f"https://x/{pk}", view_count=views, taken_at=POSTED)


@pytest.mark.parametrize("status", [None, "pending", "processing"])
def test_a_new_pending_or_interrupted_request_is_still_to_do(status: str | None) -> None:
    assert still_to_do(status)


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_a_finished_request_is_not_fetched_again(status: str) -> None:
    assert not still_to_do(status)


def test_the_first_attempt_is_one_and_each_retry_counts_on() -> None:
    assert next_attempt(0) == 1
    assert next_attempt(2) == 3


def test_a_promotion_starts_the_same_request_as_its_original() -> None:
    assert started(PROMOTION, 2) == started(REQUEST, 2)
    event = started(REQUEST, 2)
    assert (event.username, event.request_id, event.attempt) == ("maya", "0000000a", 2)


def test_an_ingested_profile_carries_its_statistics_scored_reels_and_similar_accounts() -> None:
    profile = Profile(username="maya", full_name="Maya", biography="", followers=1200)
    reels = [reel("1", 100), reel("2", 300), reel("3", 200)]
    similar = [SimilarAccount(username="amy", full_name="", followers=50)]
    event = ingested(REQUEST, 1, 42, profile, reels, similar)
    assert (event.username, event.request_id, event.attempts, event.duration_ms) == (
        "maya",
        "0000000a",
        1,
        42,
    )
    assert event.profile.username == "maya" and event.profile.profile_name == "Maya"
    assert event.profile.bio is None  # an empty biography is no bio
    assert event.profile.total_reels == 3 and event.profile.median_views == 200
    assert [(r.content_id, r.outlier_score) for r in event.reels] == [("1", 0.5), ("2", 1.5), ("3", 1.0)]
    assert [(a.username, a.full_name, a.followers) for a in event.similar] == [("amy", None, 50)]


def test_a_profile_without_reels_is_ingested_with_empty_statistics() -> None:
    event = ingested(REQUEST, 1, 0, Profile(username="maya"), [], [])
    assert event.reels == [] and event.similar == [] and event.profile.total_reels == 0


@pytest.mark.parametrize(
    ("exc", "error_code", "transient"),
    [
        (AccountPrivate("maya"), "ACCOUNT_PRIVATE", False),
        (AccountNotFound("maya"), "ACCOUNT_NOT_FOUND", False),
        (ProviderRateLimited("scraper", 3), "PROVIDER_RATE_LIMITED", True),
        (ProviderRejected("scraper", 403, "forbidden"), "PROVIDER_REJECTED", False),
        (ProviderBadResponse("no JSON"), "PROVIDER_BAD_RESPONSE", True),
        (ProviderUnavailable("scraper", 3, 503, "unavailable"), "PROVIDER_UNAVAILABLE", True),
        (ProviderError("something else"), "PROVIDER_UNAVAILABLE", False),
        (KeyError("pk"), "INTERNAL_ERROR", True),
    ],
)
def test_failures_are_judged_by_kind(exc: BaseException, error_code: str, transient: bool) -> None:
    failure = judge(exc)
    assert (failure.error_code, failure.transient) == (error_code, transient)


def test_failure_reasons_are_readable_and_hide_internal_details() -> None:
    assert judge(AccountPrivate("maya")).reason == "Instagram account 'maya' is private"
    assert judge(ProviderBadResponse("no JSON")).reason == "The provider sent an unreadable answer: no JSON"
    assert judge(KeyError("secret")).reason == "Ingestion failed unexpectedly (KeyError)"


def test_a_transient_failure_below_the_maximum_is_tried_again_and_the_request_waits() -> None:
    failed = failed_attempt(REQUEST, 1, ProviderUnavailable("scraper", 3, 503, "x"), max_attempts=3)
    assert failed.will_retry and failed.request_status == "pending" and not failed.unexpected
    assert failed.event == ProfileIngestFailed(
        username="maya",
        request_id="0000000a",
        attempts=1,
        will_retry=True,
        reason=failed.failure.reason,
        error_code="PROVIDER_UNAVAILABLE",
    )


def test_a_transient_failure_at_the_maximum_gives_the_request_up() -> None:
    failed = failed_attempt(REQUEST, 3, ProviderUnavailable("scraper", 3, 503, "x"), max_attempts=3)
    assert not failed.will_retry and failed.request_status == "failed"
    assert (failed.event.attempts, failed.event.will_retry) == (3, False)


def test_a_private_account_fails_at_once_whatever_attempts_are_left() -> None:
    failed = failed_attempt(PROMOTION, 1, AccountPrivate("maya"), max_attempts=10)
    assert not failed.will_retry and failed.request_status == "failed"
    assert failed.event.error_code == "ACCOUNT_PRIVATE"


def test_an_unexpected_error_is_marked_so_and_retried() -> None:
    failed = failed_attempt(REQUEST, 1, RuntimeError("bug"), max_attempts=2)
    assert failed.unexpected and failed.will_retry


def post(pk: str, likes: int, caption: str = "") -> Post:
    return Post(
        pk=pk, shortcode=f"p{pk}", url=f"https://x/p/{pk}", post_type="carousel", carousel_count=3,
        caption=caption, like_count=likes, taken_at=POSTED,
    )  # fmt: skip


def test_an_ingested_profile_carries_its_posts_scored_against_their_median_likes() -> None:
    event = ingested(REQUEST, 1, 0, Profile(username="maya"), [], [], [post("7", 10), post("8", 30)])
    assert [(p.content_id, p.post_type, p.carousel_count) for p in event.posts] == [
        ("7", "carousel", 3),
        ("8", "carousel", 3),
    ]
    assert event.posts[1].outlier_score > event.posts[0].outlier_score


def fetched_fitness_profile() -> ProfileIngested:
    profile = Profile(
        username="maya", full_name="Maya | Fitness coach", biography="Home workouts for busy moms",
        account_type="business",
    )  # fmt: skip
    reels = [
        reel("1", 100).model_copy(update={"caption": "How to squat deeper #fitness #gym"}),
        reel("2", 300).model_copy(update={"caption": "3 protein tips #workout"}),
        reel("3", 200),
    ]
    return ingested(REQUEST, 1, 0, profile, reels, [], [post("9", 40, "My gym bag #fitness #ootd")])


def test_the_classifier_reads_the_creators_name_bio_and_every_reels_and_posts_text() -> None:
    event = fetched_fitness_profile()
    event = event.model_copy(update={"reels": [event.reels[0].model_copy(update={"transcript": "Hi"})]})
    creator, content = classifier_input(event)
    assert creator == CreatorText("maya", "Maya | Fitness coach", "Home workouts for busy moms", "business")
    assert content == [
        ContentText("1", "How to squat deeper #fitness #gym", "Hi"),
        ContentText("9", "My gym bag #fitness #ootd", None),
    ]


def test_a_profile_without_a_bio_or_reels_is_read_as_just_its_name() -> None:
    creator, content = classifier_input(ingested(REQUEST, 1, 0, Profile(username="maya"), [], []))
    assert creator == CreatorText("maya", None, None, "personal") and content == []


def test_categorising_an_ingested_profile_names_the_creator_and_every_reel_and_post() -> None:
    event = fetched_fitness_profile()
    profile, content = categorised(event, categorise(*classifier_input(event)))
    assert isinstance(profile, ProfileCategorised) and isinstance(content, ReelsCategorised)
    assert (profile.username, profile.primary_category, profile.language) == ("maya", "fitness", "en")
    assert (profile.account_type, profile.classifier) == ("business", LOCAL_CLASSIFIER)
    assert (content.username, content.classifier) == ("maya", LOCAL_CLASSIFIER)
    assert [(r.content_id, r.category) for r in content.reels] == [
        ("1", "fitness"),
        ("2", "fitness"),
        ("3", "fitness"),  # no caption: its creator's category
        ("9", "fitness"),
    ]
    assert [r.content_style for r in content.reels] == ["tutorial", "list", "other", "other"]
    assert [r.hook_type for r in content.reels] == ["how_to", "number_list", None, "story"]


def test_categorising_the_same_ingestion_again_gives_the_same_events() -> None:
    event = fetched_fitness_profile()
    assert categorised(event, categorise(*classifier_input(event))) == categorised(
        event, categorise(*classifier_input(event))
    )


def test_an_empty_profile_is_categorised_other_with_no_content() -> None:
    event = ingested(REQUEST, 1, 0, Profile(username="maya"), [], [])
    profile, content = categorised(event, categorise(*classifier_input(event)))
    assert (profile.primary_category, profile.keywords, profile.language) == ("other", [], None)
    assert content.reels == []

"""The crawler's decisions, free of I/O: is an account new, is it good enough, what a run does next."""

import uuid
from datetime import timedelta

import pytest

from libs.instagram.errors import (
    AccountNotFound,
    AccountPrivate,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from services.crawler.domain import (
    Run,
    RunConfig,
    RunProgress,
    crawl_completed,
    duplicate_reason,
    error_failure,
    finish_reason,
    guess_niche,
    is_provider_outage,
    needs_profile_lookup,
    next_given_seed,
    out_of_seeds,
    outage_failure,
    pause_delay,
    quality_reason,
    round_completed,
    round_should_stop,
)


def config(**overrides: object) -> RunConfig:
    options: dict[str, object] = {
        "target_profiles": 10,
        "max_rounds": 3,
        "per_seed_limit": 4,
        "min_followers": 1000,
        "exclude_private": True,
        **overrides,
    }
    return RunConfig(**options)  # type: ignore[arg-type]


def test_counting_an_outcome_adds_a_discovery_and_its_own_counter() -> None:
    progress = RunProgress()
    for outcome in ("queued", "queued", "skipped_duplicate", "skipped_low_quality"):
        progress.count(outcome)
    assert (progress.discovered, progress.queued) == (4, 2)
    assert (progress.skipped_duplicates, progress.skipped_low_quality) == (1, 1)
    assert progress.discovered == progress.queued + progress.skipped_duplicates + progress.skipped_low_quality


def test_a_run_is_named_by_its_run_id_as_text() -> None:
    run_id = uuid.uuid4()
    run = Run(run_id, "running", "manual", config(), RunProgress(), uuid.uuid4(), None, 0, 0)
    assert run.id == str(run_id)


def test_a_profile_never_asked_for_may_be_queued() -> None:
    assert duplicate_reason("none", queued_by_earlier_run=False, is_seed=False) is None


def test_a_profile_whose_ingestion_failed_may_be_queued_again() -> None:
    assert duplicate_reason("failed", queued_by_earlier_run=False, is_seed=False) is None


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_a_profile_in_the_queue_is_a_duplicate(status: str) -> None:
    reason = duplicate_reason(status, queued_by_earlier_run=False, is_seed=False)  # type: ignore[arg-type]
    assert reason == "already_in_queue"


def test_a_processed_profile_is_a_duplicate() -> None:
    assert duplicate_reason("completed", queued_by_earlier_run=True, is_seed=False) == "already_processed"


def test_a_profile_an_earlier_run_queued_is_not_queued_again() -> None:
    reason = duplicate_reason("none", queued_by_earlier_run=True, is_seed=False)
    assert reason == "queued_by_earlier_run"


def test_a_seed_of_the_run_is_never_queued_by_it_whatever_its_stream_says() -> None:
    for status in ("none", "pending", "completed", "failed"):
        reason = duplicate_reason(status, queued_by_earlier_run=True, is_seed=True)
        assert reason == "seed_of_this_run"


def test_a_missing_follower_count_is_looked_up_when_the_run_has_a_minimum() -> None:
    assert needs_profile_lookup(None, False, config(min_followers=1000))
    assert not needs_profile_lookup(None, False, config(min_followers=0))


def test_a_missing_private_flag_is_looked_up_when_the_run_excludes_private_accounts() -> None:
    assert needs_profile_lookup(5000, None, config(exclude_private=True))
    assert not needs_profile_lookup(5000, None, config(exclude_private=False))


def test_an_account_already_known_private_is_not_looked_up() -> None:
    assert not needs_profile_lookup(None, True, config(exclude_private=True, min_followers=1000))


def test_an_account_with_what_the_filters_need_is_not_looked_up() -> None:
    assert not needs_profile_lookup(5000, False, config())


def test_a_private_account_is_low_quality_when_the_run_excludes_them() -> None:
    assert quality_reason(1_000_000, True, config(exclude_private=True)) == "private"
    assert quality_reason(1_000_000, True, config(exclude_private=False)) is None


def test_an_account_under_the_follower_minimum_is_low_quality() -> None:
    assert quality_reason(999, False, config(min_followers=1000)) == "followers 999 < 1000"
    assert quality_reason(None, False, config(min_followers=1000)) == "followers 0 < 1000"


def test_an_account_at_the_minimum_passes_and_no_minimum_passes_anyone() -> None:
    assert quality_reason(1000, False, config(min_followers=1000)) is None
    assert quality_reason(None, None, config(min_followers=0)) is None


def test_a_round_stops_at_the_runs_target() -> None:
    progress = RunProgress(queued=10)
    assert round_should_stop(config(target_profiles=10, per_seed_limit=4), progress, queued_this_round=1)


def test_a_round_stops_at_the_per_seed_limit() -> None:
    progress = RunProgress(queued=4)
    assert round_should_stop(config(target_profiles=10, per_seed_limit=4), progress, queued_this_round=4)
    assert not round_should_stop(config(target_profiles=10, per_seed_limit=4), progress, queued_this_round=3)


def test_a_run_that_reached_its_target_finishes() -> None:
    assert (
        finish_reason(config(target_profiles=5), RunProgress(queued=5, rounds_completed=3))
        == "target_reached"
    )


def test_a_run_that_completed_its_rounds_finishes() -> None:
    assert (
        finish_reason(config(max_rounds=3), RunProgress(queued=2, rounds_completed=3)) == "max_rounds_reached"
    )


def test_a_run_below_its_target_and_rounds_goes_on() -> None:
    assert (
        finish_reason(config(target_profiles=5, max_rounds=3), RunProgress(queued=4, rounds_completed=2))
        is None
    )


def test_the_given_seeds_are_taken_in_order() -> None:
    seeds = config(seed_usernames=("a", "b", "c"))
    assert next_given_seed(seeds, RunProgress()) == "a"
    assert next_given_seed(seeds, RunProgress(seeds_used=["a"])) == "b"


def test_a_seed_already_tried_is_not_picked_again() -> None:
    seeds = config(seed_usernames=("a", "b", "c"))
    assert next_given_seed(seeds, RunProgress(seeds_used=["a"], seeds_skipped=["b"])) == "c"
    assert next_given_seed(seeds, RunProgress(seeds_used=["a", "c"], seeds_skipped=["b"])) is None


def test_a_run_out_of_seeds_after_crawling_some_completes() -> None:
    assert out_of_seeds(RunProgress(seeds_used=["a"], seeds_skipped=["b"])) == ("completed", "no_seeds_left")


def test_a_run_whose_every_seed_was_skipped_fails() -> None:
    status, reason = out_of_seeds(RunProgress(seeds_skipped=["missing"]))
    assert status == "failed" and "could be crawled" in reason


def test_a_run_without_any_seed_fails_and_says_how_to_give_some() -> None:
    status, reason = out_of_seeds(RunProgress())
    assert status == "failed" and "seed_usernames" in reason


def test_an_unavailable_or_rejecting_provider_is_an_outage() -> None:
    assert is_provider_outage(ProviderUnavailable("scraper", 3, 503, "HTTP 503"))
    assert is_provider_outage(ProviderRateLimited("scraper", 3))
    assert is_provider_outage(ProviderRejected("scraper", 403, "not subscribed"))


def test_a_missing_private_or_unreadable_account_is_not_an_outage() -> None:
    assert not is_provider_outage(AccountNotFound("someone"))
    assert not is_provider_outage(AccountPrivate("someone"))
    assert not is_provider_outage(ProviderBadResponse("garbled"))


def test_pauses_back_off_exponentially_up_to_the_maximum() -> None:
    delays = [pause_delay(n, 5.0, 30.0) for n in (1, 2, 3, 4, 5)]
    assert delays == [timedelta(seconds=s) for s in (5, 10, 20, 30, 30)]


def test_a_run_pauses_up_to_the_maximum_then_fails_with_the_reason() -> None:
    assert outage_failure(3, 3, "provider down") is None
    failure = outage_failure(4, 3, "provider down")
    assert failure is not None and "3 pauses" in failure and failure.endswith("provider down")


def test_a_run_fails_at_its_maximum_of_unexpected_errors() -> None:
    assert error_failure(2, 3, "KeyError: 'x'") is None
    assert error_failure(3, 3, "KeyError: 'x'") == "The crawl failed unexpectedly (KeyError: 'x')"


def test_a_completed_round_adds_up_its_discoveries_by_outcome() -> None:
    event = round_completed("r-1", 2, "chef_leo", {"queued": 3, "skipped_duplicate": 2})
    assert (event.run_id, event.round, event.seed) == ("r-1", 2, "chef_leo")
    assert (event.discovered, event.queued, event.skipped_duplicates, event.skipped_low_quality) == (
        5,
        3,
        2,
        0,
    )


def test_the_end_of_a_run_carries_its_counters() -> None:
    progress = RunProgress(
        rounds_completed=2, discovered=7, queued=4, skipped_duplicates=2, skipped_low_quality=1
    )
    event = crawl_completed("r-1", progress, "completed", "target_reached")
    assert (event.status, event.reason, event.rounds_completed) == ("completed", "target_reached", 2)
    assert (event.discovered, event.queued, event.skipped_duplicates, event.skipped_low_quality) == (
        7,
        4,
        2,
        1,
    )


def test_the_niche_comes_from_the_username_name_and_bio() -> None:
    assert guess_niche("fitwithmaya") == "fitness"
    assert guess_niche("maya", "Maya", "Money educator | budget and invest") == "finance"
    assert guess_niche("chef_leo", None, "Home cook | recipes") == "cooking"


def test_the_username_outweighs_the_bio() -> None:
    # One keyword in the handle counts twice: "travel" (2) beats one finance word in the bio (1).
    assert guess_niche("travelwithana", None, "I budget") == "travel"


def test_a_profile_without_any_keyword_is_other() -> None:
    assert guess_niche("someone", "Some One", "hello there") == "other"


def test_a_tie_goes_to_the_family_listed_first() -> None:
    assert guess_niche("x", None, "gym money") == "fitness"

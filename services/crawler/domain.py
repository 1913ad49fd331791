"""What the crawler decides, free of I/O: is a discovered account new, good enough, and what a run does next.

The profile stream is folded by libs.profiles, as for the gateway's request decision (pending and
processing = in queue, completed = processed, failed = may be queued again).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from libs.backoff import exponential
from libs.events.catalog import CrawlCompleted, CrawlRoundCompleted
from libs.instagram.errors import ProviderError, ProviderRejected, ProviderUnavailable
from libs.profiles import Status

Outcome = Literal["queued", "skipped_duplicate", "skipped_low_quality"]
Ending = Literal["completed", "failed"]


@dataclass(frozen=True)
class RunConfig:
    target_profiles: int
    max_rounds: int
    per_seed_limit: int
    min_followers: int
    exclude_private: bool
    seed_usernames: tuple[str, ...] = ()


@dataclass
class RunProgress:
    """The persisted position of a run: enough to resume it after a crash without re-queueing anything."""

    round: int = 0
    round_seed: str | None = None
    rounds_completed: int = 0
    seeds_used: list[str] = field(default_factory=list)
    seeds_skipped: list[str] = field(default_factory=list)
    discovered: int = 0
    queued: int = 0
    skipped_duplicates: int = 0
    skipped_low_quality: int = 0

    def count(self, outcome: Outcome) -> None:
        self.discovered += 1
        if outcome == "queued":
            self.queued += 1
        elif outcome == "skipped_duplicate":
            self.skipped_duplicates += 1
        else:
            self.skipped_low_quality += 1


@dataclass
class Run:
    """A claimed run: what was asked for, how far it got, and the ids its events carry."""

    run_id: uuid.UUID
    status: str
    trigger: str
    config: RunConfig
    progress: RunProgress
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    pauses: int
    errors: int

    @property
    def id(self) -> str:
        return str(self.run_id)


def duplicate_reason(status: Status, *, queued_by_earlier_run: bool, is_seed: bool) -> str | None:
    """Why an account is not new, or None when it may be queued (never asked for, or its ingestion failed)."""
    if is_seed:
        return "seed_of_this_run"
    if status in ("pending", "processing"):
        return "already_in_queue"
    if status == "completed":
        return "already_processed"
    if queued_by_earlier_run:
        return "queued_by_earlier_run"
    return None


def needs_profile_lookup(followers: int | None, is_private: bool | None, config: RunConfig) -> bool:
    """The similar-accounts answer often lacks counts; a cheap profile look-up fills them in."""
    if config.exclude_private and is_private is True:
        return False  # already disqualified
    missing_followers = followers is None and config.min_followers > 0
    missing_private = is_private is None and config.exclude_private
    return missing_followers or missing_private


def quality_reason(followers: int | None, is_private: bool | None, config: RunConfig) -> str | None:
    """Why an account is not worth fetching, or None when it passes the run's filters."""
    if config.exclude_private and is_private:
        return "private"
    if config.min_followers > 0 and (followers or 0) < config.min_followers:
        return f"followers {followers or 0} < {config.min_followers}"
    return None


def round_should_stop(config: RunConfig, progress: RunProgress, queued_this_round: int) -> bool:
    return progress.queued >= config.target_profiles or queued_this_round >= config.per_seed_limit


def finish_reason(config: RunConfig, progress: RunProgress) -> str | None:
    """Why the run is over before starting another round, or None to go on."""
    if progress.queued >= config.target_profiles:
        return "target_reached"
    if progress.rounds_completed >= config.max_rounds:
        return "max_rounds_reached"
    return None


def next_given_seed(config: RunConfig, progress: RunProgress) -> str | None:
    tried = set(progress.seeds_used) | set(progress.seeds_skipped)
    return next((s for s in config.seed_usernames if s not in tried), None)


def out_of_seeds(progress: RunProgress) -> tuple[Ending, str]:
    """How a run ends when no seed is left: done if it crawled any, else failed with the reason."""
    if progress.seeds_used:
        return "completed", "no_seeds_left"
    if progress.seeds_skipped:
        return "failed", "None of the seed profiles could be crawled"
    return "failed", "No seed profiles: give seed_usernames or ingest profiles first"


def is_provider_outage(exc: ProviderError) -> bool:
    """The provider cannot answer now (after the client's own retries): pause the run, do not fail it."""
    return isinstance(exc, ProviderUnavailable | ProviderRejected)


def pause_delay(pauses: int, base_s: float, max_s: float) -> timedelta:
    """Exponential backoff between attempts of a paused run."""
    return timedelta(seconds=exponential(pauses, base_s, max_s))


def outage_failure(pauses: int, max_pauses: int, reason: str) -> str | None:
    """Why a run fails rather than pausing for the `pauses`-th time in a row, or None: it pauses."""
    if pauses > max_pauses:
        return f"The provider stayed unavailable through {max_pauses} pauses: {reason}"
    return None


def error_failure(errors: int, max_errors: int, error: str) -> str | None:
    """Why a run fails at its `errors`-th unexpected error in a row, or None: it is tried again later."""
    if errors >= max_errors:
        return f"The crawl failed unexpectedly ({error})"
    return None


def round_completed(run_id: str, round_: int, seed: str, counts: dict[str, int]) -> CrawlRoundCompleted:
    """A round closed with what its discoveries came to (`counts` by outcome)."""
    return CrawlRoundCompleted(
        run_id=run_id,
        round=round_,
        seed=seed,
        discovered=sum(counts.values()),
        queued=counts.get("queued", 0),
        skipped_duplicates=counts.get("skipped_duplicate", 0),
        skipped_low_quality=counts.get("skipped_low_quality", 0),
    )


def crawl_completed(run_id: str, progress: RunProgress, status: Ending, reason: str) -> CrawlCompleted:
    return CrawlCompleted(
        run_id=run_id,
        status=status,
        rounds_completed=progress.rounds_completed,
        queued=progress.queued,
        reason=reason,
        discovered=progress.discovered,
        skipped_duplicates=progress.skipped_duplicates,
        skipped_low_quality=progress.skipped_low_quality,
    )


# Niche keywords: the most frequent family in a profile's username, name and bio is its niche.
NICHE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "fitness": ("fit", "gym", "workout", "lift", "gains", "strong", "muscle", "fat loss", "protein", "coach"),
    "finance": ("money", "invest", "wealth", "budget", "stocks", "finance", "crypto", "income", "debt"),
    "cooking": ("chef", "kitchen", "recipe", "cook", "bake", "food", "meal"),
    "travel": ("travel", "wander", "nomad", "trip", "passport", "explore", "flight"),
    "tech": ("tech", "code", "gadget", "dev", "byte", "software", "ai ", "programming"),
    "beauty": ("glow", "beauty", "makeup", "skin", "style", "hair", "fashion"),
}


def guess_niche(username: str, full_name: str | None = None, bio: str | None = None) -> str:
    """A simple keyword vote; the username counts twice (creators name themselves after their niche)."""
    votes: Counter[str] = Counter()
    handle = username.lower()
    text = f"{full_name or ''} {bio or ''}".lower()
    for niche, words in NICHE_KEYWORDS.items():
        for word in words:
            votes[niche] += 2 * handle.count(word.strip()) + text.count(word)
    best, score = max(votes.items(), key=lambda kv: kv[1])  # ties: the first family listed
    return best if score > 0 else "other"

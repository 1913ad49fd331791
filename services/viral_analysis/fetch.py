"""What a run reads from Instagram: the primary and competitor profiles in parallel (each announced as
ContentFetched), then transcripts best outlier first, from the cache before the provider."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

import structlog

from libs.events.catalog import CompetitorStatusChanged, ContentFetched, ReelSnapshot
from libs.instagram import AccountNotFound, AccountPrivate, InstagramProvider, ProviderError
from libs.scoring.snapshots import profile_snapshot
from services.viral_analysis import repository
from services.viral_analysis.domain import Fetched, next_transcript_batch, pick_with_transcripts, reels_since
from services.viral_analysis.job_run import JobRun
from services.viral_analysis.settings import AnalysisSettings

log = structlog.get_logger(__name__)


class PrimaryUnavailable(Exception):
    """The creator's own account cannot be analysed; the run fails with this message."""


class ContentFetcher:
    def __init__(self, provider: InstagramProvider, settings: AnalysisSettings) -> None:
        self.provider = provider
        self.settings = settings

    async def profiles(self, run: JobRun) -> tuple[Fetched, dict[str, Fetched]]:
        """Primary and competitors in parallel; a competitor that fails drops out alone. The run's own
        step "fetching competitor content" begins once the primary is in."""
        job = run.job
        since = reels_since(job.trigger, datetime.now(UTC), self.settings.rerun_lookback_days)
        primary_task = asyncio.create_task(self._primary(run))
        competitor_tasks = {
            name: asyncio.create_task(self._competitor(run, name, since)) for name in job.competitors
        }
        try:
            primary = await primary_task
            await run.step("fetching competitor content")
            results = await asyncio.gather(*competitor_tasks.values())
        except BaseException:
            # The run stops here (failed, aborted, lease lost): its fetches must not write on after it.
            for task in competitor_tasks.values():
                task.cancel()
            await asyncio.gather(*competitor_tasks.values(), return_exceptions=True)
            raise
        return primary, {name: got for name, got in zip(competitor_tasks, results, strict=True) if got}

    async def _primary(self, run: JobRun) -> Fetched:
        name = run.job.primary_username
        try:
            return await self._profile(run, name, "primary", None)
        except AccountNotFound:
            raise PrimaryUnavailable(f"Primary account '{name}' was not found on Instagram.") from None
        except AccountPrivate:
            raise PrimaryUnavailable(
                f"Primary account '{name}' is private, so its reels cannot be analysed."
            ) from None

    async def _competitor(self, run: JobRun, name: str, since: datetime | None) -> Fetched | None:
        job = run.job
        await run.emit(
            CompetitorStatusChanged(queue_id=job.queue_id, run=job.run, username=name, status="processing")
        )
        try:
            got = await self._profile(run, name, "competitor", since)
        except ProviderError as exc:
            await run.emit(
                CompetitorStatusChanged(
                    queue_id=job.queue_id,
                    run=job.run,
                    username=name,
                    status="failed",
                    error_message=str(exc)[:500],
                )
            )
            return None
        await run.emit(
            CompetitorStatusChanged(queue_id=job.queue_id, run=job.run, username=name, status="completed")
        )
        return got

    async def _profile(
        self, run: JobRun, name: str, profile_type: Literal["primary", "competitor"], since: datetime | None
    ) -> Fetched:
        profile = await self.provider.get_profile(name)
        if profile.is_private:
            raise AccountPrivate(name)
        reels = await self.provider.get_reels(
            name, limit=self.settings.analysis_reels_per_profile, since=since
        )
        snapshot, scored = profile_snapshot(profile, reels)
        # Fetched content serves every user (the seeds' dual storage): the projector files it too.
        await run.emit(
            ContentFetched(
                queue_id=run.job.queue_id,
                run=run.job.run,
                username=name,
                profile_type=profile_type,
                profile=snapshot,
                reels=scored,
            )
        )
        return snapshot, scored

    async def transcribed(
        self, run: JobRun, primary: list[ReelSnapshot], competitors: dict[str, list[ReelSnapshot]]
    ) -> tuple[list[ReelSnapshot], dict[str, list[ReelSnapshot]]]:
        """Every profile's top reels with their transcripts, all profiles side by side."""
        groups = {"": (primary, self.settings.primary_transcripts)}
        groups.update(
            {name: (reels, self.settings.competitor_transcripts) for name, reels in competitors.items()}
        )
        chosen = await asyncio.gather(
            *(self._transcribed(run, reels, wanted) for reels, wanted in groups.values())
        )
        picked = dict(zip(groups, chosen, strict=True))
        return picked.pop(""), picked

    async def _transcribed(
        self, run: JobRun, candidates: list[ReelSnapshot], wanted: int
    ) -> list[ReelSnapshot]:
        """Fetch transcripts best-first, a batch at a time, until `wanted` reels with speech are found."""
        transcripts: dict[str, str | None] = {}
        tried = 0
        while batch := next_transcript_batch(candidates, transcripts, tried, wanted):
            tried += len(batch)
            transcripts.update(await self._transcripts(run, batch))
        return pick_with_transcripts(candidates, transcripts, wanted)

    async def _transcripts(self, run: JobRun, reels: list[ReelSnapshot]) -> dict[str, str | None]:
        """Stored transcripts in one query; the provider is asked, side by side, only for the rest."""
        known = await repository.stored_transcripts(run.pool, [r.shortcode for r in reels])
        missing = [r for r in reels if r.shortcode not in known]
        fetched = await asyncio.gather(*(self._transcript(run, r) for r in missing))
        return known | {r.shortcode: t for r, t in zip(missing, fetched, strict=True)}

    async def _transcript(self, run: JobRun, reel: ReelSnapshot) -> str | None:
        try:
            text = await self.provider.get_transcript(reel.url)
        except ProviderError as exc:
            log.warning("analysis.transcript_unavailable", shortcode=reel.shortcode, error=str(exc))
            return None  # a missing transcript is not worth failing a run over; the caption stands in
        await repository.store_transcript(run.pool, reel.shortcode, text)
        return text

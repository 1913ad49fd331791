"""viral-analysis: runs analysis jobs (fetch, select, transcribe, analyse, store) and schedules re-runs."""

from __future__ import annotations

import asyncio
from typing import Any

from libs.analysis import engine_from_env
from libs.instagram import InstagramProvider
from libs.runtime import ServiceRuntime, run
from services.viral_analysis.handlers import JobCommands, listen_for_jobs
from services.viral_analysis.runner import AnalysisRunner
from services.viral_analysis.scheduler import RerunScheduler
from services.viral_analysis.settings import AnalysisSettings


def build(
    settings: AnalysisSettings, provider: InstagramProvider | None = None, engine: Any = None
) -> ServiceRuntime:
    runtime = ServiceRuntime("viral-analysis", settings)
    provider = provider or InstagramProvider.from_env()
    engine = engine or engine_from_env()
    wake = asyncio.Event()
    runtime.add_consumer("viral-analysis", JobCommands().handlers())
    runtime.add_background("job-notifications", lambda: listen_for_jobs(settings.database_url, wake))

    def runner(slot: int) -> AnalysisRunner:
        assert runtime.pool is not None
        return AnalysisRunner(
            pool=runtime.pool,
            store=runtime.store,
            provider=provider,
            engine=engine,
            settings=settings,
            wake=wake,
            slot=slot,
        )

    for i in range(settings.analysis_concurrency):
        runtime.add_background(f"analysis-worker-{i}", lambda i=i: runner(i).work())

    async def schedule() -> None:
        assert runtime.pool is not None
        await RerunScheduler(runtime.pool, runtime.store, settings.analysis_scheduler_interval_s, wake).loop()

    runtime.add_background("rerun-scheduler", schedule)
    runtime.on_stop(provider.close)
    runtime.on_stop(engine.close)
    return runtime


async def main() -> None:
    await build(AnalysisSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "viral-analysis", AnalysisSettings().log_level)

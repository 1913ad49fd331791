"""viral-analysis: runs analysis jobs (fetch, select, transcribe, analyse, store) and schedules re-runs."""

from __future__ import annotations

import asyncio

import asyncpg

from libs.analysis import AnalysisEngine, engine_from_env
from libs.instagram import InstagramProvider
from libs.runtime import ServiceRuntime, run
from services.viral_analysis import repository
from services.viral_analysis.handlers import CONSUMER, HANDLERS
from services.viral_analysis.runner import AnalysisRunner
from services.viral_analysis.scheduler import RerunScheduler
from services.viral_analysis.settings import AnalysisSettings


def build(
    settings: AnalysisSettings,
    provider: InstagramProvider | None = None,
    engine: AnalysisEngine | None = None,
) -> ServiceRuntime:
    runtime = ServiceRuntime("viral-analysis", settings)
    provider = provider or InstagramProvider.from_env()
    engine = engine or engine_from_env(limits=settings.llm_limits())
    # Set by committed job changes, a due re-run and a finished run: the runner claims at once.
    wake = asyncio.Event()
    runner = AnalysisRunner(runtime.store, provider, engine, settings, wake)
    scheduler = RerunScheduler(runtime.store, settings.analysis_scheduler_interval_s, wake)

    def pool() -> asyncpg.Pool:
        assert runtime.pool is not None, "background loops start after the runtime's pool"
        return runtime.pool

    # Requested jobs are only recorded by the consumer; the runner drives them under a lease.
    runtime.add_consumer(CONSUMER, HANDLERS)
    runtime.add_background(
        "job-notifications", lambda: repository.listen_for_jobs(settings.database_url, wake)
    )
    runtime.add_background("analysis-runs", lambda: runner.run(pool()))
    runtime.add_background("rerun-scheduler", lambda: scheduler.loop(pool()))
    # The runs in hand are handed back before the provider and the engine close under them.
    runtime.on_stop(runner.stop)
    runtime.on_stop(provider.close)
    runtime.on_stop(engine.close)
    return runtime


async def main() -> None:
    await build(AnalysisSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "viral-analysis", AnalysisSettings().log_level)

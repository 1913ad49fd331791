"""crawler: the seeds' NetworkCrawler. Grows the set of known profiles through "similar accounts" and
queues each new one as a LOW-priority ProfileRequested."""

from __future__ import annotations

import asyncpg

from libs.instagram import InstagramProvider
from libs.runtime import ServiceRuntime, run
from services.crawler.handlers import CONSUMER, HANDLERS
from services.crawler.runs import CrawlRunner
from services.crawler.schedule import CrawlSchedule
from services.crawler.settings import CrawlerSettings


def build(
    settings: CrawlerSettings, provider: InstagramProvider | None = None, worker: str | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime("crawler", settings)

    def pool() -> asyncpg.Pool:
        assert runtime.pool is not None, "background loops start after the runtime's pool"
        return runtime.pool

    runner = CrawlRunner(runtime.store, provider or InstagramProvider.from_env(), settings, pool, worker)
    # Requested runs are only recorded by the consumer; the run loop drives them under a lease.
    runtime.add_consumer(CONSUMER, HANDLERS)
    runtime.add_background("crawl-runs", runner.run)
    if settings.crawler_schedule_interval_s > 0:
        schedule = CrawlSchedule(runtime.store, settings)
        runtime.add_background("crawl-schedule", lambda: schedule.loop(pool()))
    runtime.on_stop(runner.stop)
    return runtime


async def main() -> None:
    await build(CrawlerSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "crawler", CrawlerSettings().log_level)

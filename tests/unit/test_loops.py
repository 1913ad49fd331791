"""libs.runtime.loops.every: ticks on a fixed schedule, so a tick's work does not stretch the period."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from libs.runtime.loops import every


async def tick_gaps(interval_s: float, work_s: list[float], run_s: float) -> list[float]:
    """The gaps between tick starts of `every(interval_s)` run for run_s, tick n working work_s[n]
    (the last value for every later tick)."""
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def tick() -> None:
        starts.append(loop.time())
        await asyncio.sleep(work_s[min(len(starts), len(work_s)) - 1])

    task = asyncio.create_task(every(interval_s, tick, "test"))
    await asyncio.sleep(run_s)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return [b - a for a, b in itertools.pairwise(starts)]


async def test_ticks_start_on_schedule_whatever_their_work_takes() -> None:
    gaps = await tick_gaps(0.3, [0.25], 1.9)
    # Sleeping a whole interval after each tick would make every gap 0.55 s.
    assert len(gaps) >= 4 and sum(gaps) / len(gaps) < 0.42, gaps


async def test_a_tick_longer_than_the_interval_is_followed_at_once_not_by_a_burst() -> None:
    gaps = await tick_gaps(0.2, [0.5, 0.0], 1.0)
    assert gaps[0] >= 0.5 and all(g >= 0.15 for g in gaps[1:]), gaps

"""The LOW lane's gate (services/profile_ingest/lanes.py): closed while HIGH or MEDIUM work is in hand,
and the time LOW requests wait at it is counted. Whether a LOW request ever waits in an end-to-end run
depends on which fetch ends first, so the gate is tested here, on its own."""

import asyncio

from prometheus_client import REGISTRY

from libs.events.catalog import ProfileRequested
from services.profile_ingest.lanes import LOW_LANE, HighFirst, lane_of


def paused_seconds() -> float:
    return REGISTRY.get_sample_value("viralspot_ingest_low_paused_seconds_total") or 0.0


def test_only_low_requests_go_to_the_lane() -> None:
    def lane(priority: str) -> str | None:
        return lane_of(
            ProfileRequested(username="a", source="test", priority=priority, request_id="00000001")
        )

    assert (lane("LOW"), lane("MEDIUM"), lane("HIGH")) == (LOW_LANE, None, None)


async def test_low_waits_until_every_high_request_is_done_and_the_wait_is_counted() -> None:
    gate = HighFirst()
    await asyncio.wait_for(gate.wait_open(), 0.1)  # open: no wait
    before = paused_seconds()
    with gate.working():
        waiting = asyncio.create_task(gate.wait_open())
        with gate.working():
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.02)
        assert not waiting.done(), "LOW started while a HIGH request was still in hand"
    await asyncio.wait_for(waiting, 1.0)
    assert paused_seconds() - before >= 0.04


async def test_high_work_arriving_as_the_gate_opens_keeps_low_waiting() -> None:
    gate = HighFirst()
    with gate.working():
        waiting = asyncio.create_task(gate.wait_open())
        await asyncio.sleep(0)
    # The waiter is woken, but before it runs another HIGH request closes the gate again.
    with gate.working():
        await asyncio.sleep(0.01)
        assert not waiting.done()
    await asyncio.wait_for(waiting, 1.0)

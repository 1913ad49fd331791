"""POST /api/profile/{username}/request and GET .../status through the real gateway, store and projector."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import EventStore, NewEvent
from libs.events.catalog import ProfileIngested, ProfileIngestFailed, ProfileIngestStarted, profile_stream
from tests.support.infra import eventually

ingest = EventStore(producer="profile-ingest")


async def request(api: TestClient, username: str, **params: str) -> tuple[int, dict]:
    resp = await api.post(f"/api/profile/{username}/request", params=params)
    return resp.status, await resp.json()


async def status(api: TestClient, username: str) -> tuple[int, dict]:
    resp = await api.get(f"/api/profile/{username}/status")
    return resp.status, await resp.json()


async def projected(pool: asyncpg.Pool, username: str, status: str = "PENDING") -> bool:
    return (
        await pool.fetchval(
            "SELECT count(*) FROM readmodel.profile_queue WHERE username = $1 AND status = $2",
            username,
            status,
        )
        == 1
    )


async def ingest_events(
    pool: asyncpg.Pool, username: str, request_id: str, *events, at: datetime | None = None
):
    async with pool.acquire() as conn:
        await ingest.append(
            conn,
            profile_stream(username),
            [NewEvent(event=e, occurred_at=at or datetime.now(UTC)) for e in events],
            expected_version=None,
        )


async def test_new_username_is_queued_with_every_documented_field(api: TestClient) -> None:
    code, body = await request(api, "@Fitness.Coach_1")
    assert code == 200 and body["success"] is True
    data = body["data"]
    assert data["queued"] is True and data["profile_type"] == "new" and data["status"] == "pending"
    assert data["priority"] == "HIGH" and data["next_check_recommended"] == "30 seconds"
    assert re.fullmatch(r"[0-9a-f]{8}", data["request_id"])
    assert data["queue_position"] == 1 and data["estimated_time"] == "1-2 minutes"
    assert "fitness.coach_1" in data["message"]


async def test_second_request_is_already_in_queue_with_the_same_request_id(api: TestClient, pool) -> None:
    _, first = await request(api, "alice")
    await eventually(lambda: projected(pool, "alice"))
    code, body = await request(api, "ALICE", source="crawler")
    data = body["data"]
    assert code == 200
    assert data["skip_reason"] == "already_in_queue" and data["profile_type"] == "queued"
    assert data["request_id"] == first["data"]["request_id"] and data["status"] == "pending"
    assert data["queued"] is True and data["queue_position"] == 1


async def test_concurrent_requests_queue_a_username_once(api: TestClient, pool) -> None:
    results = await asyncio.gather(*(request(api, "popular_name") for _ in range(20)))
    types = [body["data"]["profile_type"] for _, body in results]
    assert types.count("new") == 1 and types.count("queued") == 19
    assert len({body["data"]["request_id"] for _, body in results}) == 1
    stream = await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = 'profile-popular_name'"
    )
    assert stream == 1


async def test_queue_position_counts_earlier_high_requests(api: TestClient, pool) -> None:
    positions = []
    for name in ("first_user", "second_user", "third_user"):
        _, body = await request(api, name)
        positions.append(body["data"]["queue_position"])
        await eventually(lambda name=name: projected(pool, name))
    assert positions == [1, 2, 3]
    _, body = await status(api, "third_user")
    assert body["data"]["queue_position"] == 3


async def test_status_follows_the_request_through_ingestion(api: TestClient, pool) -> None:
    code, body = await status(api, "never_asked")
    assert code == 404 and body["error_code"] == "PROFILE_NOT_FOUND" and body["success"] is False
    _, queued = await request(api, "bob")
    rid = queued["data"]["request_id"]
    code, body = await status(api, "bob")  # answered from the stream even before the projection
    assert code == 200 and body["data"]["status"] == "pending" and body["data"]["request_id"] == rid
    await ingest_events(pool, "bob", rid, ProfileIngestStarted(username="bob", request_id=rid, attempt=1))
    await eventually(lambda: projected(pool, "bob", "PROCESSING"))
    _, body = await status(api, "bob")
    assert body["data"]["status"] == "processing" and body["data"]["queue_position"] is None
    assert body["data"]["attempts"] == 1 and body["data"]["started_at"] is not None
    _, again = await request(api, "bob")
    assert again["data"]["status"] == "processing" and again["data"]["skip_reason"] == "already_in_queue"
    await ingest_events(
        pool,
        "bob",
        rid,
        ProfileIngested(
            username="bob", request_id=rid, attempts=1, duration_ms=1200, profile={"username": "bob"}
        ),
    )
    await eventually(lambda: projected(pool, "bob", "COMPLETED"))
    _, body = await status(api, "bob")
    data = body["data"]
    assert data["status"] == "completed" and data["completed"] is True and data["completed_at"] is not None
    assert set(data) == {
        "username",
        "status",
        "completed",
        "priority",
        "request_id",
        "queue_position",
        "attempts",
        "error_message",
        "requested_at",
        "started_at",
        "completed_at",
    }
    _, recent = await request(api, "bob")
    assert recent["data"] == {
        "queued": False,
        "message": "Profile bob was recently processed and is now available",
        "estimated_time": "complete",
        "profile_type": "primary",
        "status": "exists",
        "created_at": recent["data"]["created_at"],
        "last_fetched_at": recent["data"]["last_fetched_at"],
        "skip_reason": "recently_completed",
    }
    assert recent["data"]["last_fetched_at"] >= recent["data"]["created_at"]  # the last fetch, not the first


async def test_completion_older_than_ten_minutes_is_already_processed(api: TestClient, pool) -> None:
    _, queued = await request(api, "carol")
    rid = queued["data"]["request_id"]
    long_ago = datetime.now(UTC) - timedelta(minutes=11)
    await ingest_events(
        pool,
        "carol",
        rid,
        ProfileIngested(
            username="carol", request_id=rid, attempts=1, duration_ms=5, profile={"username": "carol"}
        ),
        at=long_ago,
    )
    _, body = await request(api, "carol")
    assert body["data"]["skip_reason"] == "already_processed" and body["data"]["queued"] is False
    assert body["data"]["created_at"] == long_ago.isoformat()


async def test_failed_profile_is_queued_again_and_status_shows_the_reason(api: TestClient, pool) -> None:
    _, queued = await request(api, "private_dave")
    rid = queued["data"]["request_id"]
    await ingest_events(
        pool,
        "private_dave",
        rid,
        ProfileIngestFailed(
            username="private_dave",
            request_id=rid,
            attempts=1,
            will_retry=False,
            reason="Instagram account 'private_dave' is private",
            error_code="ACCOUNT_PRIVATE",
        ),
    )
    await eventually(lambda: projected(pool, "private_dave", "FAILED"))
    _, body = await status(api, "private_dave")
    assert body["data"]["status"] == "failed" and "private" in body["data"]["error_message"]
    _, again = await request(api, "private_dave")
    assert again["data"]["profile_type"] == "new" and again["data"]["request_id"] != rid


@pytest.mark.parametrize(
    ("path", "code", "error_code"),
    [
        ("/api/profile/has%20space/request", 400, "INVALID_USERNAME"),
        ("/api/profile/" + "a" * 31 + "/request", 400, "INVALID_USERNAME"),
        ("/api/profile/@/request", 400, "INVALID_USERNAME"),
        ("/api/profile/semi;colon/request", 400, "INVALID_USERNAME"),
        ("/api/profile/ok_name/request?source=Bad-Source", 400, "INVALID_SOURCE"),
        ("/api/profile/ok_name/request?source=" + "s" * 21, 400, "INVALID_SOURCE"),
        ("/api/profile/ok_name/request?source=", 400, "INVALID_SOURCE"),
        ("/api/nothing/here", 404, "NOT_FOUND"),
    ],
)
async def test_bad_input_gets_the_documented_4xx(
    api: TestClient, path: str, code: int, error_code: str
) -> None:
    resp = await api.post(path)
    body = await resp.json()
    assert resp.status == code and body["error_code"] == error_code and body["success"] is False
    assert body["timestamp"].endswith("Z") and "Traceback" not in str(body)


async def test_wrong_method_gets_a_json_405(api: TestClient) -> None:
    resp = await api.get("/api/profile/alice/request")
    assert resp.status == 405 and (await resp.json())["error_code"] == "METHOD_NOT_ALLOWED"


async def test_unreachable_event_store_answers_503_and_records_nothing(
    api: TestClient, gateway_runtime
) -> None:
    pool = gateway_runtime.pool
    gateway_runtime.pool = None
    await pool.close()
    resp = await api.post("/api/profile/someone/request")
    body = await resp.json()
    assert resp.status == 503 and body["error_code"] == "SERVICE_UNAVAILABLE"
    assert resp.headers["Retry-After"] == "5"
    assert body.get("data") is None

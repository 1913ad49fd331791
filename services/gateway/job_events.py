"""GET /api/viral-ideas/queue/{session_id}/events: an analysis's progress as Server-Sent Events.

The stream opens with the job as the status endpoint shows it (event `status`), then carries the
analysis events the broker delivers to this process (started, progress, competitor, completed, failed,
cancelled), each with its stream version as the SSE id, and ends after the job finished.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import structlog
from aiohttp import web

from libs.events.catalog import analysis_stream
from services.gateway import keys
from services.gateway.analysis_status import read_job_status
from services.gateway.errors import ApiError
from services.gateway.identity import caller, may_see
from services.gateway.live import CLOSE, HEARTBEAT, LiveEvent, LiveEventListener, LiveHub, Subscriber
from services.gateway.projection_wait import WAITS, ProjectionWaits
from services.gateway.repository import analyses as jobs
from services.gateway.validation import parse_session_id

log = structlog.get_logger(__name__)

HUB = web.AppKey("live_hub", LiveHub)
LISTENER = web.AppKey("live_listener", LiveEventListener)
TERMINAL = ("completed", "failed", "cancelled")
RECONNECT_MS = 3000
LAST_EVENT_ID_RE = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also takes '²'
_SNAPSHOT_ATTEMPTS = 3


def attach(app: web.Application) -> None:
    """The hub lives with the app: started with it, and its streams ended when the server shuts down."""
    settings = app[keys.SETTINGS]
    app[WAITS] = ProjectionWaits()  # the competitor picker's, woken by the same listener
    app[HUB] = LiveHub(
        max_clients=settings.sse_max_clients,
        buffer=settings.sse_client_buffer,
        heartbeat_s=settings.sse_heartbeat_s,
        sweep_s=settings.sse_disconnect_check_s,
    )

    async def start(app: web.Application) -> None:
        app[HUB].start()
        runtime = app[keys.RUNTIME]
        assert runtime.amqp is not None, "the runtime connects to the broker before serving HTTP"
        app[LISTENER] = LiveEventListener(app[HUB], runtime.amqp, runtime.topology, app[WAITS])
        await app[LISTENER].start()

    async def end_streams(app: web.Application) -> None:
        await app[HUB].close()

    async def stop(app: web.Application) -> None:
        if LISTENER in app:
            await app[LISTENER].stop()

    app.on_startup.append(start)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(stop)


def frame(name: str, version: int, data: dict[str, Any]) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (version, name.encode(), orjson.dumps(data))


async def job_events(request: web.Request) -> web.StreamResponse:
    session_id = parse_session_id(request.match_info["session_id"])
    last_seen = _last_event_id(request)
    hub = request.app[HUB]
    if hub.full():
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "Too many live progress streams are open right now.",
            troubleshooting="Retry in a few seconds, or poll GET /api/viral-ideas/queue/{session_id}.",
            headers={"Retry-After": "5"},
        )
    # EventSource sends no headers: the token may come as ?access_token= here (identity.caller).
    who = await caller(request, query_token=True)
    session = await jobs.session_by_id(request.app[keys.POOL], session_id)
    if session is None or not may_see(who, session.owner_id):
        raise ApiError(
            404,
            "QUEUE_NOT_FOUND",
            "Queue entry not found",
            troubleshooting="Verify the session_id the analysis was queued with, and sign in as its owner.",
        )
    queue_id = session.queue_id
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
        }
    )
    # Subscribed before the snapshot is read, so nothing that happens in between is missed.
    subscriber = hub.subscribe(
        str(queue_id), lambda: request.transport is None or request.transport.is_closing()
    )
    try:
        snapshot, sent = await _snapshot(request, str(queue_id), session_id)
        sent = max(sent, last_seen)
        await response.prepare(request)
        await response.write(b"retry: %d\n\n" % RECONNECT_MS + frame("status", sent, snapshot))
        if snapshot["status"] in TERMINAL:
            return response
        async for event in _events(hub, subscriber):
            if event is HEARTBEAT:
                await response.write(b": keepalive\n\n")
            elif event.version > sent:  # else already sent, or a duplicate delivery
                sent = event.version
                await response.write(frame(event.name, event.version, event.data))
                if event.terminal:
                    break
    except ConnectionError:
        if not response.prepared:
            raise
        # the client left while we wrote
    finally:
        hub.unsubscribe(subscriber)
    return response


async def _events(hub: LiveHub, subscriber: Subscriber) -> AsyncIterator[LiveEvent]:
    # What reached this process before the snapshot was projected, then what arrives from now on.
    for event in hub.recent(subscriber.queue_id):
        yield event
    while (event := await subscriber.next()) is not CLOSE:
        yield event


async def _snapshot(request: web.Request, queue_id: str, session_id: str) -> tuple[dict[str, Any], int]:
    """The status endpoint's answer and the stream version it reflects (the projector's checkpoint,
    read on both sides of it until they agree)."""
    pool = request.app[keys.POOL]
    stream = analysis_stream(queue_id)
    data: dict[str, Any] | None = None
    version = 0
    for _ in range(_SNAPSHOT_ATTEMPTS):
        version = await jobs.stream_checkpoint(pool, stream)
        data = await read_job_status(pool, session_id)
        if data is None:
            # Queued a moment ago and not projected yet: every event of the stream is still to come.
            return {"id": queue_id, "session_id": session_id, "status": "pending", "progress_percentage": 0,
                    "current_step": "queued", "competitor_details": []}, 0  # fmt: skip
        if await jobs.stream_checkpoint(pool, stream) == version:
            break
    assert data is not None
    return data, version


def _last_event_id(request: web.Request) -> int:
    """The stream version the client already has (0 for none); an id we never sent is refused."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        return 0
    if not LAST_EVENT_ID_RE.fullmatch(raw):
        raise ApiError(
            400, "INVALID_LAST_EVENT_ID", "Last-Event-ID must be the id of an event: 1-9 decimal digits."
        )
    return int(raw)

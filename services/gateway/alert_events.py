"""GET /api/alerts/events: a user's alerts as Server-Sent Events, as they are found.

Each alert's SSE id is its position in the user's alert stream. A client reconnecting with
Last-Event-ID first gets the alerts it missed (from the read model, at most a page), then the live ones
this process receives; an alert reaching this process before the projector has it is not lost either
(the hub's recent events are replayed after the catch-up, each id sent once)."""

from __future__ import annotations

from aiohttp import web

from libs.events.catalog import alerts_stream
from services.gateway import keys
from services.gateway.boards import owner
from services.gateway.errors import ApiError
from services.gateway.job_events import HUB, RECONNECT_MS, _events, _last_event_id, frame
from services.gateway.repository import alerts as store
from services.gateway.watchlists import alert_data

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}
CATCH_UP = 200  # missed alerts sent on a reconnection, the newest of them


async def alert_events(request: web.Request) -> web.StreamResponse:
    last_seen = _last_event_id(request)
    hub = request.app[HUB]
    if hub.full():
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Too many live streams are open right now.",
                       troubleshooting="Retry in a few seconds, or poll GET /api/alerts.",
                       headers={"Retry-After": "5"})  # fmt: skip
    user = await owner(request, query_token=True)  # EventSource sends no headers: ?access_token= too
    response = web.StreamResponse(headers=SSE_HEADERS)
    # Subscribed before the catch-up is read, so nothing that happens in between is missed.
    subscriber = hub.subscribe(
        alerts_stream(user), lambda: request.transport is None or request.transport.is_closing()
    )
    try:
        async with request.app[keys.POOL].acquire() as conn:
            missed = await store.alerts_after(conn, user, last_seen, CATCH_UP) if last_seen else []
        await response.prepare(request)
        await response.write(b"retry: %d\n\n" % RECONNECT_MS)
        sent = last_seen
        for row in missed:
            sent = row["position"]
            await response.write(frame("alert", sent, alert_data(row)))
        async for event in _events(hub, subscriber):
            if event.name == "heartbeat":
                await response.write(b": keepalive\n\n")
            elif event.version > sent:  # else sent already, or a duplicate delivery
                sent = event.version
                await response.write(frame(event.name, event.version, event.data))
    except ConnectionError:
        if not response.prepared:
            raise
    finally:
        hub.unsubscribe(subscriber)
    return response

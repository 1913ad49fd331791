"""The ceiling for the gateway on this machine: a bare aiohttp app on uvloop answering JSON, no I/O.

Same routes and responses of similar size as the gateway's, so the same wrk script drives both.
Usage: REFERENCE_PORT=8123 [REFERENCE_STATUS_BODY=file.json] python -m bench.reference_app
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import uvloop
from aiohttp import web

routes = web.RouteTableDef()
STATUS_BODY = web.AppKey("status_body", bytes)


@routes.post("/api/profile/{username}/request")
async def request_profile(request: web.Request) -> web.Response:
    data = {
        "queued": True,
        "message": f"Profile {request.match_info['username']} added to high priority processing queue",
        "estimated_time": "1-2 minutes",
        "status": "pending",
        "priority": "HIGH",
        "queue_position": 1,
    }
    return web.Response(body=orjson.dumps({"success": True, "data": data}), content_type="application/json")


@routes.get("/api/viral-ideas/queue/{session_id}")
async def job_status(request: web.Request) -> web.Response:
    return web.Response(body=request.app[STATUS_BODY], content_type="application/json")


@routes.get("/readyz")
async def readyz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


if __name__ == "__main__":
    app = web.Application()
    app.add_routes(routes)
    # The gateway's answer for one job, written by the bench: the status figure sends the same bytes.
    body_file = os.environ.get("REFERENCE_STATUS_BODY")
    app[STATUS_BODY] = Path(body_file).read_bytes() if body_file else b"{}"
    port = int(os.environ["REFERENCE_PORT"])
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        backlog=1024,
        loop=uvloop.new_event_loop(),
    )

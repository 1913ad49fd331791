"""The ceiling for the gateway on this machine: a bare aiohttp app on uvloop answering JSON, no I/O.

Same route and a response of similar size as the gateway's, so the same wrk script drives both.
Usage: REFERENCE_PORT=8123 python -m bench.reference_app
"""

from __future__ import annotations

import os

import orjson
import uvloop
from aiohttp import web

routes = web.RouteTableDef()


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


@routes.get("/readyz")
async def readyz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


if __name__ == "__main__":
    app = web.Application()
    app.add_routes(routes)
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

"""The /__sim/ control API that tests and demos use to change the simulator while it runs."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .codes import parse_username
from .state import SimulatorState

STATE = web.AppKey("simulator_state", SimulatorState)


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/__sim/config", change_config)
    app.router.add_post("/__sim/fail", plan_failures)
    app.router.add_get("/__sim/stats", stats)
    app.router.add_post("/__sim/reset", reset)
    app.router.add_get("/__sim/health", health)


async def change_config(request: web.Request) -> web.Response:
    """Body: any of latency_ms, error_rate, rate_limit_per_minute, rate_limit_window_s, seed, now,
    growth_from.

    `now` (ISO time; null for today 00:00 UTC) is the moment the world is looked at. Without
    `growth_from` (the default, null) the reels are dated back from `now`, so moving it shifts the
    same reels. With `growth_from` (ISO time) the world at `now == growth_from` is that same world,
    and a later `now` shows the reels the creator posted since at the top (new shortcodes, newest
    first) while the ones it had keep their ids, captions and dates and young ones keep gaining views
    (growth.py; about 5-10% of the new reels become 4-10x outliers). Both answers are a function of
    (seed, username, growth_from, now) alone.
    """
    state = request.app[STATE]
    try:
        state.configure(await _body(request))
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response({"config": state.config.as_json()})


async def plan_failures(request: web.Request) -> web.Response:
    """Body: {"username", "times": 1, "status": 500, "retry_after": 1, "delay_ms": 0}.

    The next `times` requests about that account fail with `status` (after `delay_ms`); a status
    of 200 with a delay only slows them down, which is how tests provoke client timeouts.
    """
    try:
        body = await _body(request)
        username = parse_username(str(body["username"]))
        if username is None:
            raise ValueError("username is not a valid Instagram username")
        times, status = int(body.get("times", 1)), int(body.get("status", 500))
        retry_after, delay_ms = int(body.get("retry_after", 1)), float(body.get("delay_ms", 0))
    except (KeyError, ValueError, TypeError) as exc:
        return json_response({"error": f"bad failure plan: {exc}"}, 400)
    request.app[STATE].plan_failures(username, times, status, retry_after, delay_ms)
    return json_response({"username": username, "times": times, "status": status, "delay_ms": delay_ms})


async def stats(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].stats())


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.reset()
    return json_response({"config": state.config.as_json()})


async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    data = orjson.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data

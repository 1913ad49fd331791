"""Typed application keys shared by the gateway's route modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from libs.events import EventStore

if TYPE_CHECKING:
    from libs.runtime.service import ServiceRuntime
    from services.gateway.settings import GatewaySettings

POOL = web.AppKey("pool", asyncpg.Pool)
STORE = web.AppKey("store", EventStore)
RUNTIME: web.AppKey[ServiceRuntime] = web.AppKey("runtime")
SETTINGS: web.AppKey[GatewaySettings] = web.AppKey("settings")

"""Typed application keys shared by the gateway's views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from libs.events import EventStore
from libs.events.db import FairPool

if TYPE_CHECKING:
    from libs.runtime.service import ServiceRuntime
    from services.gateway.settings import GatewaySettings

POOL = web.AppKey("pool", FairPool)
STORE = web.AppKey("store", EventStore)
RUNTIME: web.AppKey[ServiceRuntime] = web.AppKey("runtime")
SETTINGS: web.AppKey[GatewaySettings] = web.AppKey("settings")

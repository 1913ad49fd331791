"""What the provider tests share: the simulator handle and the fixed reference time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from libs.instagram import InstagramProvider

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class RunningSimulator:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self._session = session

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._session.post(f"{self.base_url}/__sim/{path}", json=body or {}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def stats(self) -> Any:
        async with self._session.get(f"{self.base_url}/__sim/stats") as response:
            return await response.json()

    async def requests_about(self, username: str) -> int:
        return (await self.stats())["by_username"].get(username, {}).get("total", 0)

    def provider_env(self) -> dict[str, str]:
        """The environment that points a service process's Instagram client at this simulator."""
        return {
            "INSTAGRAM_SCRAPER_URL": self.base_url,
            "TRANSCRIPT_API_URL": self.base_url,
            "RAPIDAPI_KEY": "test",
        }

    def provider(self, **overrides: Any) -> InstagramProvider:
        settings: dict[str, Any] = {
            "scraper_base_url": self.base_url,
            "transcript_base_url": self.base_url,
            "api_key": "test-key",
            "timeout_s": 2.0,
            "max_retries": 3,
            "backoff_base_s": 0.01,
            "backoff_max_s": 2.0,
        }
        settings.update(overrides)
        return InstagramProvider(None, **settings)


StartSimulator = Callable[..., Awaitable[RunningSimulator]]

"""One number from a running process's /metrics, for tests and benches that count what each replica did."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


async def metric(port: int, name: str, **labels: str) -> float:
    """The sum of the process's samples of `name` whose labels include `labels`."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )

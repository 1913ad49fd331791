"""Real traffic through gateway, projector and profile-ingest moves the series an operator watches, as
scraped over HTTP from each process's /metrics. The runtimes share one in-process registry, so every
check compares a scrape after the traffic with one before it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import aio_pika
import aiohttp
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from libs.events import Topology
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.settings import IngestSettings
from services.projector.__main__ import ProjectorSettings
from services.projector.__main__ import build as build_projector
from tests.conftest import make_settings
from tests.support.infra import eventually, free_port
from tests.support.runtime import running

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
REQUEST_ROUTE = "/api/profile/{username}/request"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: aiohttp.ClientSession | TestClient, url: str) -> Samples:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        assert resp.headers["Content-Type"].startswith("text/plain")
        return parse(await resp.text())


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the series of `name` carrying these labels (others summed over)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def present(samples: Samples, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= have for n, have in samples)


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def wait_status(api: TestClient, username: str, wanted: str) -> None:
    async def check() -> bool:
        resp = await api.get(f"/api/profile/{username}/status")
        return resp.status == 200 and (await resp.json())["data"]["status"] == wanted

    await eventually(check, timeout_s=30, message=f"{username} {wanted}")


async def publish_poison(amqp: aio_pika.abc.AbstractConnection, topology: Topology, kind: str) -> None:
    channel = await amqp.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(topology.exchange)
    await exchange.publish(
        aio_pika.Message(b"{this is not json", type=kind, message_id="poison"), routing_key="ProfileRequested"
    )
    await channel.close()


async def test_traffic_moves_the_metrics_every_service_exports(
    database_url: str, amqp_url: str, topology: Topology, amqp, start_simulator, aiohttp_client
) -> None:
    sim = await start_simulator(seed=7)
    common = {"metrics_interval_s": 0.1}
    gateway_settings = make_settings(
        GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token", **common
    )
    projector_settings = make_settings(
        ProjectorSettings, database_url, amqp_url, topology, ops_port=free_port(), **common
    )
    ingest_settings = make_settings(
        IngestSettings, database_url, amqp_url, topology, ops_port=free_port(), **common
    )
    projector_metrics = f"http://127.0.0.1:{projector_settings.ops_port}/metrics"
    ingest_metrics = f"http://127.0.0.1:{ingest_settings.ops_port}/metrics"
    gateway = ServiceRuntime("gateway", gateway_settings)

    async with running(gateway, build_projector(projector_settings, 64)), aiohttp.ClientSession() as http:
        api = await aiohttp_client(create_app(gateway, gateway_settings))
        before = await scrape(api, "/metrics")

        bad = await api.post("/api/profile/not a name!/request")
        assert bad.status == 400
        for username in ("fitwithmaya", "private_lena"):
            resp = await api.post(f"/api/profile/{username}/request")
            assert resp.status == 200, await resp.text()

        async def high_pending() -> Samples | None:
            samples = await scrape(http, projector_metrics)
            pending = value(samples, "viralspot_profile_queue_requests", priority="HIGH", status="PENDING")
            return samples if pending >= 2 else None

        # Nobody fetches profiles yet: the requests wait, and the queue gauge shows them by priority.
        waiting = await eventually(high_pending, message="HIGH requests pending in the gauge")
        assert value(waiting, "viralspot_profile_queue_requests", priority="LOW", status="PENDING") == 0
        assert present(waiting, "viralspot_queue_messages", consumer="projector", queue="work")

        async with running(build_ingest(ingest_settings, sim.provider())):
            await wait_status(api, "fitwithmaya", "completed")
            await wait_status(api, "private_lena", "failed")
            bogus_type = f"Bogus{secrets.token_hex(4)}"
            await publish_poison(amqp, topology, bogus_type)

            async def settled() -> Samples | None:
                samples = await scrape(http, ingest_metrics)
                parked = value(
                    samples, "viralspot_queue_messages", consumer="profile-ingest", queue="dead_letter"
                )
                active = value(samples, "viralspot_profile_queue_requests")
                return samples if parked >= 1 and active == 0 else None

            await eventually(settled, message="poison parked and the request queue drained")
            after = await scrape(http, ingest_metrics)
        gateway_after = await scrape(api, "/metrics")
        await api.close()  # the app's broker listener stops before the runtime closes the connection

    # The three endpoints serve the same in-process registry.
    assert present(gateway_after, "viralspot_http_requests_total")
    assert present(after, "viralspot_http_requests_total")

    # Gateway HTTP by route and status, including the rejected request.
    http_requests = "viralspot_http_requests_total"
    assert increase(before, after, http_requests, route=REQUEST_ROUTE, method="POST", status="200") == 2
    assert increase(before, after, http_requests, route=REQUEST_ROUTE, method="POST", status="400") == 1
    assert increase(before, after, "viralspot_http_request_duration_seconds_count", route=REQUEST_ROUTE) == 3

    # Events published by the relays of the gateway and profile-ingest, by type.
    published = "viralspot_events_published_total"
    assert increase(before, after, published, service="gateway", event_type="ProfileRequested") == 2
    assert increase(before, after, published, service="profile-ingest", event_type="ProfileIngested") == 1
    assert increase(before, after, published, service="profile-ingest", event_type="ProfileIngestFailed") == 1
    assert present(after, "viralspot_outbox_backlog", service="gateway")
    assert present(after, "viralspot_outbox_backlog", service="profile-ingest")

    # Consumed by type, with the handler latency histogram beside it.
    consumed = "viralspot_events_consumed_total"
    for service in ("profile-ingest", "projector"):
        handled = {"service": service, "event_type": "ProfileRequested"}
        assert increase(before, after, consumed, outcome="handled", **handled) == 2, service
        assert increase(before, after, "viralspot_handler_duration_seconds_count", **handled) == 2, service
    assert increase(before, after, consumed, service="projector", event_type="ProfileIngested") >= 1

    # The projector's lag, in seconds per applied event and in events waiting.
    assert increase(before, after, "viralspot_projector_lag_seconds_count") >= 6
    applied = "viralspot_projector_events_applied_total"
    assert increase(before, after, applied, event_type="ProfileRequested") == 2
    assert present(after, "viralspot_queue_messages", consumer="projector", queue="work")

    # Provider calls by outcome: the private account's profile is an answer like any other, not an error.
    calls = "viralspot_provider_calls_total"
    assert increase(before, after, calls, outcome="ok") >= 2
    assert increase(before, after, calls) == increase(before, after, calls, outcome="ok")
    assert increase(before, after, "viralspot_provider_latency_seconds_count") >= 2

    # The poison message is dead-lettered and counted, without its made-up type becoming a label value.
    dead = {"service": "profile-ingest", "consumer": "profile-ingest"}
    assert increase(before, after, "viralspot_dead_letters_total", reason="undecodable", **dead) == 1
    assert increase(before, after, consumed, event_type="unknown", outcome="dead_lettered", **dead) == 1
    assert value(after, "viralspot_queue_messages", consumer="profile-ingest", queue="dead_letter") == 1
    assert not any(bogus_type in dict(labels).values() for _, labels in after)

    # The request queue drained: nothing pending or processing at any priority.
    for priority in ("HIGH", "MEDIUM", "LOW"):
        assert present(after, "viralspot_profile_queue_requests", priority=priority, status="PENDING")
    assert value(after, "viralspot_profile_queue_requests") == 0


def test_samples_sum_over_unnamed_labels() -> None:
    samples: Mapping = parse('m_total{a="1",b="x"} 2.0\nm_total{a="1",b="y"} 3.0\nm_total{a="2",b="x"} 5.0\n')
    assert value(dict(samples), "m_total", a="1") == 5 and value(dict(samples), "m_total") == 10

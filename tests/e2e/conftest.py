from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.support.runtime import running


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology) -> GatewaySettings:
    return make_settings(GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token")


@pytest.fixture
async def gateway_runtime(gateway_settings: GatewaySettings, amqp) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime("gateway", gateway_settings, stateless_db=True)  # as services.gateway runs it
    # profile-ingest's relay publishes the ingestion events the tests append in its name.
    ingest_relay = ServiceRuntime("profile-ingest", gateway_settings)
    async with running(runtime, ingest_relay, projector_runtime(gateway_settings)):
        yield runtime


@pytest.fixture
async def api(
    gateway_runtime: ServiceRuntime, gateway_settings: GatewaySettings, aiohttp_client
) -> TestClient:
    return await aiohttp_client(create_app(gateway_runtime, gateway_settings))

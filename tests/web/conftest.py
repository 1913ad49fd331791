"""The gateway, projector and viral-analysis in process, against real RabbitMQ, PostgreSQL and the
Instagram simulator, as tests/e2e runs them; streams tuned to answer within a test's patience."""

from __future__ import annotations

import pytest

from services.gateway.settings import GatewaySettings, RateLimit
from tests.conftest import make_settings
from tests.e2e.conftest import api, gateway_runtime
from tests.e2e.test_viral_analysis import analysis, sim

__all__ = ["analysis", "api", "gateway_runtime", "sim"]

DEV_SECRET = "web-test-jwt-secret-long-enough-for-hs256"


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings,
        database_url,
        amqp_url,
        topology,
        admin_token="test-admin-token",
        rate_limit_watch_refreshes=RateLimit(2, 3600),
        # As `make run`: the page signs in with the development token.
        auth_dev_login=True,
        auth_jwt_secret=DEV_SECRET,
        sse_heartbeat_s=0.5,
        sse_disconnect_check_s=0.1,
    )

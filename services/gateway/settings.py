from __future__ import annotations

from pydantic import Field, SecretStr

from libs.runtime.config import ServiceSettings


class GatewaySettings(ServiceSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    admin_token: SecretStr | None = None
    # Every API request holds a connection for a few round trips: more of them than a worker needs.
    db_pool_max: int = 24
    # Live analysis progress over Server-Sent Events (GET /api/viral-ideas/queue/{session_id}/events).
    sse_max_clients: int = Field(default=2000, ge=1, le=100_000)
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    sse_client_buffer: int = Field(default=64, ge=4, le=10_000)
    sse_disconnect_check_s: float = Field(default=1.0, gt=0, le=60)

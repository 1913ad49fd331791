from __future__ import annotations

from pydantic import SecretStr

from libs.runtime.config import ServiceSettings


class GatewaySettings(ServiceSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    admin_token: SecretStr | None = None
    # Every API request holds a connection for a few round trips: more of them than a worker needs.
    db_pool_max: int = 24

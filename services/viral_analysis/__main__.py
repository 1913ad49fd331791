"""viral-analysis: its work arrives in a later issue; the process already runs with the shared runtime
(topology declared, outbox relay, /healthz, /readyz, /metrics, graceful shutdown)."""

from __future__ import annotations

from libs.runtime import ServiceRuntime, ServiceSettings, run


class Settings(ServiceSettings):
    ops_port: int | None = 8002


async def main() -> None:
    await ServiceRuntime("viral-analysis", Settings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "viral-analysis", Settings().log_level)

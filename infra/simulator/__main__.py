"""python -m infra.simulator --host 127.0.0.1 --port 8100 --seed 42"""

from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

from .app import create_app
from .config import SimulatorConfig


def main() -> None:
    config = SimulatorConfig.from_env()
    parser = argparse.ArgumentParser(prog="python -m infra.simulator", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SIM_PORT") or 8100))
    parser.add_argument("--seed", type=int, default=config.seed)
    parser.add_argument("--latency-ms", type=float, default=config.latency_ms)
    parser.add_argument("--error-rate", type=float, default=config.error_rate)
    parser.add_argument("--rate-limit-per-minute", type=int, default=config.rate_limit_per_minute)
    args = parser.parse_args()
    config = config.updated(
        {
            "seed": args.seed,
            "latency_ms": args.latency_ms,
            "error_rate": args.error_rate,
            "rate_limit_per_minute": args.rate_limit_per_minute,
        }
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("infra.simulator").info(
        "instagram simulator on http://%s:%d seed=%d latency_ms=%s error_rate=%s rate_limit=%d/min",
        args.host,
        args.port,
        config.seed,
        config.latency_ms,
        config.error_rate,
        config.rate_limit_per_minute,
    )
    web.run_app(create_app(config), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

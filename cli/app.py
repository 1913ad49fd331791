"""Argument parsing, configuration from the environment (like the services) and dispatch."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from cli import dlq, events, outbox, readmodels
from cli.context import CommandError, Context
from libs.runtime.config import ServiceSettings


def context(args: argparse.Namespace) -> Context:
    overrides: dict[str, Any] = {
        key: value
        for key, value in (
            ("database_url", args.database_url),
            ("amqp_url", args.amqp_url),
            ("event_namespace", args.namespace),
        )
        if value is not None
    }
    settings = ServiceSettings(**overrides)
    return Context(settings.database_url, settings.amqp_url.get_secret_value(), settings.topology())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="viralspot",
        description="Debugging tools for ViralSpot: events, read models, dead-letter queues and parked outbox events. "
        "Configuration comes from DATABASE_URL, AMQP_URL and EVENT_NAMESPACE, as for the services.",
    )
    root.add_argument("--database-url", help="overrides DATABASE_URL")
    root.add_argument("--amqp-url", help="overrides AMQP_URL")
    root.add_argument("--namespace", help="overrides EVENT_NAMESPACE (exchange and queue name prefix)")
    groups = root.add_subparsers(dest="group", required=True, metavar="{events,readmodels,dlq,outbox}")
    events.add_commands(groups)
    readmodels.add_commands(groups)
    dlq.add_commands(groups)
    outbox.add_commands(groups)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(args.run(context(args), args))
    except CommandError as exc:
        print(f"viralspot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

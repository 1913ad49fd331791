"""What every command gets: where the database and the broker are, and the topology's names."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from libs.events.topology import Topology


class CommandError(Exception):
    """A problem the user can fix (a bad name, a missing queue): printed without a traceback."""


@dataclass(frozen=True)
class Context:
    database_url: str
    amqp_url: str
    topology: Topology


def confirmed(yes: bool, question: str) -> bool:
    """What every command that changes something asks first, unless given --yes; never without a
    terminal to ask on."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError(f"{question}: not asked without a terminal; add --yes")
    return input(f"{question}? [y/N] ").strip().lower() in ("y", "yes")

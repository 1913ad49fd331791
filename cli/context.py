"""What every command gets: where the database and the broker are, and the topology's names."""

from __future__ import annotations

from dataclasses import dataclass

from libs.events.topology import Topology


class CommandError(Exception):
    """A problem the user can fix (a bad name, a missing queue): printed without a traceback."""


@dataclass(frozen=True)
class Context:
    database_url: str
    amqp_url: str
    topology: Topology

"""Connections to the broker: one node, or the nodes of a cluster in turn.

AMQP_URL may name several nodes, comma-separated ("amqp://a:5672/,amqp://b:5672/"): a connection goes
to the first that answers, and when its node goes away the next attempt goes to the next node, round
and round, rather than waiting for that node to come back (aio-pika's robust connection keeps one
address). Channels, consumers and their queues are restored on the new node as after any reconnect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from aio_pika.robust_connection import RobustConnection
from yarl import URL

# What a node that is down or unreachable raises on connect.
_UNREACHABLE = (ConnectionError, OSError, TimeoutError, aio_pika.exceptions.AMQPConnectionError)


def broker_urls(value: str) -> list[str]:
    urls = [u.strip() for u in value.split(",") if u.strip()]
    if not urls:
        raise ValueError("no broker address given")
    return urls


class FailoverConnection(RobustConnection):
    """A robust connection over a list of nodes: each attempt after a failed one tries the next node."""

    def __init__(self, urls: Sequence[str], first: int = 0, **kwargs: Any) -> None:
        self.urls = [URL(u) for u in urls]
        self._node = first
        super().__init__(self.urls[first % len(self.urls)], **kwargs)

    @property
    def node(self) -> URL:
        return self.urls[self._node % len(self.urls)]

    # RobustConnection's private __connect_transport (one attempt on self.url), called by its reconnect
    # loop; overridden under its mangled name, the only place an attempt's address can be chosen.
    # requirements.lock pins aio-pika; tests/integration/test_broker_cluster.py fails if this breaks.
    async def _RobustConnection__connect_transport(self) -> None:
        self.url = self.node
        try:
            await super()._RobustConnection__connect_transport()  # type: ignore[misc]
        except BaseException:
            self._node += 1
            raise

    async def _on_connection_close(self, closing: Any) -> None:
        # The node we were on went away: the first attempt after it goes to the next one.
        if not self._close_called:
            self._node += 1
        await super()._on_connection_close(closing)


async def connect_robust(url: str, **kwargs: Any) -> AbstractRobustConnection:
    """A robust connection to one node, or a failover one over several (tried in turn at first too)."""
    urls = broker_urls(url)
    if len(urls) == 1:
        return await aio_pika.connect_robust(urls[0], **kwargs)
    error: BaseException | None = None
    for first in range(len(urls)):
        connection = FailoverConnection(urls, first=first, **kwargs)
        try:
            await connection.connect()
            return connection
        except _UNREACHABLE as exc:
            error = exc
            await connection.close()
    assert error is not None
    raise error


async def connect(url: str, **kwargs: Any) -> AbstractConnection:
    """A plain connection (the relay's, the CLI's) to the first node that answers."""
    error: BaseException | None = None
    for node in broker_urls(url):
        try:
            return await aio_pika.connect(node, **kwargs)
        except _UNREACHABLE as exc:
            error = exc
    assert error is not None
    raise error

"""Turning envelopes into persistent AMQP messages."""

from __future__ import annotations

import aio_pika

from libs.events.catalog import REGISTRY, Event
from libs.events.envelope import Envelope


def to_message(envelope: Envelope) -> aio_pika.Message:
    event_cls = REGISTRY.get(envelope.event_type)
    priority = 0
    # Only the few prioritised types pay for parsing their payload here.
    if event_cls is not None and event_cls.message_priority is not Event.message_priority:
        priority = event_cls.model_validate(envelope.payload).message_priority()
    return aio_pika.Message(
        body=envelope.to_json(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(envelope.event_id),
        correlation_id=str(envelope.correlation_id),
        type=envelope.event_type,
        timestamp=envelope.occurred_at,
        priority=priority,
        headers={
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "producer": envelope.producer,
        },
    )

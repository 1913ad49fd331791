"""Turning envelopes into persistent AMQP messages."""

from __future__ import annotations

import aio_pika

from libs.events.catalog import MESSAGE_PRIORITY
from libs.events.envelope import Envelope


def to_message(envelope: Envelope) -> aio_pika.Message:
    # Profile work carries its queue priority (HIGH/MEDIUM/LOW) as the AMQP priority.
    priority = envelope.payload.get("priority")
    amqp_priority = MESSAGE_PRIORITY.get(priority, 0) if isinstance(priority, str) else 0
    return aio_pika.Message(
        body=envelope.to_json(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(envelope.event_id),
        correlation_id=str(envelope.correlation_id),
        type=envelope.event_type,
        timestamp=envelope.occurred_at,
        priority=amqp_priority,
        headers={
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "producer": envelope.producer,
        },
    )

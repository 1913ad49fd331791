"""The event backbone: envelope, catalogue, store and outbox relay, consumer, topology, migrations."""

from libs.events.catalog import REGISTRY, Event
from libs.events.consumer import Consumer, Deferred, Handler, PermanentFailure
from libs.events.envelope import Envelope, NewerSchemaVersion, NewEvent, PoisonMessage
from libs.events.relay import OutboxRelay
from libs.events.store import EventStore, Position, RecordedEvent, WrongExpectedVersion
from libs.events.topology import RetryLadder, Subscription, Topology

__all__ = [
    "REGISTRY",
    "Consumer",
    "Deferred",
    "Envelope",
    "Event",
    "EventStore",
    "Handler",
    "NewEvent",
    "NewerSchemaVersion",
    "OutboxRelay",
    "PermanentFailure",
    "PoisonMessage",
    "Position",
    "RecordedEvent",
    "RetryLadder",
    "Subscription",
    "Topology",
    "WrongExpectedVersion",
]

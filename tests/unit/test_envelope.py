import uuid
from datetime import UTC, datetime

import orjson
import pytest

from libs.events import Envelope, PoisonMessage
from libs.events.catalog import ProfileRequested
from libs.events.publisher import to_message


def make(payload: dict, event_type: str = "ProfileRequested") -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=datetime.now(UTC),
        producer="gateway",
        stream_id="profile-alice",
        stream_version=1,
        correlation_id=uuid.uuid4(),
        payload=payload,
    )


GOOD = {"username": "alice", "source": "frontend", "priority": "LOW", "request_id": "deadbeef"}


def test_envelope_round_trips_through_json() -> None:
    original = make(GOOD)
    decoded = Envelope.from_json(original.to_json())
    assert decoded == original
    assert decoded.event() == ProfileRequested(**GOOD)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "undecodable"),
        (b"[1, 2]", "undecodable"),
        (orjson.dumps({"event_type": "ProfileRequested"}), "schema_invalid"),
    ],
)
def test_undecodable_bodies_are_poison(body: bytes, reason: str) -> None:
    with pytest.raises(PoisonMessage) as info:
        Envelope.from_json(body)
    assert info.value.reason == reason


def test_unknown_type_and_invalid_payload_are_poison() -> None:
    with pytest.raises(PoisonMessage) as unknown:
        make(GOOD, event_type="SomethingHappened").event()
    assert unknown.value.reason == "unknown_event_type"
    with pytest.raises(PoisonMessage) as invalid:
        make({**GOOD, "username": "Not Valid!"}).event()
    assert invalid.value.reason == "schema_invalid"
    assert "username" in invalid.value.detail


def test_message_carries_priority_identity_and_persistence() -> None:
    envelope = make({**GOOD, "priority": "HIGH"})
    message = to_message(envelope)
    assert message.priority == 9
    assert message.message_id == str(envelope.event_id)
    assert message.delivery_mode.value == 2
    assert to_message(make(GOOD)).priority == 1

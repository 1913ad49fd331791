"""Each service's queue bindings derive from its one handler map: a bound type with no handler (once
acked unseen) or a handled type that is not bound (never delivered) fails here, and again at start."""

import importlib

import pytest

from libs.events.catalog import ProfileIngested, ProfileRequested, ProfileRequestPromoted
from libs.events.topology import SUBSCRIPTIONS, Subscription, TopologyMismatch, bindings_of, check_bindings

CONSUMING_SERVICES = ("profile_ingest", "viral_analysis", "crawler", "alerts", "projector")
# A service's second consumer, with a handler map of its own beside its handlers.py.
OTHER_MAPS = ("profile_ingest.media",)


def handler_module(service: str):  # type: ignore[no-untyped-def]
    module = service if "." in service else f"{service}.handlers"
    return importlib.import_module(f"services.{module}")


@pytest.mark.parametrize("service", CONSUMING_SERVICES + OTHER_MAPS)
def test_the_declared_bindings_are_the_ones_derived_from_the_handler_map(service: str) -> None:
    handlers = handler_module(service)
    declared = SUBSCRIPTIONS[handlers.CONSUMER]
    check_bindings(declared, handlers.HANDLERS.keys())
    assert len(bindings_of(handlers.HANDLERS)) == len(handlers.HANDLERS)  # one handler per type


def test_every_declared_consumer_is_a_service_with_a_handler_map() -> None:
    lanes = {s.consumer: s.lane_of for s in SUBSCRIPTIONS.values() if s.lane_of}
    consumers = {handler_module(s).CONSUMER for s in CONSUMING_SERVICES + OTHER_MAPS}
    assert consumers == set(SUBSCRIPTIONS) - set(lanes)


def test_a_lane_takes_the_types_of_the_consumer_that_feeds_it() -> None:
    (lane,) = (s for s in SUBSCRIPTIONS.values() if s.lane_of)
    assert lane.bindings == SUBSCRIPTIONS[lane.lane_of].bindings
    check_bindings(lane, handler_module("profile_ingest").HANDLERS.keys())


def test_a_bound_type_without_a_handler_is_refused() -> None:
    bound = Subscription("ingest", bindings_of([ProfileRequested, ProfileRequestPromoted]))
    with pytest.raises(TopologyMismatch, match="bound but not handled \\['ProfileRequestPromoted'\\]"):
        check_bindings(bound, [ProfileRequested])


def test_a_handled_type_without_a_binding_is_refused() -> None:
    bound = Subscription("ingest", bindings_of([ProfileRequested]))
    with pytest.raises(TopologyMismatch, match="handled but not bound \\['ProfileIngested'\\]"):
        check_bindings(bound, [ProfileRequested, ProfileIngested])


def test_a_consumer_of_every_event_must_handle_every_event() -> None:
    with pytest.raises(TopologyMismatch):
        check_bindings(Subscription("everything", ("#",)), [ProfileRequested])

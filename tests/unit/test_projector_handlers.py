"""The projector's queue is bound to every event ('#'): its one handler map must hold a projection for
each event type of the catalogue, and nothing else."""

import inspect

from libs.events.catalog import REGISTRY
from libs.events.topology import SUBSCRIPTIONS, check_bindings
from services.projector import (
    alert_tables,
    analysis_tables,
    category_tables,
    crawl_tables,
    discovery_tables,
    media_tables,
    picker_tables,
    profile_tables,
)
from services.projector.handlers import CONSUMER, HANDLERS

TABLE_MODULES = (
    alert_tables,
    analysis_tables,
    category_tables,
    crawl_tables,
    media_tables,
    picker_tables,
    profile_tables,
)


def test_the_handler_map_covers_the_catalogue_exactly() -> None:
    assert set(HANDLERS) == set(REGISTRY.values())


def test_the_handler_map_satisfies_the_projectors_every_event_binding() -> None:
    assert SUBSCRIPTIONS[CONSUMER].bindings == ("#",)
    check_bindings(SUBSCRIPTIONS[CONSUMER], HANDLERS.keys())


def test_every_projection_is_a_table_module_coroutine_taking_a_connection_and_an_envelope() -> None:
    modules = {m.__name__ for m in TABLE_MODULES}
    for event_class, projection in HANDLERS.items():
        assert inspect.iscoroutinefunction(projection), event_class
        assert projection.__module__ in modules, event_class
        assert list(inspect.signature(projection).parameters) == ["conn", "e"], event_class


def test_the_table_modules_hold_no_handler_maps_of_their_own() -> None:
    for module in (*TABLE_MODULES, discovery_tables):
        maps = [
            name
            for name, value in vars(module).items()
            if isinstance(value, dict) and any(inspect.iscoroutinefunction(v) for v in value.values())
        ]
        assert maps == [], module.__name__

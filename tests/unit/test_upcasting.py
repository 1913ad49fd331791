"""Schema evolution: the upcaster chains are checked as the catalogue is imported, and every decoded
event, whatever version it was written at, comes out in the current version's shape."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from libs.events import Envelope, NewerSchemaVersion, PoisonMessage
from libs.events import catalog as catalog_module
from libs.events.catalog import CHAINS, AnalysisRequested, AnalysisUpdated, Competitor
from libs.events.upcasting import UpcasterChainError, UpcastStep, check_chains, upcast
from tests.support.events import analysis_requested_v1, written_at

QUEUE_ID = "6f1c2f6e-2d4b-4c4e-9a57-0d5b1c3e8a10"
REQUESTED_V1 = analysis_requested_v1(QUEUE_ID)


def step(event_type: str, from_version: int) -> UpcastStep:
    return UpcastStep(event_type, from_version, lambda p: {**p, f"v{from_version + 1}": True})


def stored(payload: dict[str, Any], event_type: str = "AnalysisRequested", version: int = 1) -> Envelope:
    return written_at(version, event_type, payload, f"analysis-{QUEUE_ID}")


def test_a_complete_chain_is_kept_in_order_and_types_at_version_1_have_none() -> None:
    chains = check_chains({"Renamed": 3, "Plain": 1}, [step("Renamed", 2), step("Renamed", 1)])
    assert list(chains) == ["Renamed"]
    assert upcast(chains["Renamed"], 1, {}) == {"v2": True, "v3": True}
    assert upcast(chains["Renamed"], 2, {}) == {"v3": True}
    assert upcast(chains["Renamed"], 3, {"as": "is"}) == {"as": "is"}


@pytest.mark.parametrize(
    ("current", "steps", "message"),
    [
        ({"Renamed": 3}, [("Renamed", 1)], "Renamed: no upcaster from version 2 to the next"),
        ({"Renamed": 2}, [], "Renamed: no upcaster from version 1 to the next"),
        ({"Renamed": 2}, [("Renamed", 1), ("Renamed", 1)], "Renamed: two upcasters from version 1"),
        ({"Renamed": 2}, [("Renamed", 1), ("Renamed", 2)], "upcasters from version 2, but the chain ends at"),
        ({"Renamed": 1}, [("Renamed", 0)], "upcasters from version 0"),
        (
            {"Renamed": 1},
            [("Retired", 1)],
            "Retired: an upcaster for an event type the catalogue does not have",
        ),
        ({"Renamed": 0}, [], "Renamed: schema_version 0 (versions start at 1)"),
    ],
)
def test_a_broken_chain_is_refused_naming_the_type_and_the_version(
    current: dict[str, int], steps: list[tuple[str, int]], message: str
) -> None:
    with pytest.raises(UpcasterChainError, match="upcaster chains are broken") as refused:
        check_chains(current, [step(t, v) for t, v in steps])
    assert message in str(refused.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(UpcasterChainError) as refused:
        check_chains({"A": 3, "B": 2}, [step("A", 1), step("A", 1)])
    text = str(refused.value)
    assert "A: two upcasters from version 1" in text
    assert "A: no upcaster from version 2" in text and "B: no upcaster from version 1" in text


def test_a_catalogue_with_a_gap_in_a_chain_does_not_import(tmp_path: Path) -> None:
    """What a service start-up does first: a catalogue that lost an upcaster fails, and says which."""
    source = Path(catalog_module.__file__).read_text()
    declaration = "@upcaster(AnalysisRequested, from_version=1)\n"
    assert declaration in source
    broken = tmp_path / "broken_catalog.py"
    broken.write_text(source.replace(declaration, ""))
    spec = importlib.util.spec_from_file_location("broken_catalog", broken)
    assert spec is not None and spec.loader is not None
    with pytest.raises(UpcasterChainError, match="AnalysisRequested: no upcaster from version 1"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_the_catalogue_raised_these_events_to_version_2() -> None:
    assert AnalysisRequested.schema_version == AnalysisUpdated.schema_version == 2
    assert set(CHAINS) == {"AnalysisRequested", "AnalysisUpdated", "WatchStarted", "OutlierDetected"}


def test_a_version_1_watch_and_alert_have_no_niche_threshold() -> None:
    watch = {
        "user_id": "alice",
        "username": "maya",
        "min_outlier_score": 4.0,
        "alert_from": "2026-12-01T00:00:00Z",
    }
    assert upcast(CHAINS["WatchStarted"], 1, watch) == {**watch, "min_niche_score": None}
    alert = {"user_id": "alice", "username": "maya", "content_id": "1", "threshold": 4.0}
    assert upcast(CHAINS["OutlierDetected"], 1, alert) == {
        **alert,
        "min_niche_score": None,
        "niche_outlier_score": None,
        "category": None,
    }


def test_a_version_1_request_names_its_competitors_typed_in_and_the_upcaster_is_pure() -> None:
    payload = copy.deepcopy(REQUESTED_V1)
    current = upcast(CHAINS["AnalysisRequested"], 1, payload)
    assert payload == REQUESTED_V1
    assert current == {
        **REQUESTED_V1,
        "competitors": [
            {"username": "fit.coach.amy", "selection_method": "manual"},
            {"username": "gym.bro.max", "selection_method": "manual"},
        ],
    }
    event = AnalysisRequested.model_validate(current)
    assert event.competitors[0] == Competitor(username="fit.coach.amy", selection_method="manual")


def test_a_version_1_update_keeps_unchanged_competitors_unchanged() -> None:
    chain = CHAINS["AnalysisUpdated"]
    assert upcast(chain, 1, {"queue_id": QUEUE_ID, "competitors": None}) == {
        "queue_id": QUEUE_ID,
        "competitors": None,
    }
    assert upcast(chain, 1, {"queue_id": QUEUE_ID}) == {"queue_id": QUEUE_ID}
    assert upcast(chain, 1, {"queue_id": QUEUE_ID, "competitors": ["amy"]})["competitors"] == [
        {"username": "amy", "selection_method": "manual"}
    ]


def test_an_envelope_of_version_1_decodes_to_the_current_shape_and_version() -> None:
    old = stored(REQUESTED_V1)
    current = old.upcast()
    assert current.schema_version == 2 and current.event_id == old.event_id
    assert current.payload["competitors"][1] == {"username": "gym.bro.max", "selection_method": "manual"}
    assert old.payload == REQUESTED_V1  # the envelope as written is left as it was
    assert old.event() == current.event()
    assert Envelope.from_json(old.to_json()).event() == current.event()  # off the bus alike
    assert current.upcast() is current


def test_an_envelope_newer_than_this_code_is_neither_decoded_nor_poison() -> None:
    newer = stored({**REQUESTED_V1, "competitors": [{"username": "amy", "picked_at": "x"}]}, version=3)
    with pytest.raises(NewerSchemaVersion) as raised:
        newer.event()
    assert not isinstance(raised.value, PoisonMessage)
    assert (raised.value.event_type, raised.value.version, raised.value.known) == ("AnalysisRequested", 3, 2)
    with pytest.raises(NewerSchemaVersion):
        newer.upcast()


def test_a_type_this_code_does_not_know_is_left_as_written_and_poison_when_decoded() -> None:
    unknown = stored({"anything": 1}, event_type="SomethingHappened", version=7)
    assert unknown.upcast() is unknown
    with pytest.raises(PoisonMessage) as poison:
        unknown.event()
    assert poison.value.reason == "unknown_event_type"


def test_an_upcaster_that_fails_makes_the_event_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_payload: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("competitors")

    monkeypatch.setitem(CHAINS, "AnalysisRequested", (broken,))
    with pytest.raises(PoisonMessage) as poison:
        stored(REQUESTED_V1).event()
    assert poison.value.reason == "upcast_failed" and "KeyError" in poison.value.detail


def test_an_unreadable_version_1_payload_is_refused_by_the_model_not_by_the_upcaster() -> None:
    with pytest.raises(PoisonMessage) as poison:
        stored({**REQUESTED_V1, "competitors": "fit.coach.amy"}).event()
    assert poison.value.reason == "schema_invalid" and "competitors" in poison.value.detail

"""contracts/ matches the code: event schemas and AsyncAPI are generated from the catalogue and must not
drift; openapi.yaml is written by hand and must cover API.md and every route the gateway serves."""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from aiohttp import web
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts import generate
from libs.events.catalog import CHAINS, REGISTRY, ProfileRequested
from libs.events.envelope import Envelope
from libs.events.upcasting import upcast
from services.gateway.routes import setup_routes

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
API_MD = ROOT.parent / "shared" / "design" / "API.md"
PLANNED_HEADING = "## Discovery, users, boards and alerts"

QUEUE_ID = "6f1c2f6e-2d4b-4c4e-9a57-0d5b1c3e8a10"
RUN_ID = "0b7e4c1a-5d2f-4a8e-b1c3-9e6f7a8b2c4d"
REEL = {
    "content_id": "3301",
    "shortcode": "Zml0d2l0aG1heWE6MQ",
    "url": "https://www.instagram.com/reel/Zml0d2l0aG1heWE6MQ/",
    "view_count": 120_000,
    "like_count": 5400,
    "outlier_score": 3.4,
    "date_posted": "2024-01-15T10:30:00Z",
}

# One realistic payload per event type; a new event type needs one here too.
VALID_PAYLOADS: dict[str, dict[str, Any]] = {
    "ProfileRequested": {
        "username": "fitwithmaya",
        "source": "frontend",
        "priority": "HIGH",
        "request_id": "1a2b3c4d",
    },
    "ProfileRequestPromoted": {"username": "fitwithmaya", "request_id": "1a2b3c4d", "priority": "HIGH"},
    "ProfileIngestStarted": {"username": "fitwithmaya", "request_id": "1a2b3c4d", "attempt": 1},
    "ProfileIngested": {
        "username": "fitwithmaya",
        "request_id": "1a2b3c4d",
        "attempts": 1,
        "duration_ms": 1840,
        "profile": {"username": "fitwithmaya", "followers": 52_000, "median_views": 35_000.0},
        "reels": [REEL],
        "similar": [{"username": "glow.mia", "followers": 81_000}],
    },
    "ProfileCategorised": {
        "username": "fitwithmaya",
        "primary_category": "fitness",
        "secondary_category": "health",
        "keywords": ["workout", "protein"],
        "language": "en",
        "account_type": "personal",
        "classifier": "local-1",
    },
    "MediaStored": {
        "username": "fitwithmaya",
        "kind": "reel_thumbnail",
        "owner": "3301",
        "source_url": "https://scontent.cdninstagram.com/v/t51/3301_n.jpg?oe=1",
        "key": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jpg",
        "content_type": "image/jpeg",
        "bytes": 48213,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    },
    "ReelsCategorised": {
        "username": "fitwithmaya",
        "classifier": "local-1",
        "reels": [
            {
                "content_id": "3301",
                "category": "fitness",
                "keywords": ["squats"],
                "language": "en",
                "content_style": "tutorial",
                "hook_type": "how_to",
            }
        ],
    },
    "ProfileIngestFailed": {
        "username": "missing_user",
        "request_id": "1a2b3c4d",
        "attempts": 3,
        "will_retry": False,
        "reason": "User not found",
        "error_code": "PROFILE_NOT_FOUND",
    },
    "SimilarAccountsRequested": {"username": "fitwithmaya", "request_id": "5e6f7a8b", "priority": "HIGH"},
    "SimilarAccountsFetched": {
        "username": "fitwithmaya",
        "request_id": "5e6f7a8b",
        "duration_ms": 180,
        "accounts": [{"username": "glow.mia", "full_name": "Mia", "followers": 81_000, "is_private": False}],
    },
    "SimilarAccountsFetchFailed": {
        "username": "private_diary",
        "request_id": "5e6f7a8c",
        "reason": "Account 'private_diary' is private",
        "error_code": "ACCOUNT_PRIVATE",
    },
    "AnalysisRequested": {
        "queue_id": QUEUE_ID,
        "session_id": "session-42",
        "primary_username": "fitwithmaya",
        "competitors": [
            {"username": "glow.mia", "selection_method": "manual"},
            {"username": "chef_leo", "selection_method": "suggested"},
        ],
        "content_strategy": {"contentType": "reels", "targetAudience": "busy parents", "goals": "grow"},
        "priority": 5,
        "rerun_frequency_hours": 24,
    },
    "AnalysisTriggered": {"queue_id": QUEUE_ID, "trigger": "start", "run": 1},
    "AnalysisCancelled": {"queue_id": QUEUE_ID},
    "AnalysisUpdated": {"queue_id": QUEUE_ID, "user_id": "user-1", "rerun_frequency_hours": 48},
    "AnalysisStarted": {
        "queue_id": QUEUE_ID,
        "run": 1,
        "worker": "viral-analysis-1",
        "lease_expires_at": "2024-01-15T10:35:00Z",
    },
    "ProgressUpdated": {"queue_id": QUEUE_ID, "run": 1, "step": "fetching transcripts", "progress": 55},
    "CompetitorStatusChanged": {"queue_id": QUEUE_ID, "run": 1, "username": "glow.mia", "status": "failed"},
    "ContentFetched": {
        "queue_id": QUEUE_ID,
        "run": 1,
        "username": "glow.mia",
        "profile_type": "competitor",
        "reels": [REEL],
    },
    "AnalysisCompleted": {
        "queue_id": QUEUE_ID,
        "run": 1,
        "result": {
            "analysis_type": "initial",
            "workflow_version": "local-1",
            "started_at": "2026-11-01T10:00:00+00:00",
            "completed_at": "2026-11-01T10:00:03+00:00",
            "processing_time_seconds": 3.2,
            "primary_reels_count": 0,
            "competitor_reels_count": 0,
            "transcripts_fetched": 0,
            "analysis_data": {"generated_hooks": []},
        },
    },
    "AnalysisFailed": {"queue_id": QUEUE_ID, "run": 2, "error_message": "Primary profile not found"},
    "CrawlRequested": {
        "run_id": RUN_ID,
        "target_profiles": 50,
        "max_rounds": 5,
        "per_seed_limit": 4,
        "min_followers": 1000,
    },
    "CrawlStarted": {"run_id": RUN_ID, "seeds": ["fitwithmaya"]},
    "CrawlPaused": {
        "run_id": RUN_ID,
        "reason": "provider unavailable (HTTP 503)",
        "resume_at": "2024-01-15T10:40:00Z",
        "pauses": 1,
    },
    "ProfileDiscovered": {
        "run_id": RUN_ID,
        "username": "glow.mia",
        "seed": "fitwithmaya",
        "round": 1,
        "outcome": "queued",
    },
    "CrawlRoundCompleted": {"run_id": RUN_ID, "round": 1, "seed": "chef_leo", "discovered": 4, "queued": 3},
    "CrawlCompleted": {"run_id": RUN_ID, "status": "completed", "rounds_completed": 2, "queued": 7},
    "WatchStarted": {
        "user_id": "alice",
        "username": "fitwithmaya",
        "min_outlier_score": 3.0,
        "min_niche_score": 2.0,
        "alert_from": "2024-01-12T10:30:00Z",
    },
    "WatchStopped": {"user_id": "alice", "username": "fitwithmaya"},
    "OutlierDetected": {
        "user_id": "alice",
        "username": "fitwithmaya",
        "content_id": "3301234567890",
        "shortcode": "C1a2b3",
        "url": "https://www.instagram.com/reel/C1a2b3/",
        "view_count": 240_000,
        "outlier_score": 6.9,
        "threshold": 3.0,
        "median_views": 35_000.0,
        "date_posted": "2024-01-15T10:30:00Z",
        "ingestion_event_id": "6f1f8c9e-1b7a-4a53-9d5e-3f5c2a8b9d10",
        "min_niche_score": 2.0,
        "niche_outlier_score": 4.1,
        "category": "fitness",
    },
    "WebhookRegistered": {
        "user_id": "alice",
        "endpoint_id": "9f86d081884c7d659a2feaa0c55ad015",
        "url": "https://hooks.example.com/vs",
    },
    "WebhookRemoved": {"user_id": "alice", "endpoint_id": "9f86d081884c7d659a2feaa0c55ad015"},
    "WebhookDeliveryAttempted": {
        "user_id": "alice",
        "endpoint_id": "9f86d081884c7d659a2feaa0c55ad015",
        "delivery_id": "0b6c2f0e-4f0a-4d7e-8f57-2a3e9c1d5b11",
        "alert_event_id": "6f1f8c9e-1b7a-4a53-9d5e-3f5c2a8b9d10",
        "attempt": 2,
        "state": "retrying",
        "status_code": 503,
        "duration_ms": 41.5,
        "next_attempt_at": "2024-01-15T10:31:00Z",
    },
    "WebhookRedeliveryRequested": {
        "user_id": "alice",
        "endpoint_id": "9f86d081884c7d659a2feaa0c55ad015",
        "delivery_id": "0b6c2f0e-4f0a-4d7e-8f57-2a3e9c1d5b11",
    },
}

# Wrong in ways a producer could get wrong: a bad pattern, enum or bound.
INVALID_PAYLOADS: list[tuple[str, dict[str, Any]]] = [
    ("WatchStarted", {"min_outlier_score": 0.5}),
    ("WatchStarted", {"min_niche_score": 0.5}),
    ("OutlierDetected", {"category": "knitting"}),
    ("WebhookDeliveryAttempted", {"state": "sent"}),
    ("ProfileRequested", {"username": "Not Valid!"}),
    ("ProfileRequested", {"priority": "URGENT"}),
    ("ProfileRequested", {"request_id": "XYZ"}),
    ("ProfileIngestStarted", {"attempt": 0}),
    ("SimilarAccountsRequested", {"priority": "NOW"}),
    ("SimilarAccountsFetched", {"accounts": [{"username": f"a{i}"} for i in range(201)]}),
    (
        "AnalysisRequested",
        {"competitors": [{"username": f"c{i}", "selection_method": "manual"} for i in range(16)]},
    ),
    ("AnalysisRequested", {"competitors": [{"username": "glow.mia", "selection_method": "guessed"}]}),
    ("AnalysisRequested", {"competitors": ["glow.mia"]}),  # version 1's shape: upcast, never written
    ("AnalysisUpdated", {"competitors": [{"username": "glow.mia"}]}),
    ("AnalysisRequested", {"rerun_frequency_hours": 169}),
    ("AnalysisTriggered", {"trigger": "whenever"}),
    ("ProgressUpdated", {"progress": 101}),
    ("CrawlRequested", {"target_profiles": 0}),
    ("ProfileDiscovered", {"outcome": "maybe"}),
    ("CrawlPaused", {"pauses": 0}),
    ("MediaStored", {"key": "../../etc/passwd"}),
    ("MediaStored", {"content_type": "text/html"}),
    ("MediaStored", {"kind": "post_image"}),
]

# Payloads as the code of each earlier version wrote them (a store keeps them): one or more per version.
EARLIER_PAYLOADS: dict[tuple[str, int], list[dict[str, Any]]] = {
    ("AnalysisRequested", 1): [
        {**VALID_PAYLOADS["AnalysisRequested"], "competitors": ["glow.mia", "chef_leo"]},
        {**VALID_PAYLOADS["AnalysisRequested"], "competitors": [], "user_id": "user-1"},
    ],
    ("AnalysisUpdated", 1): [
        {"queue_id": QUEUE_ID, "user_id": "user-1", "competitors": ["glow.mia"]},
        {"queue_id": QUEUE_ID, "competitors": None, "auto_rerun_enabled": False},
        VALID_PAYLOADS["AnalysisUpdated"],
    ],
    # Version 1 had no niche threshold.
    ("WatchStarted", 1): [
        {k: v for k, v in VALID_PAYLOADS["WatchStarted"].items() if k != "min_niche_score"},
    ],
    ("OutlierDetected", 1): [
        {
            k: v
            for k, v in VALID_PAYLOADS["OutlierDetected"].items()
            if k not in ("min_niche_score", "niche_outlier_score", "category")
        },
    ],
}

# The gateway's contract (API.md): its numbered endpoints and the ops endpoints.
API_ROUTES = {
    ("POST", "/api/profile/{username}/request"),
    ("GET", "/api/profile/{username}/status"),
    ("GET", "/api/profile/{username}"),
    ("GET", "/api/profile/{username}/reels"),
    ("GET", "/api/profile/{username}/similar"),
    ("POST", "/api/viral-ideas/queue"),
    ("GET", "/api/viral-ideas/queue/{session_id}"),
    ("POST", "/api/viral-ideas/queue/{queue_id}/start"),
    ("POST", "/api/viral-ideas/queue/{queue_id}/process"),
    ("POST", "/api/viral-ideas/queue/{queue_id}/cancel"),
    ("POST", "/api/viral-ideas/queue/{queue_id}/rerun"),
    ("PATCH", "/api/viral-ideas/queue/{queue_id}"),
    ("GET", "/api/viral-ideas/queue/{queue_id}/runs"),
    ("POST", "/api/viral-ideas/process-pending"),
    ("GET", "/api/viral-ideas/queue-status"),
    ("GET", "/api/viral-ideas/check-existing/{username}"),
    ("GET", "/api/viral-analysis/{queue_id}/results"),
    ("GET", "/api/viral-analysis/{queue_id}/content"),
    ("POST", "/api/crawler/runs"),
    ("GET", "/api/crawler/runs/{run_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ADMIN_ROUTES = {
    ("POST", "/api/viral-ideas/queue/{queue_id}/process"),
    ("POST", "/api/viral-ideas/process-pending"),
    ("POST", "/api/crawler/runs"),
}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_json_schema(name: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((CONTRACTS / "events" / f"{name}.schema.json").read_text()))


def load_earlier_schema(name: str, version: int) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(generate.earlier_schema(name, version).read_text()))


def load_yaml(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(path.read_text()))


def local_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in local_refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in local_refs(item)]
    return []


def resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_committed_contracts_match_the_event_models() -> None:
    changed = generate.differences(generate.render())
    assert not changed, (
        "contracts/ drifted from libs/events (run `make contracts` and commit the result): "
        + ", ".join(str(p.relative_to(ROOT)) for p in changed)
    )


def test_check_mode_lists_the_files_that_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events_dir = tmp_path / "events"
    events_dir.mkdir()
    moved = {}
    for path, text in generate.render().items():
        target = events_dir / path.name if path.parent == generate.EVENTS_DIR else tmp_path / path.name
        target.write_text(text)
        moved[target] = text
    (events_dir / "ProfileRequested.schema.json").write_text("{}\n")
    (events_dir / "Retired.schema.json").write_text("{}\n")
    monkeypatch.setattr(generate, "CONTRACTS", tmp_path)
    monkeypatch.setattr(generate, "EVENTS_DIR", events_dir)
    monkeypatch.setattr(generate, "ASYNCAPI", tmp_path / "asyncapi.yaml")
    monkeypatch.setattr(generate, "render", lambda: moved)

    assert generate.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "make contracts" in out
    assert "ProfileRequested.schema.json" in out and "Retired.schema.json" in out
    assert "ProfileIngested.schema.json" not in out


def test_every_event_type_has_a_schema_and_a_publisher() -> None:
    on_disk = {p.name.removesuffix(".schema.json") for p in (CONTRACTS / "events").glob("*.schema.json")}
    earlier = {p.name.removesuffix(".schema.json") for p in generate.earlier_schemas()}
    assert set(REGISTRY) | {"Envelope"} == on_disk - earlier
    assert set(generate.FLOWS) == set(REGISTRY)
    for name in REGISTRY:
        schema = load_json_schema(name)
        assert schema["$id"] == generate.schema_id(name)
        assert schema["title"] == schema["x-event-type"] == name
        assert schema["x-schema-version"] == REGISTRY[name].schema_version


@pytest.mark.parametrize("name", [*sorted(REGISTRY), "Envelope"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_json_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_version_a_store_may_hold_has_its_schema_and_no_other() -> None:
    versioned = {p for p in (CONTRACTS / "events").glob("*.v*.schema.json")}
    assert versioned == set(generate.earlier_schemas())
    assert generate.earlier_schemas(), "the catalogue has no event type past version 1 any more"
    for path, (name, version) in generate.earlier_schemas().items():
        schema = load_earlier_schema(name, version)
        assert schema["$id"] == generate.schema_id(name, version) != generate.schema_id(name)
        assert schema["title"] == schema["x-event-type"] == name
        assert schema["x-schema-version"] == version, path
        Draft202012Validator.check_schema(schema)


def test_every_earlier_version_has_sample_payloads() -> None:
    assert set(EARLIER_PAYLOADS) == set(generate.earlier_schemas().values()), "add payloads of that version"


@pytest.mark.parametrize(("name", "version"), sorted(EARLIER_PAYLOADS))
def test_an_earlier_version_upcasts_to_what_the_current_schema_and_model_accept(
    name: str, version: int
) -> None:
    earlier, current = validator(load_earlier_schema(name, version)), validator(load_json_schema(name))
    for payload in EARLIER_PAYLOADS[name, version]:
        earlier.validate(payload)  # as that version's code wrote it
        before = copy.deepcopy(payload)
        upcast_payload = upcast(CHAINS[name], version, payload)
        assert payload == before, "an upcaster must not change what it reads"
        current.validate(upcast_payload)
        REGISTRY[name].model_validate(upcast_payload)


def test_make_contracts_keeps_the_schema_of_the_version_a_raise_leaves_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events_dir = tmp_path / "events"
    events_dir.mkdir()
    monkeypatch.setattr(generate, "CONTRACTS", tmp_path)
    monkeypatch.setattr(generate, "EVENTS_DIR", events_dir)
    monkeypatch.setattr(generate, "ASYNCAPI", tmp_path / "asyncapi.yaml")
    monkeypatch.setattr(generate, "TAXONOMY", tmp_path / "taxonomy.json")
    for path in generate.earlier_schemas():
        (events_dir / path.name).write_text((CONTRACTS / "events" / path.name).read_text())
    v1 = generate.dump_json(generate.event_schema(ProfileRequested))
    (events_dir / "ProfileRequested.schema.json").write_text(v1)
    monkeypatch.setattr(ProfileRequested, "schema_version", 2)

    assert generate.main(["--check"]) == 1
    assert "ProfileRequested.v1.schema.json" in capsys.readouterr().out
    assert generate.main([]) == 0
    kept = json.loads((events_dir / "ProfileRequested.v1.schema.json").read_text())
    assert kept == {**json.loads(v1), "$id": generate.schema_id("ProfileRequested", 1)}
    current = json.loads((events_dir / "ProfileRequested.schema.json").read_text())
    assert current["x-schema-version"] == 2
    assert generate.main(["--check"]) == 0

    (events_dir / "ProfileRequested.v1.schema.json").unlink()  # lost: only git history has it now
    assert generate.main([]) == 1
    assert "ProfileRequested.v1.schema.json" in capsys.readouterr().out


def test_every_event_type_has_a_sample_payload() -> None:
    assert set(VALID_PAYLOADS) == set(REGISTRY), "add a sample payload for each new event type"


@pytest.mark.parametrize("name", sorted(VALID_PAYLOADS))
def test_sample_payload_is_accepted_by_schema_and_model(name: str) -> None:
    payload = VALID_PAYLOADS[name]
    validator(load_json_schema(name)).validate(payload)
    REGISTRY[name].model_validate(payload)


@pytest.mark.parametrize("name", sorted(VALID_PAYLOADS))
def test_payload_missing_a_required_field_is_rejected_by_schema_and_model(name: str) -> None:
    schema = load_json_schema(name)
    assert schema["required"], f"{name} has no required field"
    for field in schema["required"]:
        payload = {k: v for k, v in VALID_PAYLOADS[name].items() if k != field}
        assert not validator(schema).is_valid(payload), f"{name} without {field} passed the schema"
        with pytest.raises(ValidationError):
            REGISTRY[name].model_validate(payload)


@pytest.mark.parametrize(("name", "change"), INVALID_PAYLOADS)
def test_wrong_payload_is_rejected_by_schema_and_model(name: str, change: dict[str, Any]) -> None:
    payload = {**copy.deepcopy(VALID_PAYLOADS[name]), **change}
    assert not validator(load_json_schema(name)).is_valid(payload)
    with pytest.raises(ValidationError):
        REGISTRY[name].model_validate(payload)


def test_envelope_schema_accepts_what_the_envelope_writes() -> None:
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type="ProfileRequested",
        occurred_at=datetime.now(UTC),
        producer="gateway",
        stream_id="profile-fitwithmaya",
        stream_version=1,
        correlation_id=uuid.uuid4(),
        payload=VALID_PAYLOADS["ProfileRequested"],
    )
    schema = load_json_schema("Envelope")
    body = envelope.model_dump(mode="json")
    validator(schema).validate(body)
    assert not validator(schema).is_valid({**body, "stream_version": 0})
    assert not validator(schema).is_valid({**body, "event_id": "not-a-uuid"})


def test_asyncapi_describes_the_exchange_every_event_and_every_queue() -> None:
    doc = load_yaml(CONTRACTS / "asyncapi.yaml")
    assert doc["asyncapi"].startswith("3.")
    exchange = doc["components"]["channelBindings"]["eventsExchange"]["amqp"]["exchange"]
    assert exchange["type"] == "topic" and exchange["durable"] is True
    for name in REGISTRY:
        assert doc["channels"][name]["address"] == name
        payload = doc["components"]["messages"][name]["payload"]["allOf"][1]["properties"]["payload"]
        assert payload == {"$ref": f"./events/{name}.schema.json"}
        earlier = doc["components"]["messages"][name].get("x-earlier-versions", [])
        assert [e["schema_version"] for e in earlier] == list(range(1, REGISTRY[name].schema_version))
        for publisher in generate.FLOWS[name].publishers:
            assert doc["operations"][f"{publisher}-publishes-{name}"]["action"] == "send"
    for consumer in generate.Topology().subscriptions:
        assert doc["operations"][f"{consumer}-consumes"]["action"] == "receive"
        assert doc["channels"][f"dlq-{consumer}"]["address"].endswith(".dlq")
        assert "x-message-ttl" in doc["channels"][f"retry-{consumer}"]["x-arguments"]


@pytest.mark.parametrize("name", ["asyncapi.yaml", "openapi.yaml"])
def test_every_reference_resolves(name: str) -> None:
    doc = load_yaml(CONTRACTS / name)
    for ref in local_refs(doc):
        if ref.startswith("#/"):
            resolve_pointer(doc, ref)
        else:
            assert (CONTRACTS / ref).is_file(), f"{name}: {ref} does not exist"


def test_openapi_is_3_1_with_the_error_schema_and_admin_bearer() -> None:
    doc = load_yaml(CONTRACTS / "openapi.yaml")
    assert str(doc["openapi"]).startswith("3.1.")
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"success", "detail", "error_code", "timestamp"}
    scheme = doc["components"]["securitySchemes"]["adminBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path in ADMIN_ROUTES:
        operation = doc["paths"][path][method.lower()]
        assert operation["security"] == [{"adminBearer": []}], f"{method} {path} is an admin endpoint"
        assert {"401", "403"} <= set(operation["responses"])


def template(path: str) -> str:
    """A path as OpenAPI compares them: templates that differ only in parameter names are one path
    (PATCH /api/viral-ideas/queue/{queue_id} lives with GET .../{session_id})."""
    return re.sub(r"\{\w+\}", "{}", path)


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), template(p)) for p, item in doc["paths"].items() for m in item if m in HTTP_METHODS}


def test_openapi_has_every_endpoint_of_the_contract() -> None:
    documented = documented_operations(load_yaml(CONTRACTS / "openapi.yaml"))
    missing = sorted((m, p) for m, p in API_ROUTES if (m, template(p)) not in documented)
    assert not missing, f"missing from openapi.yaml: {missing}"


def test_no_two_openapi_paths_are_the_same_template() -> None:
    paths = list(load_yaml(CONTRACTS / "openapi.yaml")["paths"])
    assert len({template(p) for p in paths}) == len(paths), "OpenAPI 3.1 4.8.8: such paths are identical"


def test_endpoint_list_matches_api_md() -> None:
    if not API_MD.exists():
        pytest.skip("shared/design/API.md is not beside the repository")
    # API.md also lists the endpoints of issues still open, under a heading of their own: those may be
    # built or not yet, but everything above that heading is the contract the gateway serves today.
    built, _, planned = API_MD.read_text().partition(PLANNED_HEADING)
    endpoint = r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\[\s]*)"
    listed, upcoming = set(re.findall(endpoint, built)), set(re.findall(endpoint, planned))
    assert listed <= API_ROUTES, f"in API.md, not served: {sorted(listed - API_ROUTES)}"
    assert API_ROUTES <= listed | upcoming, f"served, not in API.md: {sorted(API_ROUTES - listed - upcoming)}"


def gateway_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the gateway's one route table (services.gateway.routes), static files aside."""
    app = web.Application()
    setup_routes(app, "gateway", cast(Any, None))
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and not isinstance(r.resource, web.StaticResource)
    }
    # Drop aiohttp's implicit HEAD twins and any {name:regex} constraints.
    return {(m, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", p)) for m, p in routes if m != "HEAD"}


def test_every_gateway_route_is_in_openapi() -> None:
    doc = load_yaml(CONTRACTS / "openapi.yaml")
    routes = gateway_routes()
    assert ("POST", "/api/profile/{username}/request") in routes  # the discovery itself works
    documented = documented_operations(doc)
    missing = sorted((m, p) for m, p in routes if (m, template(p)) not in documented)
    assert not missing, f"routes the gateway serves but openapi.yaml does not document: {missing}"

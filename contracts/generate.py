"""Writes the event JSON Schemas and the AsyncAPI document from the code: `python -m contracts.generate`.

`--check` writes nothing and exits 1 listing the files that differ. openapi.yaml is kept by hand.

An event store holds every version ever written, so the schema of each earlier version stays beside the
current one, as `<Type>.v<n>.schema.json`: the code no longer has the model that generated it, so it is
never generated again. When a type's schema_version is raised, the run that writes the new schema first
keeps the one on disk as that earlier version (only its $id changes, to name the version).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from libs.categories import (
    ACCOUNT_TYPES,
    CATEGORIES,
    CONFIDENT_CREATOR_REELS,
    CONFIDENT_NICHE_REELS,
    CONTENT_STYLES,
    LANGUAGES,
    MAX_KEYWORDS,
)
from libs.events.catalog import REGISTRY, Event
from libs.events.envelope import Envelope
from libs.events.topology import Topology

CONTRACTS = Path(__file__).resolve().parent
EVENTS_DIR = CONTRACTS / "events"
ASYNCAPI = CONTRACTS / "asyncapi.yaml"
TAXONOMY = CONTRACTS / "taxonomy.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
AMQP_BINDING_VERSION = "0.3.0"


@dataclass(frozen=True)
class Flow:
    stream: str
    publishers: tuple[str, ...]


# Who appends each event and to which stream (ARCHITECTURE.md's services table, plus the schedulers:
# viral-analysis re-triggers runs, the crawler requests its own runs). Every catalogued type must appear.
FLOWS: dict[str, Flow] = {
    "ProfileRequested": Flow("profile-<username>", ("gateway", "crawler", "alerts")),
    "ProfileRequestPromoted": Flow("profile-<username>", ("gateway",)),
    "ProfileIngestStarted": Flow("profile-<username>", ("profile-ingest",)),
    "ProfileIngested": Flow("profile-<username>", ("profile-ingest",)),
    "ProfileIngestFailed": Flow("profile-<username>", ("profile-ingest",)),
    "ProfileCategorised": Flow("profile-<username>", ("profile-ingest",)),
    "ReelsCategorised": Flow("profile-<username>", ("profile-ingest",)),
    "SimilarAccountsRequested": Flow("similar-<username>", ("gateway",)),
    "SimilarAccountsFetched": Flow("similar-<username>", ("profile-ingest",)),
    "SimilarAccountsFetchFailed": Flow("similar-<username>", ("profile-ingest",)),
    "MediaStored": Flow("media-<username>", ("profile-ingest",)),
    "AnalysisRequested": Flow("analysis-<queue_id>", ("gateway",)),
    "AnalysisTriggered": Flow("analysis-<queue_id>", ("gateway", "viral-analysis")),
    "AnalysisCancelled": Flow("analysis-<queue_id>", ("gateway",)),
    "AnalysisUpdated": Flow("analysis-<queue_id>", ("gateway",)),
    "AnalysisStarted": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "ProgressUpdated": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "CompetitorStatusChanged": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "ContentFetched": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "AnalysisCompleted": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "AnalysisFailed": Flow("analysis-<queue_id>", ("viral-analysis",)),
    "CrawlRequested": Flow("crawl-<run_id>", ("gateway", "crawler")),
    "CrawlStarted": Flow("crawl-<run_id>", ("crawler",)),
    "CrawlPaused": Flow("crawl-<run_id>", ("crawler",)),
    "ProfileDiscovered": Flow("crawl-<run_id>", ("crawler",)),
    "CrawlRoundCompleted": Flow("crawl-<run_id>", ("crawler",)),
    "CrawlCompleted": Flow("crawl-<run_id>", ("crawler",)),
    "WatchStarted": Flow("watchlist-<user_id>", ("gateway",)),
    "WatchStopped": Flow("watchlist-<user_id>", ("gateway",)),
    "OutlierDetected": Flow("alerts-<user_id>", ("alerts",)),
    "WebhookRegistered": Flow("webhooks-<user_id>", ("gateway",)),
    "WebhookRemoved": Flow("webhooks-<user_id>", ("gateway",)),
    "WebhookDeliveryAttempted": Flow("webhook-<endpoint_id>", ("alerts",)),
    "WebhookRedeliveryRequested": Flow("webhook-<endpoint_id>", ("gateway",)),
}


def schema_id(name: str, version: int | None = None) -> str:
    """The current version's id is the type's alone; an earlier version's names the version."""
    return f"urn:viralspot:contracts:events:{name}" + (f":v{version}" if version is not None else "")


def earlier_schema(name: str, version: int) -> Path:
    return EVENTS_DIR / f"{name}.v{version}.schema.json"


def earlier_schemas() -> dict[Path, tuple[str, int]]:
    """Every earlier version's schema file a store may need: event type and version."""
    return {
        earlier_schema(name, v): (name, v)
        for name, event_cls in REGISTRY.items()
        for v in range(1, event_cls.schema_version)
    }


def event_schema(event_cls: type[Event]) -> dict[str, Any]:
    schema = event_cls.model_json_schema()
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": schema_id(event_cls.event_type),
            "title": event_cls.event_type,
            "x-event-type": event_cls.event_type,
            "x-schema-version": event_cls.schema_version,
            "x-stream": FLOWS[event_cls.event_type].stream,
        }
    )
    return schema


def envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema()
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": schema_id("Envelope"),
            "title": "Envelope",
            "description": "Every message body and event-store row; payload follows the event's schema.",
        }
    )
    return schema


def _exchange(topology: Topology) -> dict[str, Any]:
    return {"name": topology.exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}


def _queue_binding(name: str) -> dict[str, Any]:
    return {
        "amqp": {
            "is": "queue",
            "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": "/"},
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _event_message(name: str, event_cls: type[Event]) -> dict[str, Any]:
    flow = FLOWS[name]
    message = {
        "name": name,
        "title": name,
        "summary": (event_cls.__doc__ or f"{name}, appended to stream {flow.stream}.").strip(),
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/AmqpHeaders"},
        "correlationId": {"$ref": "#/components/correlationIds/envelope"},
        "payload": {
            "allOf": [
                {"$ref": "./events/Envelope.schema.json"},
                {
                    "type": "object",
                    "properties": {
                        "event_type": {"const": name},
                        "schema_version": {"const": event_cls.schema_version},
                        "payload": {"$ref": f"./events/{name}.schema.json"},
                    },
                },
            ]
        },
        "bindings": {"amqp": {"messageType": name, "bindingVersion": AMQP_BINDING_VERSION}},
        "x-stream": flow.stream,
        "x-publishers": list(flow.publishers),
    }
    if event_cls.schema_version > 1:
        # Stored events keep the version they were written at; the relay and a replay publish them so.
        message["x-earlier-versions"] = [
            {"schema_version": v, "payload": {"$ref": f"./events/{earlier_schema(name, v).name}"}}
            for v in range(1, event_cls.schema_version)
        ]
    return message


def _failure_messages() -> dict[str, Any]:
    envelope = {"$ref": "./events/Envelope.schema.json"}
    return {
        "RetriedEvent": {
            "name": "RetriedEvent",
            "summary": "An event whose handler failed, waiting in a delay queue for its next attempt.",
            "contentType": "application/json",
            "headers": {
                "allOf": [
                    {"$ref": "#/components/schemas/AmqpHeaders"},
                    {
                        "type": "object",
                        "properties": {
                            "x-attempt": {"type": "integer", "minimum": 1},
                            "x-last-error": {"type": "string", "maxLength": 1000},
                        },
                        "required": ["x-attempt"],
                    },
                ]
            },
            "payload": envelope,
        },
        "DeadLetteredEvent": {
            "name": "DeadLetteredEvent",
            "summary": "Parked for a person: retries exhausted, undecodable, unknown or schema-invalid.",
            "contentType": "application/json",
            "headers": {
                "allOf": [
                    {"$ref": "#/components/schemas/AmqpHeaders"},
                    {
                        "type": "object",
                        "properties": {
                            "x-dead-letter-reason": {
                                "type": "string",
                                "examples": [
                                    "retries_exhausted",
                                    "undecodable",
                                    "unknown_event_type",
                                    "schema_invalid",
                                ],
                            },
                            "x-error": {"type": "string", "maxLength": 1000},
                            "x-failed-at": {"type": "string", "format": "date-time"},
                            "x-attempts": {"type": "integer", "minimum": 0},
                            "x-original-queue": {"type": "string"},
                            "x-original-routing-key": {"type": "string"},
                            "x-consumer": {"type": "string"},
                        },
                        "required": ["x-dead-letter-reason", "x-error", "x-attempts", "x-original-queue"],
                    },
                ]
            },
            "payload": {"description": "The original body, unchanged (it may not even be JSON)."},
        },
    }


def _consumer_parts(
    topology: Topology, consumer: str, channels: dict[str, Any], operations: dict[str, Any]
) -> None:
    sub = topology.subscriptions[consumer]
    handled = sorted(REGISTRY) if "#" in sub.bindings else sorted(sub.bindings)
    queue = topology.queue(consumer)
    queue_channel = f"queue-{consumer}"
    fed = (
        f"not bound to {topology.exchange}: {sub.lane_of} moves messages of {', '.join(sub.bindings)} here"
        if sub.lane_of
        else f"bound to {topology.exchange} with routing keys {', '.join(sub.bindings)}"
    )
    channels[queue_channel] = {
        "address": queue,
        "title": f"{consumer} work queue",
        "description": f"Durable queue of {consumer}, {fed}. Acked only after the handler's transaction "
        "committed.",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in handled},
        "bindings": _queue_binding(queue),
        "x-routing-keys": [] if sub.lane_of else list(sub.bindings),
    }
    if sub.max_priority:
        channels[queue_channel]["x-arguments"] = {"x-max-priority": sub.max_priority}
    operations[f"{consumer}-consumes"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{queue_channel}"},
        "summary": f"{consumer} handles these events, idempotently.",
        "messages": [{"$ref": f"#/channels/{queue_channel}/messages/{name}"} for name in handled],
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        "tags": [{"name": consumer}],
    }

    attempts = range(1, topology.retry.max_retries + 1)
    retry_channel = f"retry-{consumer}"
    channels[retry_channel] = {
        "address": f"{queue}.retry.{{attempt}}",
        "title": f"{consumer} delay queues",
        "description": "One delay queue per attempt; a message waits out the queue's TTL, then dead-letters "
        f"through the default exchange back into {queue}.",
        "parameters": {
            "attempt": {
                "enum": [str(a) for a in attempts],
                "description": "Attempt number (RETRY_MAX attempts in all).",
            }
        },
        "messages": {"RetriedEvent": {"$ref": "#/components/messages/RetriedEvent"}},
        "bindings": _queue_binding(f"{queue}.retry.{{attempt}}"),
        "x-arguments": {
            "x-message-ttl": {str(a): int(topology.retry.delay_s(a) * 1000) for a in attempts},
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
        },
    }
    operations[f"{consumer}-retries"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{retry_channel}"},
        "summary": f"{consumer} sends a failed event to the delay queue of its next attempt.",
        "messages": [{"$ref": f"#/channels/{retry_channel}/messages/RetriedEvent"}],
        "tags": [{"name": consumer}],
    }

    dlq = topology.dead_letter_queue(consumer)
    dlq_channel = f"dlq-{consumer}"
    channels[dlq_channel] = {
        "address": dlq,
        "title": f"{consumer} dead-letter queue",
        "description": "Parking queue: nothing consumes it automatically; the headers say why.",
        "messages": {"DeadLetteredEvent": {"$ref": "#/components/messages/DeadLetteredEvent"}},
        "bindings": _queue_binding(dlq),
    }
    operations[f"{consumer}-dead-letters"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{dlq_channel}"},
        "summary": f"{consumer} parks a message no retry can fix, or whose retries ran out.",
        "messages": [{"$ref": f"#/channels/{dlq_channel}/messages/DeadLetteredEvent"}],
        "tags": [{"name": consumer}],
    }


def asyncapi(topology: Topology) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name in sorted(REGISTRY):
        messages[name] = _event_message(name, REGISTRY[name])
        channels[name] = {
            "address": name,
            "title": name,
            "description": f"Routing key {name} on the topic exchange {topology.exchange}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"$ref": "#/components/channelBindings/eventsExchange"},
        }
        for publisher in FLOWS[name].publishers:
            operations[f"{publisher}-publishes-{name}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": f"{publisher} appends {name} to its outbox; the relay publishes it after commit.",
                "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
                "bindings": {
                    "amqp": {"deliveryMode": 2, "mandatory": False, "bindingVersion": AMQP_BINDING_VERSION}
                },
                "tags": [{"name": publisher}],
            }
    messages.update(_failure_messages())
    for consumer in sorted(topology.subscriptions):
        _consumer_parts(topology, consumer, channels, operations)

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ViralSpot events",
            "version": "1.0.0",
            "description": (
                "Every event travels in the same envelope (see Envelope.schema.json) on one durable topic "
                f"exchange, {topology.exchange}, with the event type as routing key. Messages are persistent "
                "and published with publisher confirms by each service's outbox relay. An event keeps the "
                "schema_version it was written at (a message's x-earlier-versions lists the older payloads "
                "a store may hold); consumers upcast older versions to the current one, and requeue, "
                "never dead-letter, a version newer than they know. Names carry the "
                "EVENT_NAMESPACE prefix (default shown); retry delays follow RETRY_MAX, RETRY_BASE_DELAY_S and "
                "RETRY_MAX_DELAY_S (defaults shown). Generated by `python -m contracts.generate`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ 3.10+ (AMQP_URL).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                "AmqpHeaders": {
                    "type": "object",
                    "description": "Application headers; message_id, correlation_id, type (the event type), "
                    "timestamp and priority (profile work only) are set as AMQP properties.",
                    "properties": {
                        "stream_id": {"type": "string"},
                        "stream_version": {"type": "integer", "minimum": 1},
                        "producer": {"type": "string"},
                    },
                    "required": ["stream_id", "stream_version", "producer"],
                }
            },
            "channelBindings": {
                "eventsExchange": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": _exchange(topology),
                        "bindingVersion": AMQP_BINDING_VERSION,
                    }
                }
            },
            "correlationIds": {
                "envelope": {
                    "description": "Shared by every event caused by one request.",
                    "location": "$message.payload#/correlation_id",
                }
            },
        },
    }


def dump_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dump_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=110, default_flow_style=False)


def render(topology: Topology | None = None) -> dict[Path, str]:
    """Every generated file (absolute path) and the text it must hold."""
    missing, unknown = sorted(set(REGISTRY) - set(FLOWS)), sorted(set(FLOWS) - set(REGISTRY))
    if missing or unknown:
        raise SystemExit(
            f"contracts/generate.py FLOWS is out of step with the catalogue: "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    files = {EVENTS_DIR / "Envelope.schema.json": dump_json(envelope_schema())}
    for name, event_cls in REGISTRY.items():
        files[EVENTS_DIR / f"{name}.schema.json"] = dump_json(event_schema(event_cls))
    files[ASYNCAPI] = dump_yaml(asyncapi(topology or Topology()))
    files[TAXONOMY] = dump_json(taxonomy())
    return files


def taxonomy() -> dict[str, Any]:
    """The discovery taxonomy (libs/categories.py) and the scores' definitions, for the API's readers."""
    return {
        "description": "Categories, content styles, languages and account types of GET /api/reels, "
        "GET /api/posts and GET /api/filter-options; generated from libs/categories.py.",
        "categories": [{"name": c.name, "label": c.label, "keywords": list(c.keywords)} for c in CATEGORIES],
        "content_styles": list(CONTENT_STYLES),
        "languages": list(LANGUAGES),
        "account_types": list(ACCOUNT_TYPES),
        "max_keywords": MAX_KEYWORDS,
        "scores": {
            "outlier_score": "view_count / the creator's median view_count over their reels (0 when either is "
            "missing); for posts, like_count / the creator's median like_count over their posts",
            "niche_outlier_score": "view_count / the median view_count of the reels of the same category "
            "posted in the same calendar month (UTC), over every reel the read model holds; null without one",
            "score_confidence": f"low when the creator has fewer than {CONFIDENT_CREATOR_REELS} reels or the "
            f"niche (category and month) fewer than {CONFIDENT_NICHE_REELS}, else high",
        },
    }


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Schema files on disk that no event type generates or needs any more."""
    kept = earlier_schemas()
    return sorted(p for p in EVENTS_DIR.glob("*.schema.json") if p not in files and p not in kept)


def missing_earlier_schemas() -> list[Path]:
    return sorted(p for p in earlier_schemas() if not p.exists())


def differences(files: dict[Path, str]) -> list[Path]:
    changed = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    return sorted(changed + stale_files(files) + missing_earlier_schemas())


def keep_earlier_versions() -> list[Path]:
    """A current schema on disk of an older version than the code's becomes that version's file."""
    kept = []
    for path, (name, version) in earlier_schemas().items():
        current = EVENTS_DIR / f"{name}.schema.json"
        if path.exists() or not current.exists():
            continue
        schema = json.loads(current.read_text())
        if schema.get("x-schema-version") == version:
            path.write_text(dump_json({**schema, "$id": schema_id(name, version)}))
            kept.append(path)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file differs")
    args = parser.parse_args(argv)
    files = render()
    changed = differences(files)
    root = CONTRACTS.parent
    if args.check:
        if changed:
            print("contracts are out of date; run `make contracts`:")
            for path in changed:
                print(f"  {path.relative_to(root)}")
            return 1
        print("contracts are up to date")
        return 0
    EVENTS_DIR.mkdir(exist_ok=True)
    for path in keep_earlier_versions():
        print(f"contracts: kept {path.relative_to(root)}")
    for path in stale_files(files):
        path.unlink()
    for path, text in files.items():
        if path in changed:
            path.write_text(text)
    if missing := missing_earlier_schemas():
        # Not in the code any more: only the repository's history has them.
        print("contracts: earlier versions' schemas are missing (take them from git history):")
        for path in missing:
            print(f"  {path.relative_to(root)}")
        return 1
    written = len([p for p in changed if p in files])
    print(f"contracts: {written} file(s) written, {len(files) - written} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())

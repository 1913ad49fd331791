"""The results as a Markdown table (bench/results/latest.md) and as JSON (bench/results/latest.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.cpu import GROUPS

RESULTS = Path(__file__).with_name("results")

GOALS = {"projector_ratio": 0.6, "new_rps": 800, "duplicate_rps": 2000, "p99_ms": 50}


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _check(ok: bool) -> str:
    return "met" if ok else "MISSED"


HTTP_COLUMNS = (
    "case", "req/s", "ratio to bare", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "errors",
    "queue depth before", "unpublished after", "goal",
)  # fmt: skip


def _http_row(label: str, c: dict[str, Any], ref: dict[str, Any], *extra: object) -> str:
    latency = (c["p50_ms"], c["p90_ms"], c["p99_ms"], c["max_ms"])
    ratio = f"{c['requests_per_s'] / ref['requests_per_s']:.2f}"
    errors = c["socket_errors"] + c["timeouts"]
    return _row(label, c["requests_per_s"], ratio, *latency, c["non_2xx"], errors, *extra)


def markdown(r: dict[str, Any]) -> str:
    m, lat, raw, http = r["machine"], r["append_to_projected"], r["raw_broker"], r["profile_requests"]
    lines = [
        "# ViralSpot event backbone benchmark",
        "",
        f"Run at {r['started_at']} in {r['duration_s']} s (`make bench`, one run for every figure).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']}, RabbitMQ {m['rabbitmq']}; at start: load average {m['loadavg']}, "
        f"{m['other_postgres_sessions']} PostgreSQL sessions of others.",
        "Gateway, projector, the load generator, PostgreSQL and RabbitMQ all share these CPUs and one disk;",
        "figures move by tens of percent between runs when other work shares the machine.",
        "",
        f"## 1. Append to projected, {lat['target_rate']} appends/s for {lat['seconds']} s",
        "",
        _row("events", "achieved appends/s", "p50 ms", "p90 ms", "p99 ms", "max ms"),
        _row(*["---"] * 6),
        _row(lat["events"], lat["achieved_rate"], lat["p50_ms"], lat["p90_ms"], lat["p99_ms"], lat["max_ms"]),
        "",
        f"Where it goes: the gateway's relay picked an event up {lat['relay_pickup']['p50_ms']} ms after its "
        f"commit (p50; p99 {lat['relay_pickup']['p99_ms']} ms). It ran {lat['relay_batches']} batches "
        f"({lat['events'] / lat['relay_batches']:.1f} events each) of {lat['relay_batch_mean_ms']} ms on "
        f"average (publish, confirms, mark published) and was busy {lat['relay_busy_fraction']:.0%} of the "
        f"time. The projector took {lat['projector_mean_ms_per_event']} ms per event, commit included.",
        "",
        "## 2. Projector throughput next to the raw broker round-trip",
        "",
        _row("what", "events/s", "ratio to raw round-trip", "ratio to raw drain", "notes"),
        _row(*["---"] * 5),
        _row(
            "raw aio-pika round-trip: publishing while consuming",
            raw["events_per_s"],
            "1.00",
            "",
            f"{raw['messages']} persistent msgs of {raw['body_bytes']} B, confirms, manual ack, "
            f"prefetch {raw['prefetch']}; publishing ran at {raw['publish_rate']}/s",
        ),
        _row(
            "raw aio-pika drain: consuming a filled queue",
            raw["backlog_events_per_s"],
            "",
            "1.00",
            "the same messages, published before the consumer started",
        ),
    ]
    for p in r["projector"]:
        ratio, goal = p["events_per_s"] / raw["events_per_s"], GOALS["projector_ratio"]
        lines.append(
            _row(
                f"projector, PROJECTOR_BATCH_SIZE={p['batch_size']}",
                p["events_per_s"],
                f"{ratio:.2f} (goal >= {goal}: {_check(ratio >= goal)})",
                f"{p['events_per_s'] / raw['backlog_events_per_s']:.2f}",
                f"{p['events']} events drained from its queue; {p['with_startup_events_per_s']}/s counting "
                f"its {p['startup_s']} s start-up; appended and relayed in {p['append_and_publish_s']} s",
            )
        )
    ref = http["reference"]
    lines += [
        "",
        f"## 3. POST /api/profile/{{username}}/request ({http['load_generator']}, "
        f"{http['connections']} connections, {http['seconds']} s after a {http['warmup_s']} s warm-up)",
        "",
        _row(*HTTP_COLUMNS),
        _row(*["---"] * len(HTTP_COLUMNS)),
        _http_row("bare aiohttp + uvloop JSON (reference)", ref, ref, "", "", ""),
    ]
    for case, label, goal_rps in (
        ("new", "gateway, new usernames", GOALS["new_rps"]),
        ("duplicate", f"gateway, {http['duplicate_usernames']} duplicate usernames", GOALS["duplicate_rps"]),
        ("duplicate_after_new", "gateway, duplicates after the new run", GOALS["duplicate_rps"]),
    ):
        c = http[case]
        ok = c["requests_per_s"] >= goal_rps and c["p99_ms"] < GOALS["p99_ms"] and c["non_2xx"] == 0
        goal = f"{goal_rps}/s, p99 < {GOALS['p99_ms']} ms: {_check(ok)}"
        lines.append(_http_row(label, c, ref, c["queue_depth_before"], c["outbox_backlog_after"], goal))
    lines += ["", f"## CPU use during each measurement, in cores of {m['nproc']}", "", *cpu_table(r), ""]
    lines += ["## Method", "", *METHOD, ""]
    return "\n".join(lines)


def cpu_table(r: dict[str, Any]) -> list[str]:
    """PostgreSQL and RabbitMQ serve everyone on the machine; `other` is processes that are not ours.
    `bench children` is wrk, or the raw consumer process, which exit inside the measurement."""
    http = r["profile_requests"]
    measured = [
        ("raw round-trip (publisher = bench)", r["raw_broker"]["cpu_cores"]),
        ("raw drain", r["raw_broker"]["backlog_cpu_cores"]),
    ]
    measured += [(f"projector drain, batch {p['batch_size']}", p["cpu_cores"]) for p in r["projector"]]
    measured += [
        ("bare reference", http["reference"]["cpu_cores"]),
        ("gateway, new", http["new"]["cpu_cores"]),
        ("gateway, duplicates", http["duplicate"]["cpu_cores"]),
        ("gateway, duplicates after new", http["duplicate_after_new"]["cpu_cores"]),
    ]
    rows = [_row("measurement", *GROUPS), _row(*["---"] * (len(GROUPS) + 1))]
    rows += [_row(name, *(cores.get(g, 0) for g in GROUPS)) for name, cores in measured]
    return rows


METHOD = [
    "1. The bench process appends `ProfileRequested` events (a new stream each, expected version 0) "
    'with `EventStore(producer="gateway")`, scheduled by the clock; the relay inside a '
    "`python -m services.gateway` process publishes them and a `python -m services.projector` process "
    "projects them. Latency = `readmodel.profile_queue.projected_at` (clock_timestamp() in the "
    "projector's transaction) minus the bench's wall clock right after the append committed, matched by "
    "request_id.",
    "2. Raw round-trip: the bench process publishes N messages shaped like the relay's (envelope body, "
    "headers, priority) to one durable queue through the default exchange, 500 publishes gathered per "
    "batch and their confirms awaited together (as the relay does), while a consumer in its own process "
    "(`python -m bench.raw_broker`) acks each message, prefetch 512; events/s = N / (first publish to last "
    "ack). Raw drain: the same N published first, then a fresh consumer process drains them; events/s = "
    "N / (first delivery to last ack). Projector: stopped, N events appended, the gateway's relay "
    "publishes them all (published_at set, queue depth checked), then the projector process is started; "
    "events/s = N / (last minus first projected_at), which leaves out process start-up (reported "
    "separately). The drain ratio compares like with like; the round-trip one is the issue's.",
    "3. wrk (one thread, Lua script `bench/profile_requests.lua`) against the gateway process, a distinct "
    "username per request for the new case, 64 usernames queued beforehand for the duplicate case. The "
    "store and read models are emptied first, then: duplicates, new, duplicates again with the queue the "
    "new run left behind (its queue position query counts the queue). The reference is a bare aiohttp app "
    "on uvloop (`bench/reference_app.py`) in its own process, measured alone with the same script. "
    "The projector keeps running during the gateway runs.",
]


def write(results: dict[str, Any]) -> str:
    RESULTS.mkdir(exist_ok=True)
    text = markdown(results)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    return text

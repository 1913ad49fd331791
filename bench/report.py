"""The results as a Markdown table (bench/results/latest.md) and as JSON (bench/results/latest.json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from bench.analysis import CRITICAL_PATH_GOAL, JOB_GOAL_S, STATUS_GOALS
from bench.cpu import GROUPS
from bench.discovery import FILTER_OPTIONS_SAMPLES, PAGE_DEEP
from bench.discovery import GOALS as FEED_GOALS

RESULTS = Path(__file__).with_name("results")

GOALS = {"projector_ratio": 0.6, "new_rps": 800, "duplicate_rps": 2000, "p99_ms": 50}


class Section(NamedTuple):
    """One section of the report: its tables, its rows of the CPU table, its Method paragraphs."""

    lines: list[str]
    cpu: list[tuple[str, dict[str, float]]]
    method: list[str]


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table_head(title: str, columns: tuple[str, ...]) -> list[str]:
    return [title, "", _row(*columns), _row(*["---"] * len(columns))]


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
    m = r["machine"]
    ran = [name for name in SECTIONS if name in r]
    sections = [SECTIONS[name](r[name]) for name in ran]
    lines = [
        "# ViralSpot event backbone benchmark",
        "",
        f"Run at {r['started_at']} in {r['duration_s']} s (`make bench`, one run for every figure; "
        f"sections: {', '.join(ran)}).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']}, RabbitMQ {m['rabbitmq']}; at start: load average {m['loadavg']}, "
        f"{m['other_postgres_sessions']} PostgreSQL sessions of others.",
        "Our services, the simulator, the load generator, PostgreSQL and RabbitMQ all share these CPUs and one",
        "disk; figures move by tens of percent between runs when other work shares the machine.",
    ]
    for section in sections:
        lines += ["", *section.lines]
    cpu = [row for section in sections for row in section.cpu]
    lines += ["", f"## CPU use during each measurement, in cores of {m['nproc']}", "", *cpu_table(cpu), ""]
    lines += ["## Method", "", *(p for section in sections for p in section.method), ""]
    return "\n".join(lines)


def backbone_section(b: dict[str, Any]) -> Section:
    lat, raw = b["append_to_projected"], b["raw_broker"]
    lines = [
        f"## 1. Append to projected, {lat['target_rate']} appends/s for {lat['seconds']} s",
        "",
        _row("events", "achieved appends/s", "p50 ms", "p90 ms", "p99 ms", "max ms"),
        _row(*["---"] * 6),
        _row(lat["events"], lat["achieved_rate"], lat["p50_ms"], lat["p90_ms"], lat["p99_ms"], lat["max_ms"]),
        "",
        f"Where it goes: the gateway's relay had an event published and confirmed {lat['relayed']['p50_ms']} "
        f"ms after its commit (p50; p99 {lat['relayed']['p99_ms']} ms). It ran {lat['relay_batches']} batches "
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
    for p in b["projector"]:
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
    cpu = [
        ("raw round-trip (publisher = bench)", raw["cpu_cores"]),
        ("raw drain", raw["backlog_cpu_cores"]),
    ]
    cpu += [(f"projector drain, batch {p['batch_size']}", p["cpu_cores"]) for p in b["projector"]]
    return Section(lines, cpu, METHOD[:2])


def http_section(http: dict[str, Any]) -> Section:
    ref = http["reference"]
    lines = [
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
    cpu = [
        ("bare reference", http["reference"]["cpu_cores"]),
        ("gateway, new", http["new"]["cpu_cores"]),
        ("gateway, duplicates", http["duplicate"]["cpu_cores"]),
        ("gateway, duplicates after new", http["duplicate_after_new"]["cpu_cores"]),
    ]
    return Section(lines, cpu, METHOD[2:3])


def cpu_table(measured: list[tuple[str, dict[str, float]]]) -> list[str]:
    """PostgreSQL and RabbitMQ serve everyone on the machine; `other` is processes that are not ours.
    `bench children` is wrk, or the raw consumer process, which exit inside the measurement.
    Only the groups that used any CPU get a column."""
    groups = [g for g in GROUPS if any(cores.get(g) for _, cores in measured)]
    rows = [_row("measurement", *groups), _row(*["---"] * (len(groups) + 1))]
    rows += [_row(name, *(cores.get(g, 0) for g in groups)) for name, cores in measured]
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


def ingest_section(ingest: dict[str, Any]) -> Section:
    columns = (
        "provider latency", "profiles", "reels each", "provider calls each", "profiles/s", "seconds",
        "first done s", "fetch p50 ms", "bound profiles/s", "ratio to bound", "profile-ingest RSS max MiB",
        "VmHWM MiB", "failed", "goal",
    )  # fmt: skip
    lines = _table_head(
        f"## 4. Profile ingestion, {ingest['reels']} reels each, INGEST_CONCURRENCY={ingest['ingest_concurrency']}",
        columns,
    )
    cpu = []
    for run in ingest["runs"]:
        bound, memory = run.get("bound"), run["memory"]
        if bound:
            ok = bound["ratio"] >= bound["goal"] and run["failed"] == 0
            goal = f">= {bound['goal']} of the bound: {_check(ok)}"
            bound_cells: tuple[object, ...] = (bound["profiles_per_s"], f"{bound['ratio']:.2f}")
        else:
            goal, bound_cells = "none (no latency, no bound)", ("", "")
        lines.append(
            _row(
                f"{run['latency_ms']} ms",
                run["profiles"],
                run["reels_per_profile"],
                run["provider_calls_per_profile"],
                run["profiles_per_s"],
                run["seconds"],
                run["first_completed_s"],
                run["fetch_p50_ms"],
                *bound_cells,
                memory["rss_max_mib"],
                memory["vm_hwm_mib"],
                run["failed"],
                goal,
            )
        )
        cpu.append((f"ingestion, {run['latency_ms']} ms", run["cpu_cores"]))
    bounded = next((run["bound"] for run in ingest["runs"] if run.get("bound")), None)
    if bounded:
        lines += [
            "",
            f"Bound = INGEST_CONCURRENCY / (calls on the critical path x latency) = "
            f"{bounded['ingest_concurrency']} / ({bounded['critical_path_calls']} x latency). The critical "
            "path (services/profile_ingest/fetch.py `fetch_profile`): the profile, then its reels and its similar "
            "accounts in parallel; 50 reels are one page (libs/instagram `get_reels` pages of 50), so 2 calls "
            "of the 3 a profile makes wait on each other.",
        ]
    method = [
        "4. A `python -m infra.simulator` process (seed 42) answers the provider calls; a fresh "
        "`python -m services.profile_ingest` process consumes, with its Instagram client pointed at the "
        "simulator and its own request budget off (PROVIDER_RATE_LIMIT_PER_MINUTE=0; its default of 600/min "
        "would otherwise be the brake) and every other setting at its default (INGEST_CONCURRENCY, "
        f"INGEST_REELS_LIMIT={ingest['reels_limit']}, similar accounts fetched: {ingest['fetch_similar']}). "
        "The store is emptied first, so nothing earlier reaches it. The usernames are picked from the "
        "simulator's world so that each creator has exactly 50 reels. The bench commits one `ProfileRequested` "
        "per username in one transaction (the gateway's relay publishes them), sets the simulator's latency "
        "and times from that commit to the last `ProfileIngested` (its occurred_at); profiles/s = ingested / "
        "that time. 'first done' is the first ProfileIngested; 'fetch p50' is the events' duration_ms, the "
        "provider part of one ingestion; provider calls each comes from the simulator's counters. Memory: "
        "VmRSS of the profile-ingest process sampled every 50 ms during the run (max), and its VmHWM (peak "
        "since its start, so the 300 ms row covers both runs).",
    ]
    return Section(lines, cpu, method)


def analysis_section(analysis: dict[str, Any]) -> Section:
    columns = (
        "provider latency", "jobs", "median s", "max s", "submit to claimed s", "claim to completed s (median)",
        "critical path calls per job",
        "critical path s (median)", "ratio to critical path (median / max)", "network-only ratio (median)",
        "engine share of the jobs' time", "goal",
    )  # fmt: skip
    lines = _table_head(
        f"## 5. Viral analysis job, 1 primary + {analysis['competitors']} competitors, submit to completed",
        columns,
    )
    cpu = []
    for run in analysis["runs"]:
        if "ratio_median" in run:
            ok = run["ratio_median"] <= CRITICAL_PATH_GOAL
            goal = f"median <= {CRITICAL_PATH_GOAL}x the critical path: {_check(ok)}"
            path_cells: tuple[object, ...] = (
                run["critical_path_median_s"], f"{run['ratio_median']:.2f} / {run['ratio_max']:.2f}",
                f"{run['network_only_ratio_median']:.2f}",
            )  # fmt: skip
        else:
            goal = f"median < {JOB_GOAL_S:g} s: {_check(run['median_s'] < JOB_GOAL_S)}"
            path_cells = ("", "", "")
        calls = ", ".join(str(c) for c in run["critical_path_calls"])
        share = run.get("engine_share")
        share_cell = "" if share is None else f"{share:.3f} (goal < {run['engine_share_goal']}: "
        share_cell += "" if share is None else f"{_check(share < run['engine_share_goal'])})"
        lines.append(
            _row(
                f"{run['latency_ms']} ms",
                run["jobs"],
                run["median_s"],
                run["max_s"],
                ", ".join(f"{c:.2f}" for c in run["claim_s"]),
                run["run_median_s"],
                calls,
                *path_cells,
                share_cell,
                goal,
            )
        )
        cpu.append((f"analysis jobs, {run['latency_ms']} ms", run["cpu_cores"]))
    t = analysis["transcripts"]
    lines += [
        "",
        "Critical path of a job in provider calls (services/viral_analysis/fetch.py): the primary and the "
        "competitors are fetched in parallel, each its profile then one page of reels "
        f"({analysis['reels_per_profile']} reels, pages of 50): 2 calls; then each profile's transcripts in "
        f"batches ({t['primary']} wanted for the primary, {t['competitor']} per competitor; a batch asks at "
        "once for as many as are still missing, the next only if some had no speech): 1 call per batch. "
        "Per job: 2 + the most batches any of its profiles needed (worked out from the job's ContentFetched "
        "reels and the transcripts stored). The analysis engine (local) uses no network. Critical path time "
        "= calls x 200 ms + the median claim-to-completed time of the 0 ms jobs (the run's own work that "
        "does not wait on the provider: events, database, the engine). The job time it is compared with "
        "runs from the submit, so a slow hand-over counts against the goal; the network-only ratio divides "
        "by calls x 200 ms alone. 'Submit to claimed' is the job's AnalysisStarted: about 1 s there means "
        "a worker missed the wake-up and slept its poll interval (ANALYSIS_POLL_INTERVAL_S).",
    ]
    method = [
        "5. Processes: gateway, projector, `python -m services.viral_analysis` (defaults, engine local, "
        "client budget off as in 4) and the simulator. One job at a time is submitted with POST "
        "/api/viral-ideas/queue (a new session, a primary and 5 competitors never fetched before, so no "
        "transcript comes from the cache, auto re-run off); its time = the job's AnalysisCompleted "
        "occurred_at minus the bench's clock just before the POST (the event store is polled every 50 ms). "
        "5 jobs with the simulator at 0 ms, then 5 at 200 ms. Goals are judged on the median of the 5; the "
        "max is shown beside it.",
    ]
    return Section(lines, cpu, method)


def status_section(status: dict[str, Any]) -> Section:
    ref, gateway = status["reference"], status["gateway"]
    ratio = gateway["requests_per_s"] / ref["requests_per_s"]
    ok = (
        ratio >= STATUS_GOALS["ratio"]
        and gateway["p99_ms"] < STATUS_GOALS["p99_ms"]
        and not gateway["non_2xx"]
    )
    goal = f"ratio >= {STATUS_GOALS['ratio']}, p99 < {STATUS_GOALS['p99_ms']} ms: {_check(ok)}"
    columns = (
        "case",
        "req/s",
        "ratio to bare",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "non-2xx",
        "errors",
        "goal",
    )
    lines = [
        f"## 6. GET /api/viral-ideas/queue/{{session_id}} ({status['load_generator']}, {status['connections']} "
        f"connections, {status['sessions']} sessions, {status['seconds']} s after a {status['warmup_s']} s "
        "warm-up)",
        "",
        _row(*columns),
        _row(*["---"] * len(columns)),
        _http_row(f"bare aiohttp JSON, the same {status['body_bytes']} B body (reference)", ref, ref, ""),
        _http_row("gateway", gateway, ref, goal),
    ]
    cpu = [("bare reference, status", ref["cpu_cores"]), ("gateway, status polls", gateway["cpu_cores"])]
    method = [
        "6. wrk with `bench/profile_requests.lua` in its `get` mode cycles over the sessions bench-job-0 .. "
        f"bench-job-{status['sessions'] - 1}: the completed jobs of figure 5 when it ran, pending jobs "
        "submitted for the rest (viral-analysis is stopped by then, so only the gateway, the projector and "
        "PostgreSQL work). The reference is `bench/reference_app.py` serving the gateway's own answer for "
        "bench-job-0 (same bytes, no I/O), measured alone with the same connections just before.",
    ]
    return Section(lines, cpu, method)


# Rendered in this order, each when the run has its figures (BENCH_ONLY may leave some out).
def sse_section(sse: dict[str, Any]) -> Section:
    before, after = sse["without_streams"], sse["with_streams"]
    goal = f"req/s ratio >= 0.8: {_check(sse['rps_ratio'] >= 0.8 and not after['non_2xx'])}"
    columns = ("case", "req/s", "ratio to no streams", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx",
               "errors", "goal")  # fmt: skip
    lines = [
        f"## SSE. {sse['idle_streams']} idle event streams beside GET /api/viral-ideas/queue/{{session_id}} "
        f"({sse['load_generator']}, {sse['connections']} connections, {sse['seconds']} s)",
        "",
        _row(*columns),
        _row(*["---"] * len(columns)),
        _http_row("gateway, no open streams", before, before, ""),
        _http_row(f"gateway, {sse['idle_streams']} idle streams open", after, before, goal),
        "",
        f"p99 ratio with/without streams: {sse['p99_ratio']}.",
    ]
    cpu = [("status, no streams", before["cpu_cores"]), ("status, idle streams open", after["cpu_cores"])]
    method = [
        "SSE. One pending job (never processed); wrk in the `get` mode of `bench/profile_requests.lua` "
        "polls its status endpoint on the gateway process, first alone, then while a separate process "
        f"(`python -m bench.sse`) holds {sse['idle_streams']} streams of "
        "GET /api/viral-ideas/queue/{session_id}/events open on the same gateway (each had received its "
        "snapshot; afterwards only heartbeats flow). Goal: at most 20% fewer req/s.",
    ]
    return Section(lines, cpu, method)


def discovery_section(d: dict[str, Any]) -> Section:
    seed, cost = d["seed"], d["projection"]
    columns = ("case", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "errors", "goal")

    def row(label: str, c: dict[str, Any], goal: str) -> str:
        figures = (c["requests_per_s"], c["p50_ms"], c["p90_ms"], c["p99_ms"], c["max_ms"])
        return _row(label, *figures, c["non_2xx"], c["socket_errors"] + c["timeouts"], goal)

    def p99_goal(c: dict[str, Any]) -> str:
        return f"p99 < {FEED_GOALS['p99_ms']} ms: {_check(c['p99_ms'] < FEED_GOALS['p99_ms'] and not c['non_2xx'])}"

    first, deep = d["mix"][0], d["deep_page"]
    deep_ratio = deep["p99_ms"] / first["p99_ms"]
    options, loaded = d["filter_options"], d["filter_options_loaded"]
    cost_ok = cost["ratio"] <= FEED_GOALS["categorised_ratio"]
    lines = [
        f"## 7. Discovery feed over {seed['reels']:,} reels of {seed['creators']:,} creators "
        f"({d['load_generator']}, {d['connections']} connections, {d['seconds']} s each after a "
        f"{d['warmup_s']} s warm-up)",
        "",
        f"Seeded through the store and the rebuild's replay: {seed['events']:,} events appended in "
        f"{seed['append_s']} s, replayed into the read model in {seed['replay_s']} s "
        f"({seed['replay_reels_per_s']:,} reels/s); the content table holds {seed['content_table_mib']} MiB "
        "with its indexes.",
        "",
        _row(*columns),
        _row(*["---"] * len(columns)),
        *(row(c["label"], c, p99_goal(c)) for c in d["mix"]),
        row(
            f"popular, page {PAGE_DEEP} by cursor",
            deep,
            f"p99 within {FEED_GOALS['deep_page_ratio']}x of page 1 ({deep_ratio:.2f}x): "
            f"{_check(deep_ratio <= FEED_GOALS['deep_page_ratio'])}",
        ),
        row("GET /api/filter-options", loaded, ""),
        "",
        f"GET /api/filter-options on one connection: p50 {options['p50_ms']} ms, p99 {options['p99_ms']} ms "
        f"(goal under {FEED_GOALS['filter_options_ms']} ms: "
        f"{_check(options['p99_ms'] < FEED_GOALS['filter_options_ms'])}).",
        "",
        f"Projecting a categorised reel: {cost['categorised_us_per_reel']} us against "
        f"{cost['uncategorised_us_per_reel']} us uncategorised, ratio {cost['ratio']} "
        f"(goal at most {FEED_GOALS['categorised_ratio']}: {_check(cost_ok)}).",
    ]
    cpu = [(f"feed, {c['label']}", c["cpu_cores"]) for c in d["mix"]]
    cpu += [(f"feed, page {PAGE_DEEP}", deep["cpu_cores"]), ("filter-options", loaded["cpu_cores"])]
    method = [
        f"7. `bench/discovery.py`: {seed['creators']:,} creators of {seed['reels'] // seed['creators']} reels "
        "each (20 niches in turn, views log-normal around a per-creator median, dates over 400 days, "
        "captions of 4 words out of 20), their ProfileIngested, ProfileCategorised and ReelsCategorised "
        "events appended to the store of a database of their own, then replayed into its read model by "
        "`cli.readmodels.replay_store` (the code `viralspot readmodels rebuild` runs) and ANALYZEd. A "
        "gateway process of its own serves that database; wrk (`get` mode) sends one fixed GET /api/reels "
        "query per row (limit 24). Page "
        f"{PAGE_DEEP}: the cursor reached by walking pages 1..{PAGE_DEEP - 1} of the popular sort. "
        f"filter-options: {FILTER_OPTIONS_SAMPLES} sequential requests on one keep-alive connection. "
        f"Projection cost: {cost['profiles']} creators of {cost['reels_per_profile']} reels through "
        "Projector.apply_batch in batches of 256 events, with and without the categorisation events, each "
        f"on a fresh database, alternated {cost['rounds']} times, best of each.",
    ]
    return Section(lines, cpu, method)


def auth_section(a: dict[str, Any]) -> Section:
    first, *cases, last = a["cases"]
    # The reference runs first and last; the ratios are to the mean of the two.
    ref = {**first, "requests_per_s": (first["requests_per_s"] + last["requests_per_s"]) / 2}
    columns = ("case", "req/s", "ratio to no token", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx",
               "errors", "goal")  # fmt: skip
    one_token = cases[0]
    ok = one_token["requests_per_s"] / ref["requests_per_s"] >= a["goal_ratio"] and not one_token["non_2xx"]
    goals = [f"ratio >= {a['goal_ratio']}: {_check(ok)}"] + [""] * (len(cases) - 1)
    lines = [
        *_table_head(
            f"## 8. JWT verification on GET /api/viral-ideas/queue/{{session_id}} ({a['load_generator']}, "
            f"{a['connections']} connections, {a['seconds']} s each)",
            columns,
        ),
        _http_row(first["case"] + " (reference, first)", first, ref, ""),
        *(_http_row(c["case"], c, ref, goal) for c, goal in zip(cases, goals, strict=True)),
        _http_row(last["case"] + " (reference, last)", last, ref, ""),
        "",
        f"The JWKS was fetched {a['jwks_fetches']} time(s) in the whole figure.",
    ]
    cpu = [(f"status, {c['case']}", c["cpu_cores"]) for c in a["cases"]]
    method = [
        "8. The status polls of figure 6 (anonymous jobs, which any caller may read) against a gateway "
        "with AUTH_JWT_SECRET and an AUTH_JWKS_URL served by a local JWKS server, each case measured "
        "after its own warm-up: no Authorization header; one HS256 token on every request (a client "
        "polling with its token: accepted tokens are remembered until they expire); one RS256 token; "
        f"{a['distinct_tokens']} distinct HS256 tokens sent in turn, more than the gateway remembers, so "
        "every request verifies a signature (the worst case). Goal (issue 14): one token costs at most "
        "10% of the requests/s.",
    ]
    return Section(lines, cpu, method)


def priority_section(p: dict[str, Any]) -> Section:
    columns = ("queues", "HIGH requests", "wait p50 ms", "p90 ms", "max ms", "ratio p50 to reference",
               "LOW running at arrival", "LOW started during HIGH", "goal")  # fmt: skip
    reference = p["runs"][0]
    lines = _table_head(
        f"## 9. HIGH behind LOW: from a HIGH request to its ingestion start, during a burst of "
        f"{p['low_profiles']} LOW requests at {p['latency_ms']} ms provider latency",
        columns,
    )
    cpu = []
    for run in p["runs"]:
        wait = run["wait"]
        ratio = wait["p50_ms"] / reference["wait"]["p50_ms"] if reference["wait"]["p50_ms"] else 0.0
        if run["low_lane"]:
            ok = wait["max_ms"] < p["goal_ms"] and run["low_starts_during_high"] == 0
            label, goal = "LOW lane", f"every wait < {p['goal_ms']:.0f} ms, no LOW start: {_check(ok)}"
        else:
            label, goal = "one queue (reference)", ""
        lines.append(
            _row(
                label,
                run["high_requests"],
                wait["p50_ms"],
                wait["p90_ms"],
                wait["max_ms"],
                f"{ratio:.2f}",
                run["mean_lows_running_at_arrival"],
                run["low_starts_during_high"],
                goal,
            )
        )
        cpu.append((f"HIGH behind LOW, {label}", run["cpu_cores"]))
    method = [
        "9. The simulator at 300 ms a call; a fresh `python -m services.profile_ingest` (INGEST_CONCURRENCY="
        f"{reference['ingest_concurrency']}) on an emptied store; {p['low_profiles']} LOW `ProfileRequested` "
        "(a crawl's discoveries) committed in one transaction. Then, one at a time, a HIGH request is "
        "committed once every LOW slot is fetching, after a pause that varies (50 to 550 ms) so that it "
        "lands at different points of the running LOW fetches; its wait runs from that commit to its "
        "`ProfileIngestStarted` (its occurred_at), the relay's publishing included. 'LOW started during "
        "HIGH' counts LOW ingestions that started between a HIGH request's start and its `ProfileIngested`. "
        "The reference is the same run with INGEST_LOW_LANE=false: one priority queue, where the HIGH "
        "request overtakes the queued LOW ones but waits for a running LOW fetch to end. Goal (issue 20): "
        "under 100 ms.",
    ]
    return Section(lines, cpu, method)


def rebuild_section(r: dict[str, Any]) -> Section:
    b = r["rebuild"]
    ok = b["events_per_s"] >= b["goal_events_per_s"]
    lines = [
        *_table_head(
            "## 10. Read-model rebuild (`viralspot readmodels rebuild`, the replay `--swap` runs)",
            ("events", "batch", "replay s", "events/s", "command wall s", "goal"),
        ),
        _row(
            b["events"],
            b["batch_size"],
            b["replay_s"],
            b["events_per_s"],
            b["command_wall_s"],
            f">= {b['goal_events_per_s']} events/s: {_check(ok)}",
        ),
    ]
    d = r.get("decode")
    if d:
        decode_ok = d["ratio"] <= d["goal_ratio"]
        lines += [
            "",
            *_table_head(
                "Decoding a stored event (`Envelope.event()`), AnalysisRequested",
                ("stored at", "us per event", "ratio to current", "goal"),
            ),
            _row("version 2 (current, no upcaster)", d["current_us"], "1.00", ""),
            _row(
                "version 1 (one upcaster step)",
                d["one_step_us"],
                f"{d['ratio']:.2f}",
                f"<= {d['goal_ratio']}: {_check(decode_ok)}",
            ),
        ]
    method = [
        "10. A database of its own, migrated, holding published events written with COPY as profile-ingest "
        f"writes them: per creator ProfileRequested, ProfileIngestStarted, ProfileIngested ({b['reels_per_ingestion']} "
        "reels), ProfileCategorised and ReelsCategorised, so every read-model table of profiles and the "
        "discovery feed is filled. Then `viralspot readmodels rebuild --drop` as a process; the rate is the "
        "command's own (events applied over the replay's time, the schema's creation and drop left out). "
        "Goal (issue 17): 20,000 events/s. Decoding: the same AnalysisRequested (five competitors) stored at "
        "version 1 and at version 2, each decoded 20,000 times a round in the bench process, rounds "
        "alternating, the best of 7 rounds each. Goal (issue 17): one upcaster step at most 1.1x.",
    ]
    return Section(lines, [], method)


def decisions_section(d: dict[str, Any]) -> Section:
    lines = _table_head(
        f"## 11. A profile request's decision: reading and folding the profile's stream ({d['events']} events, "
        f"{d['reels']} reels and {d['posts']} posts per ingestion)",
        ("read", "payload bytes", "read and fold ms", "ratio", "round trips"),
    )
    for case, ms in d["read_and_fold_ms"].items():
        ratio = ms / d["read_and_fold_ms"]["whole stream"]
        lines.append(_row(case, d["payload_bytes"][case], ms, f"{ratio:.2f}", d["round_trips"]))
    method = [
        "11. A database of its own holding one creator's stream as three re-fetches leave it (requested, "
        "started, ingested, categorised twice, each time). `EventStore.read_stream` then `libs.profiles.fold`, "
        "500 times a round, rounds alternating, the best of 5 each: the whole payloads (before), and without "
        "the snapshots the fold never reads (`without=NOT_FOLDED`, PostgreSQL's `payload - keys`: after). The "
        "decision's other round trips (its rate-limit token, the profile's last fetch, the append) are unchanged.",
    ]
    return Section(lines, [], method)


REFRESH_COLUMNS = (
    "ticks", "most requests in a tick", "most in any tick-long window", "requested once / more / never", "MEDIUM",
    "cycle s", "at the budget's pace s", "ratio", "tick period s (its work s)", "sustained requests/s", "goal",
)  # fmt: skip
ALERT_COLUMNS = (
    "path", "events", "achieved rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ratio p50 to one hop", "goal",
)  # fmt: skip


def alerts_section(a: dict[str, Any]) -> Section:
    r, ref, lat, goal = a["refresh"], a["reference"], a["latency"], a["latency"]["goal_ms"]
    budget_ok = (
        max(r["max_per_tick"], r["max_in_tick_s_window"]) <= a["per_tick"]
        and r["requested_once"] == a["watched"]
    )
    latency_ok = (
        lat["p50_ms"] < goal["p50_ms"]
        and lat["p99_ms"] < goal["p99_ms"]
        and lat["received"] == lat["alerts"] == lat["ingestions"]
        and not lat["bad_signatures"]
    )
    reference = [ref[k] for k in ("events", "achieved_rate", "p50_ms", "p90_ms", "p99_ms", "max_ms")]
    reference_row = _row("one hop: append to projected (reference)", *reference, "1.00", "")
    marks = ", ".join(
        f"{name.replace('_', ' ')} {m['p50_ms']} / {m['p99_ms']}" for name, m in lat["marks"].items()
    )
    lines = [
        f"## 12. Watchlists: one refresh cycle of {a['watched']:,} watched creators, and ingestion to webhook",
        "",
        f"Provider budget: ALERTS_REFRESH_PER_TICK={a['per_tick']} every ALERTS_REFRESH_TICK_S={a['tick_s']:g} s "
        f"(at most {a['per_tick'] / a['tick_s']:g} requests/s). The {a['watched']:,} watches of {a['watchers']} "
        f"users were appended in {r['watches_appended_s']} s and consumed by the alerts service in "
        f"{r['watches_consumed_s']} s ({r['watches_consumed_per_s']}/s). The figures are the requests issued "
        "(MEDIUM `ProfileRequested`, source watchlist): profile-ingest did not run, so no provider calls were made.",
        "",
        _row(*REFRESH_COLUMNS),
        _row(*["---"] * len(REFRESH_COLUMNS)),
        _row(
            r["ticks"],
            r["max_per_tick"],
            r["max_in_tick_s_window"],
            f"{r['requested_once']} / {r['requested_more']} / {r['not_requested']}",
            r["medium"],
            r["cycle_s"],
            r["reference_s"],
            f"{r['cycle_s'] / r['reference_s']:.2f}",
            f"{r['mean_tick_period_s']} ({r['mean_tick_work_s']})",
            r["sustained_per_s"],
            f"<= {a['per_tick']} a tick and a tick-long window, each creator once: {_check(budget_ok)}",
        ),
        "",
        *_table_head(
            f"Ingestion to webhook request, {lat['reels_per_ingestion']} reels an ingestion, "
            f"{lat['target_rate']} ingestions a second",
            ALERT_COLUMNS,
        ),
        reference_row,
        _row(
            "ingestion committed to the webhook's request",
            f"{lat['received']} of {lat['alerts']} alerts ({lat['ingestions']} ingestions)",
            lat["achieved_rate"],
            *(lat["p50_ms"], lat["p90_ms"], lat["p99_ms"], lat["max_ms"]),
            f"{lat['p50_ms'] / ref['p50_ms']:.2f}",
            f"p50 < {goal['p50_ms']:g} ms, p99 < {goal['p99_ms']:g} ms: {_check(latency_ok)}",
        ),
        "",
        f"Where it goes, from the ingestion's commit (p50 / p99 ms): {marks}. The receiver had "
        f"{lat['requests']} requests, {lat['bad_signatures']} with a signature that did not verify; "
        f"{lat['first_attempt_delivered']} alerts were delivered at their first attempt, whose request took "
        f"{lat['attempt']['p50_ms']} ms (p50; p99 {lat['attempt']['p99_ms']} ms).",
    ]
    cpu = [("watch refresh cycle", r["cpu_cores"]), ("ingestion to webhook", lat["cpu_cores"])]
    method = [
        "12. A gateway of its own (a JWT secret, a webhook signing key, loopback webhooks allowed) and a "
        f"`python -m services.alerts` process (ALERTS_REFRESH_PER_TICK={a['per_tick']}, "
        f"ALERTS_REFRESH_TICK_S={a['tick_s']:g}, every other setting at its default). Each of the {a['watchers']} "
        "users registers a webhook through POST /api/webhooks, pointing at a receiver (aiohttp) in the bench "
        "process. Refresh: the bench takes the refresh loop's advisory lock (as another replica would), appends "
        f"the {a['watched']:,} `WatchStarted` (threshold 3, as many a user as the gateway allows) in one "
        "transaction through the store, waits until the alerts service has them all in alerts.watches, then "
        "releases the lock. From the store afterwards: the watchlist `ProfileRequested` of each watched creator, "
        "counted per creator and per writing transaction (a tick is one), and the most whose occurred_at fall in "
        "any window of one tick. Cycle = first to last request's occurred_at; at the budget's pace = (ticks - 1) "
        "x the tick, the least time the requests could span; the tick period runs from one tick's start to the "
        "next (the loop sleeps its tick after each tick's work). Latency: after the one-hop reference (figure 1's "
        f"measurement at the same rate, {ref['events']} events), {lat['ingestions']} `ProfileIngested` of "
        "watched creators (one each, spread over every user) are appended by the bench as the gateway's "
        "producer, so the gateway's outbox relay publishes them (profile-ingest runs the same relay), each in "
        "its own transaction, scheduled by the clock. Each holds one reel posted after the watch began at twice "
        "the threshold, so it reveals one outlier to one watcher. Latency = the receiver's time.time() on "
        "arrival minus the bench's wall clock right after the ingestion committed; the body's `id` is the "
        "`OutlierDetected`, whose causation_id is the ingestion. The marks come from the store (published_at "
        "is set after the broker's confirm, so a consumer may start before it) and alerts.deliveries (owed: "
        "the start of the transaction that handled the alert; claimed: its first attempt's claim). "
        "Goal (issue 15): p50 < 200 ms, p99 < 1 s.",
    ]
    return Section(lines, cpu, method)


def _scale_reads(reads: dict[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, float]]]]:
    if "skipped" in reads:
        return ["", f"Status and browse reads through HAProxy: skipped: {reads['skipped']}."], []
    columns = ("read", "path", "req/s", "ratio HAProxy/direct", "p50 ms", "p99 ms", "non-2xx", "errors",
               "replica reads (gateway a, b)")  # fmt: skip
    title = (
        "Reads through HAProxy over two gateways (primary + streaming replica) against one gateway directly"
    )
    lines = ["", *_table_head(title, columns)]
    cpu = []
    for kind, path in (("status", "GET /api/viral-ideas/queue/{session_id}"), ("browse", "GET /api/reels")):
        for label in ("direct", "haproxy"):
            c = reads[f"{kind}_{label}"]
            ratio = f"{reads[f'{kind}_ratio']:.2f}" if label == "haproxy" else "1 (reference)"
            via = "one gateway" if label == "direct" else "HAProxy, two gateways"
            replica = ", ".join(map(str, c["replica_reads"])) if "replica_reads" in c else "(primary only)"
            errors = c["socket_errors"] + c["timeouts"]
            lines.append(
                _row(kind, f"{path} via {via}", c["requests_per_s"], ratio, c["p50_ms"], c["p99_ms"],
                     c["non_2xx"], errors, replica)
            )  # fmt: skip
            cpu.append((f"{kind} reads, {via}", c["cpu_cores"]))
    return lines, cpu


def scale_section(s: dict[str, Any]) -> Section:
    ing = s["ingestion"]
    lines = _table_head(
        f"## 13. Scaling out: profile-ingest replicas at {ing['latency_ms']} ms provider latency, "
        f"INGEST_CONCURRENCY={ing['ingest_concurrency']} each, {ing['reels']} reels a profile",
        ("replicas", "profiles", "profiles/s", "seconds", "ratio to N x measured N=1",
         "single-replica bound x N", "ratio to bound x N", "share per replica", "failed", "goal"),
    )  # fmt: skip
    cpu = []
    for run in ing["runs"]:
        n = run["replicas"]
        ok = run["ratio_to_n_single"] >= ing["goal"] and run["failed"] == 0
        goal = "reference" if n == 1 else f">= {ing['goal']}: {_check(ok)}"
        shares = " / ".join(f"{x:.0%}" for x in run["share"])
        lines.append(
            _row(n, run["profiles"], run["profiles_per_s"], run["seconds"], f"{run['ratio_to_n_single']:.2f}",
                 round(n * ing["single_replica_bound"], 2), f"{run['ratio_to_bound']:.2f}", shares,
                 run["failed"], goal)
        )  # fmt: skip
        cpu.append((f"ingestion, {n} replica(s)", run["cpu_cores"]))
    lines += [
        "",
        f"Single-replica bound = INGEST_CONCURRENCY / (calls on the critical path x latency) = "
        f"{ing['ingest_concurrency']} / ({ing['critical_path_calls']} x {ing['latency_ms'] / 1000} s) = "
        f"{ing['single_replica_bound']} profiles/s (as in figure 4).",
    ]
    read_lines, read_cpu = _scale_reads(s["reads"])
    method = [
        "13. Ingestion: for N = 1, 2, 3, N fresh `python -m services.profile_ingest` processes (WORKER_ID and "
        "OPS_PORT of their own, the same INGEST_CONCURRENCY) consume the one profile-ingest queue; the simulator "
        "answers at 300 ms. A batch of HIGH ProfileRequested events (new usernames each run, 50 reels each) is "
        "committed in one transaction and timed from that commit to the last ProfileIngested. The goal compares "
        "N replicas with N times the N=1 run measured just before; the share per replica is each process's "
        "viralspot_events_consumed_total{event_type=ProfileRequested, outcome=handled} from its /metrics. "
        "Reads: infra/scripts/postgres-replica.sh starts a primary and its streaming replica (ports 5451 and "
        "5452, a directory of the bench's own); a migrated database there gets figure 6's status rows (copied "
        "from the bench database) and the feed test set (tests/support/feed_rows.py). Two gateways run on it with "
        "DATABASE_READ_URL on the replica, HAProxy (infra/haproxy/haproxy.cfg, one thread, round robin, "
        "health check on /readyz) in front. wrk measures gateway a directly, then HAProxy, for the status poll "
        "(figure 6's path and connections; status reads the primary) and for the first page of GET /api/reels "
        "(which reads the replica: the replica reads column is the gateways' "
        "viralspot_db_browse_reads_total{target=replica} during the run). All share the 2 cores with wrk.",
    ]
    return Section(lines + read_lines, cpu + read_cpu, method)


SECTIONS: dict[str, Callable[[dict[str, Any]], Section]] = {
    "backbone": backbone_section,
    "http": http_section,
    "ingest": ingest_section,
    "analysis": analysis_section,
    "status": status_section,
    "sse": sse_section,
    "discovery": discovery_section,
    "auth": auth_section,
    "priority": priority_section,
    "rebuild": rebuild_section,
    "decisions": decisions_section,
    "alerts": alerts_section,
    "scale": scale_section,
}


def write(results: dict[str, Any]) -> str:
    """latest.md/.json for a full run; a BENCH_ONLY run writes only-<sections>.md/.json beside it."""
    RESULTS.mkdir(exist_ok=True)
    text = markdown(results)
    ran = [name for name in SECTIONS if name in results]
    stem = "latest" if len(ran) == len(SECTIONS) else "only-" + "-".join(ran)
    (RESULTS / f"{stem}.md").write_text(text)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    return text

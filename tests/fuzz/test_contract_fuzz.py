"""Property-based tests generated from contracts/openapi.yaml (Schemathesis): every operation, against
a real gateway on a TCP port with its database, broker and projector. Then the gateway must still
take work. FUZZ_MAX_EXAMPLES (25) sets the fuzzing examples per operation; `make fuzz` runs 500."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import asyncpg
import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, reject, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.fuzz.conftest import ADMIN_TOKEN, REPORT, FuzzReport
from tests.support import infra
from tests.support.background_gateway import BackgroundGateway

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
REQUEST_TIMEOUT_S = 10  # an answer that takes longer is a failure, never a hung suite
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    unsupported_method,
]
ADMIN_OPERATIONS = {"processViralIdeasJobNow", "processPendingViralIdeasJobs", "startCrawlRun"}

schema = schemathesis.openapi.from_path(
    CONTRACT,
    config=schemathesis.Config.from_dict(
        {
            "request-timeout": REQUEST_TIMEOUT_S,
            "generation": {"max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                # A request the schema allows may still meet state: 401/403 when the admin token is
                # withheld or wrong, 404 for ids that name nothing (generated ids never do), 409 for a
                # session_id or Idempotency-Key already used. Never 400/422: those mean the contract
                # allowed what the gateway refuses.
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409"]},
                # What the schema forbids is refused with a 4xx the contract names, never accepted.
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "405", "409", "413", "422"]
                },
            },
        }
    ),
)


@pytest.fixture(scope="module")
def report() -> Iterator[FuzzReport]:
    collected = FuzzReport()
    started = time.monotonic()
    yield collected
    collected.write(REPORT, {"max_examples": MAX_EXAMPLES, "seconds": round(time.monotonic() - started, 1)})


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_contract(
    case: schemathesis.Case, fuzz_gateway: BackgroundGateway, report: FuzzReport
) -> None:
    operation = case.operation.label
    mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
    positive = mode == "positive"
    if positive and _settings_over_their_totals(case.body):
        reject()  # the contract states these limits in words: JSON Schema cannot count over a whole value
    if positive and _competitor_is_primary(case.path_parameters):
        reject()  # COMPETITOR_IS_PRIMARY, also stated in words: two parameters naming one account
    if positive:
        _make_unique(case)
    admin = (
        {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if case.operation.definition.raw.get("operationId") in ADMIN_OPERATIONS
        else None
    )
    try:
        response = case.call(base_url=fuzz_gateway.base_url, headers=admin, timeout=REQUEST_TIMEOUT_S)
    except requests.RequestException as exc:
        report.case(operation, mode, None)
        report.failure(operation, f"no answer: {exc!r}")
        raise
    report.case(operation, mode, response.status_code)
    _cancel_created_job(fuzz_gateway, response)
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as failures:
        for failure in failures.exceptions:
            report.failure(operation, f"{failure.title}: {failure.message}"[:2000])
        raise


def _make_unique(case: schemathesis.Case) -> None:
    """Generated keys and session ids repeat; a repeat is the documented 409 or 422 and would leave the
    body itself untried."""
    if "Idempotency-Key" in (case.headers or {}):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if isinstance(case.body, dict) and isinstance(case.body.get("session_id"), str):
        case.body["session_id"] = f"{case.body['session_id'][:240]}-{secrets.token_hex(6)}"
    # A feed cursor is made only by the gateway (its next_cursor, for one query): a string the schema
    # allows is not one, and is the documented 400 INVALID_CURSOR. Negative cases still send it.
    # random_order needs a session_id (the contract says so in words): give it one.
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
        if str(case.query.get("random_order")).lower() == "true" and not case.query.get("session_id"):
            case.query["session_id"] = f"fuzz-{secrets.token_hex(4)}"


def _competitor_is_primary(parameters: object) -> bool:
    if not isinstance(parameters, dict) or not {"primary", "target"} <= parameters.keys():
        return False
    # As sent: percent-encoded.
    primary, target = (unquote(str(parameters[k])).removeprefix("@").lower() for k in ("primary", "target"))
    return primary == target


def _settings_over_their_totals(body: object) -> bool:
    """analysis_settings over 50 keys and list items in all, or over 8 KiB serialised."""
    settings_value = body.get("analysis_settings") if isinstance(body, dict) else None
    if not isinstance(settings_value, dict):
        return False
    entries, pending = 0, [settings_value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict | list):
            entries += len(item)
            pending.extend(item.values() if isinstance(item, dict) else item)
    return entries > 50 or len(orjson.dumps(settings_value)) > 8 * 1024


def _cancel_created_job(gateway: BackgroundGateway, response: requests.Response) -> None:
    """No analysis worker runs here: a job left pending would keep its live stream open for ever."""
    if response.status_code == 201 and response.request.url.endswith("/api/viral-ideas/queue"):
        queue_id = response.json()["data"]["id"]
        cancelled = requests.post(f"{gateway.base_url}/api/viral-ideas/queue/{queue_id}/cancel", timeout=10)
        assert cancelled.status_code in (200, 409), cancelled.text


async def test_the_gateway_still_takes_work_after_the_fuzzing(fuzz_gateway: BackgroundGateway) -> None:
    username = f"after_fuzz_{secrets.token_hex(4)}"
    async with aiohttp.ClientSession(fuzz_gateway.base_url) as http:
        async with http.post(f"/api/profile/{username}/request") as resp:
            body = await resp.json()
            assert resp.status == 200 and body["data"]["profile_type"] == "new", body
    conn = await asyncpg.connect(fuzz_gateway.settings.database_url)
    try:

        async def published() -> bool:
            return bool(
                await conn.fetchval(
                    "SELECT published_at IS NOT NULL FROM eventstore.events WHERE stream_id = $1",
                    f"profile-{username}",
                )
            )

        await infra.eventually(published, timeout_s=10, message="the request recorded and published")
        # Nothing the fuzzer sent got stuck in the outbox, or parked there.
        assert await conn.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL") == 0
        assert await conn.fetchval("SELECT count(*) FROM eventstore.parked_events") == 0
    finally:
        await conn.close()

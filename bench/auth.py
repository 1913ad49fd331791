"""Figure 8: what verifying a user's JWT costs GET /api/viral-ideas/queue/{session_id}.

The same polls of anonymous jobs (anyone may read them, so every variant gets 200) without a token, with
one HS256 token (a client polling with its token: the gateway remembers tokens it accepted), with one
RS256 token whose key a local JWKS server publishes, and with more distinct HS256 tokens than the
gateway remembers (every request a full verification: the worst case).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import http_load
from bench.analysis import STATUS_CONNECTIONS, STATUS_PATH, STATUS_SESSIONS, pending_sessions
from bench.environment import BenchEnvironment, progress
from services.gateway.identity import ACCEPTED_TOKENS
from tests.support.tokens import JwksServer, claims, hs256, rsa_key

SECRET = "bench-jwt-secret-long-enough-for-hs256-tokens"
DISTINCT_TOKENS = 2 * ACCEPTED_TOKENS  # cycled in order: each is forgotten before it comes back
GOAL_RATIO = 0.90  # issue 14: one token costs the status endpoint at most 10% of its requests/s


def token_file(directory: Path, name: str, tokens: list[str]) -> Path:
    path = directory / f"tokens-{name}.txt"
    path.write_text("\n".join(tokens) + "\n")
    return path


async def section(env: BenchEnvironment) -> dict[str, Any]:
    key = rsa_key("bench-rsa")
    jwks = await JwksServer(keys=[key]).start()
    try:
        # This figure's gateway knows the secret and the key set (the others' need neither).
        await env.stop("gateway")
        await env.start(
            "gateway", "services.gateway", "GATEWAY_PORT", AUTH_JWT_SECRET=SECRET, AUTH_JWKS_URL=jwks.url
        )
        await pending_sessions(env)
        lifetime = {"lifetime_s": 3600}
        files = await asyncio.to_thread(
            lambda: {
                "hs256": token_file(env.logs, "hs256", [hs256(claims("bench-user", **lifetime), SECRET)]),
                "rs256": token_file(env.logs, "rs256", [key.sign(claims("bench-user", **lifetime))]),
                "distinct": token_file(
                    env.logs,
                    "distinct",
                    [hs256(claims(f"bench-user-{i}", **lifetime), SECRET) for i in range(DISTINCT_TOKENS)],
                ),
            }
        )
        use_wrk, generator = http_load.load_generator()
        base = f"http://127.0.0.1:{env.ports['gateway']}"
        args = ("get", STATUS_PATH, STATUS_CONNECTIONS, STATUS_SESSIONS)
        results: dict[str, Any] = {
            "load_generator": generator,
            "connections": STATUS_CONNECTIONS,
            "seconds": http_load.SECONDS,
            "distinct_tokens": DISTINCT_TOKENS,
            "goal_ratio": GOAL_RATIO,
            "cases": [],
        }
        cases: list[tuple[str, Path | None]] = [
            ("no token", None),
            ("one HS256 token", files["hs256"]),
            ("one RS256 token (JWKS)", files["rs256"]),
            (f"{DISTINCT_TOKENS} HS256 tokens in turn (no token remembered)", files["distinct"]),
            # The reference again, last: the drift over the figure shows how far apart runs of one
            # case are, and the ratios are taken to the mean of both.
            ("no token, again", None),
        ]
        for label, tokens in cases:
            figures = await http_load.measure(env, base, use_wrk, *args, tokens=tokens)
            results["cases"].append(progress(f"8. status, {label}", {"case": label, **figures}))
        results["jwks_fetches"] = jwks.fetches
        return results
    finally:
        await env.stop("gateway")
        await jwks.stop()

"""One interface for both engines, and the choice between them from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp

from .errors import AnalysisConfigError
from .llm import DEFAULT_MODEL, OpenAICompatibleEngine
from .local import Clock, LocalEngine, utc_now
from .models import AnalysisInput
from .results import AnalysisData
from .usage import RunLimits


class AnalysisEngine(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str:
        """Stored with each result as workflow_version."""
        ...

    async def analyse(self, analysis_input: AnalysisInput) -> AnalysisData: ...

    async def close(self) -> None: ...


def engine_from_env(
    env: Mapping[str, str] | None = None,
    *,
    session: aiohttp.ClientSession | None = None,
    clock: Clock = utc_now,
    limits: RunLimits | None = None,
) -> AnalysisEngine:
    """ANALYSIS_ENGINE=local (default) or openai, which also needs OPENAI_BASE_URL and OPENAI_API_KEY;
    `limits` (the token budget per run and the prices) come from the service's settings."""
    env = os.environ if env is None else env
    choice = (env.get("ANALYSIS_ENGINE") or "local").strip().lower()
    if choice == "local":
        return LocalEngine(clock=clock)
    if choice != "openai":
        raise AnalysisConfigError(f"ANALYSIS_ENGINE must be 'local' or 'openai', not {choice!r}")
    return OpenAICompatibleEngine(
        **openai_options(env, "ANALYSIS_ENGINE"), limits=limits, session=session, clock=clock
    )


def openai_options(env: Mapping[str, str], setting: str) -> dict[str, Any]:
    """The OPENAI_* settings, for `setting`=openai (the analysis engine's or the classifier's)."""
    missing = [name for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY") if not (env.get(name) or "").strip()]
    if missing:
        raise AnalysisConfigError(f"{setting}=openai needs {' and '.join(missing)} in the environment")
    return {
        "base_url": env["OPENAI_BASE_URL"].strip(),
        "api_key": env["OPENAI_API_KEY"].strip(),
        "model": (env.get("OPENAI_MODEL") or DEFAULT_MODEL).strip(),
        "timeout_s": _number(env, "OPENAI_TIMEOUT_S", 60.0),
        "max_attempts": int(_number(env, "OPENAI_MAX_ATTEMPTS", 3)),
    }


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AnalysisConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise AnalysisConfigError(f"{name} must be greater than zero")
    return value

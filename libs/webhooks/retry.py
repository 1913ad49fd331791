"""The delivery retry schedule: exponential with equal jitter, for a day, then the endpoint is failing."""

from __future__ import annotations

import random
from datetime import datetime

from libs.backoff import exponential


def next_attempt_delay(
    attempt: int, rng: random.Random, *, base_s: float = 30.0, cap_s: float = 3600.0
) -> float:
    """Seconds before retry number `attempt` (1 = the first retry), in [d/2, d] with d the exponential step.

    Equal jitter rather than libs.backoff's full jitter: full jitter can draw ~0 and hit an endpoint
    that just failed again at once; half of the step is always waited, the other half still spreads
    retries of many deliveries that failed together (an endpoint coming back is not stampeded).
    """
    step = exponential(attempt, base_s, cap_s)
    return step / 2 + rng.uniform(0, step / 2)


def gives_up(first_attempt_at: datetime, now: datetime, window_s: float = 86400) -> bool:
    """True once the delivery has been retried for window_s (a day): stop, mark the endpoint failing."""
    return (now - first_attempt_at).total_seconds() >= window_s

"""Deterministic draws: every generator is seeded by blake2b of (seed, username, purpose), never by the
global generator or the salted built-in hash(), so two processes agree on every number."""

from __future__ import annotations

import hashlib
import math
import random
from typing import TypeVar

T = TypeVar("T")


def rng_for(seed: int, *parts: object) -> random.Random:
    key = ":".join(str(part) for part in (seed, *parts)).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


# The stdlib's choice() and lognormvariate() are several times slower; 150 reels add up.
def pick(rng: random.Random, options: tuple[T, ...]) -> T:
    return options[int(rng.random() * len(options))]


def lognormal(rng: random.Random, mu: float, sigma: float) -> float:
    return math.exp(mu + sigma * rng.gauss(0.0, 1.0))

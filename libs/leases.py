"""Who holds a lease: a stable replica name (WORKER_ID) and this process's incarnation.

A lease owner reads `<replica>#<incarnation>[/<slot>]`. A restarted replica comes back with the same
replica name and a new incarnation, so it tells the leases of its previous life (same replica, another
incarnation) from live ones and takes them back at once instead of waiting for them to expire. Two live
processes must never share a WORKER_ID (README: one per replica, e.g. the pod or container name).
"""

from __future__ import annotations

import secrets

INCARNATION = secrets.token_hex(4)  # this process

# SQL: the lease of a previous life of replica $1 (the current incarnation is $2).
PREVIOUS_LIFE = """split_part(lease_owner, '#', 1) = $1
    AND split_part(split_part(lease_owner, '#', 2), '/', 1) <> $2"""


def lease_owner(replica: str, slot: int | None = None) -> str:
    owner = f"{replica}#{INCARNATION}"
    return owner if slot is None else f"{owner}/{slot}"

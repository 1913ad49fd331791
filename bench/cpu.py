"""CPU used per process during a measurement. The machine is shared (tests may run beside the bench),
so the results say who used the CPUs: our services, PostgreSQL, RabbitMQ, the load generator, others."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = (
    "gateway", "projector", "profile-ingest", "viral-analysis", "alerts", "simulator", "reference",
    "postgresql", "rabbitmq", "bench", "bench children", "other",
)  # fmt: skip


def _cpu_seconds() -> dict[int, tuple[str, float]]:
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                fields = stat.read().rsplit(")", 1)[1].split()
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it exited meanwhile
        found[int(pid)] = (command, (int(fields[11]) + int(fields[12])) / TICK)
    return found


class CpuUse:
    """`with CpuUse(names) as use: ...`, then use.cores maps each group to the CPU cores it used.

    `names` gives {pid: group} of our processes when the measurement ends (they may start inside it).
    """

    def __init__(self, names: Callable[[], dict[int, str]]) -> None:
        self.names = names
        self.cores: dict[str, float] = {}

    def _group(self, pid: int, command: str, named: dict[int, str]) -> str:
        if pid in named:  # a replica's name (profile-ingest-2, scale-gateway-a) counts in its service's group
            return next((group for group in GROUPS if group in named[pid]), "other")
        if command.startswith("postgres"):
            return "postgresql"
        if "beam.smp" in command:
            return "rabbitmq"
        return "other"

    def __enter__(self) -> CpuUse:
        self._before = _cpu_seconds()
        self._children = _children_seconds()
        self._started = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        elapsed = time.monotonic() - self._started
        used = dict.fromkeys(GROUPS, 0.0)
        named = {**self.names(), os.getpid(): "bench"}
        for pid, (command, seconds) in _cpu_seconds().items():
            used[self._group(pid, command, named)] += seconds - self._before.get(pid, (command, 0.0))[1]
        # wrk and the raw consumer exit inside the window; their time is in ours as waited-for children.
        used["bench children"] = _children_seconds() - self._children
        self.cores = {group: round(seconds / elapsed, 2) for group, seconds in used.items() if seconds > 0}


def _children_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system

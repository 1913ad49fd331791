"""Resident memory of one process during a measurement: VmRSS sampled, and the kernel's own peak."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

SAMPLE_S = 0.05


def _status_kib(pid: int, field: str) -> int:
    """One `Vm...` line of /proc/<pid>/status, in KiB (procfs reads never wait on a disk)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(f"{field} missing from /proc/{pid}/status")


class PeakMemory:
    """`async with PeakMemory(pid) as memory: ...`, then memory.figures() in MiB.

    VmHWM is the process's peak since it started; the sampled maximum is the peak inside the window.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before_kib = 0
        self.max_kib = 0
        self.hwm_kib = 0
        self._sampler: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.max_kib = max(self.max_kib, _status_kib(self.pid, "VmRSS"))
            await asyncio.sleep(SAMPLE_S)

    async def __aenter__(self) -> PeakMemory:
        self.before_kib = _status_kib(self.pid, "VmRSS")
        self._sampler = asyncio.create_task(self._sample())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._sampler is not None
        self._sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sampler
        self.max_kib = max(self.max_kib, _status_kib(self.pid, "VmRSS"))
        self.hwm_kib = _status_kib(self.pid, "VmHWM")

    def figures(self) -> dict[str, float]:
        return {
            "rss_before_mib": round(self.before_kib / 1024, 1),
            "rss_max_mib": round(self.max_kib / 1024, 1),
            "vm_hwm_mib": round(self.hwm_kib / 1024, 1),
        }

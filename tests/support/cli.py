"""The `viralspot` command line as the engineers run it: the installed script, as a subprocess."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

# The console script installed with the project (pyproject [project.scripts]).
VIRALSPOT = str(Path(sys.executable).parent / "viralspot")


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


async def viralspot(env: dict[str, str], *args: str, timeout_s: float = 120) -> CliResult:
    proc = await asyncio.create_subprocess_exec(
        VIRALSPOT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())

"""Which leftovers of killed test and bench runs the next run may remove."""

import os
import time

from tests.support import infra


def dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_only_old_names_of_ours_whose_process_is_gone_are_abandoned() -> None:
    now = time.time()
    old = int(now) - infra.ABANDONED_AFTER_S - 60
    gone = dead_pid()
    assert infra._abandoned(f"vs_t_{gone}_{old}_a1b2c3", now)
    assert infra._abandoned(f"vs_test_{gone}_{old}_a1b2c3", now)
    assert not infra._abandoned(f"vs_t_{os.getpid()}_{old}_a1b2c3", now), "its process still runs"
    assert not infra._abandoned(f"vs_t_{gone}_{int(now) - 60}_a1b2c3", now), (
        "too young: maybe another namespace's"
    )
    assert not infra._abandoned("viralspot", now)
    assert not infra._abandoned(f"vs_other_{gone}_{old}_a1b2c3", now)


def test_new_names_carry_pid_and_time() -> None:
    name = infra.unique("vs_t")
    assert infra._OURS.match(name) is not None
    assert not infra._abandoned(name, time.time())

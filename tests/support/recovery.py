"""Shared by the run-recovery tests: how long a resumption may take."""

# Far longer than the test waits: a resumption within it can only be the restarted replica's own.
LONG_LEASE_S = "120"
RESUME_WITHIN_S = 10

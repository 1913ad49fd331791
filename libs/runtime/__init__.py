"""The runtime every service process shares."""

from libs.runtime.config import ServiceSettings
from libs.runtime.service import ServiceRuntime, run

__all__ = ["ServiceRuntime", "ServiceSettings", "run"]

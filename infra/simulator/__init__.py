"""A deterministic stand-in for the Instagram scraper and transcript APIs, served over real HTTP."""

from .app import create_app
from .config import SimulatorConfig

__all__ = ["SimulatorConfig", "create_app"]

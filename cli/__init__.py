"""`viralspot`: the engineers' command line for the event store, the read models and dead letters."""

from cli.app import main

__all__ = ["main"]

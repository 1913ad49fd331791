"""What goes wrong in an analysis, in words an operator can act on."""

from __future__ import annotations


class AnalysisEngineError(Exception):
    """The engine could not produce a valid analysis; the message says why (never a secret)."""


class AnalysisConfigError(ValueError):
    """The environment asks for an engine it does not fully configure."""

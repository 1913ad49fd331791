"""The viral-ideas analysis: reels, transcripts and a content strategy in, validated analysis_data out."""

from .engine import AnalysisEngine, engine_from_env
from .errors import AnalysisConfigError, AnalysisEngineError
from .grounding import grounding_errors
from .llm import OpenAICompatibleEngine
from .local import LocalEngine
from .models import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from .results import HOOK_TYPES, AnalysisData, HookType, validate_analysis

__all__ = [
    "HOOK_TYPES",
    "AnalysisConfigError",
    "AnalysisData",
    "AnalysisEngine",
    "AnalysisEngineError",
    "AnalysisInput",
    "CompetitorInput",
    "ContentStrategy",
    "HookType",
    "LocalEngine",
    "OpenAICompatibleEngine",
    "ProfileInput",
    "ReelInput",
    "engine_from_env",
    "grounding_errors",
    "validate_analysis",
]

"""The viral-ideas analysis: reels, transcripts and a content strategy in, validated analysis_data out;
and the classifiers that file creators and their content under the discovery taxonomy."""

from .classifiers import Classifier, LocalClassifier, OpenAICompatibleClassifier, classifier_from_env
from .classify import (
    LOCAL_CLASSIFIER,
    Categorisation,
    ContentText,
    CreatorText,
    categorise,
    classify_profile,
    classify_reels,
    detect_language,
)
from .engine import AnalysisEngine, engine_from_env
from .errors import AnalysisConfigError, AnalysisEngineError
from .grounding import grounding_errors
from .llm import OpenAICompatibleEngine
from .local import LocalEngine
from .models import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from .results import HOOK_TYPES, AnalysisData, HookType, validate_analysis

__all__ = [
    "HOOK_TYPES",
    "LOCAL_CLASSIFIER",
    "AnalysisConfigError",
    "AnalysisData",
    "AnalysisEngine",
    "AnalysisEngineError",
    "AnalysisInput",
    "Categorisation",
    "Classifier",
    "CompetitorInput",
    "ContentStrategy",
    "ContentText",
    "CreatorText",
    "HookType",
    "LocalClassifier",
    "LocalEngine",
    "OpenAICompatibleClassifier",
    "OpenAICompatibleEngine",
    "ProfileInput",
    "ReelInput",
    "categorise",
    "classifier_from_env",
    "classify_profile",
    "classify_reels",
    "detect_language",
    "engine_from_env",
    "grounding_errors",
    "validate_analysis",
]

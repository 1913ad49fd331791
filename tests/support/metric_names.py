"""The metric names the code registers, and the ones a PromQL expression refers to."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import libs
import services

# Series Prometheus makes itself for every target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A whole identifier that is not a function call and not part of a number or a Grafana variable.
_IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"bool", "and", "or", "unless", "offset", "inf", "nan", "atan2", "group_left", "group_right"}


def import_every_module() -> list[str]:
    """Import all of libs/ and services/ so each metric registers; the modules that failed, with why."""
    failed = []
    for package in (libs, services):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            try:
                importlib.import_module(module.name)
            except Exception as exc:
                failed.append(f"{module.name}: {exc!r}")
    return failed


def registered_metrics() -> Iterator[MetricWrapperBase]:
    seen: set[int] = set()
    for collector in list(REGISTRY._names_to_collectors.values()):  # no public way to list collectors
        if isinstance(collector, MetricWrapperBase) and id(collector) not in seen:
            seen.add(id(collector))
            yield collector


def registered_series_names() -> set[str]:
    """Every series name the default registry can expose, even for labelled metrics with no child yet."""
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def promql_metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (label values, ranges and groupings are skipped)."""
    text = _STRINGS.sub('""', expression)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}

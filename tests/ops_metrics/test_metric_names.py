"""Dashboards and alerts name only series the code really exports, and those series follow one
convention: a viralspot_ prefix, units in the name, labels that cannot grow with users or events."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client.metrics import Histogram

from tests.support.metric_names import (
    SCRAPE_SERIES,
    import_every_module,
    promql_metric_names,
    registered_metrics,
    registered_series_names,
)
from tests.unit.test_deploy_files import PROMETHEUS, alert_expressions, dashboard_expressions

# Labels whose values are users' or events' identities: one series per user is a memory leak in Prometheus.
UNBOUNDED_LABELS = {
    "username", "user", "account", "event_id", "request_id", "queue_id", "run_id", "stream_id",
    "correlation_id", "causation_id", "message_id", "url", "path", "error", "detail",
}  # fmt: skip


@pytest.fixture(scope="module")
def exported() -> set[str]:
    failed = import_every_module()
    assert not failed, f"modules that cannot be imported: {failed}"
    return registered_series_names() | SCRAPE_SERIES


def test_promql_names_skip_functions_labels_ranges_and_groupings() -> None:
    expression = (
        'histogram_quantile(0.95, sum by (le, route) (rate(viralspot_x_bucket{status=~"5..", le!="1e3"}'
        "[$__rate_interval]))) / on (job) group_left sum(up) > bool 1e3 and viralspot_y offset 5m"
    )
    assert promql_metric_names(expression) == {"viralspot_x_bucket", "up", "viralspot_y"}
    assert promql_metric_names("sum(rate(viralspot_z_total[5m])) by (service)") == {"viralspot_z_total"}


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_alerts_and_dashboard_use_only_series_the_code_exports(source: str, exported: set[str]) -> None:
    expressions = alert_expressions() if source == "alerts" else dashboard_expressions()
    assert expressions
    unknown: dict[str, set[str]] = {}
    for expression in expressions:
        names = promql_metric_names(expression)
        assert names, f"no metric found in {expression!r}"
        if names - exported:
            unknown[expression] = names - exported
    assert not unknown, f"{source} refers to series no code registers: {unknown}"


def test_metrics_are_prefixed_with_units_and_bounded_labels(exported: set[str]) -> None:
    metrics = [m for m in registered_metrics() if m._name.startswith("viralspot_")]
    assert len(metrics) >= 20, [m._name for m in metrics]
    for metric in metrics:
        labels = set(metric._labelnames)
        assert not labels & UNBOUNDED_LABELS, f"{metric._name} is labelled by {labels & UNBOUNDED_LABELS}"
        if isinstance(metric, Histogram):
            assert metric._name.endswith("_seconds"), f"histogram {metric._name} should say its unit"
    named = {m._name for m in registered_metrics()}
    assert all(n.startswith("viralspot_") for n in named if not n.startswith(("python_", "process_"))), named


# `make test` puts it in .tools/bin (infra/scripts/ensure-promtool.sh); one on the PATH does as well.
PROMTOOL = shutil.which("promtool") or shutil.which(
    "promtool", path=str(PROMETHEUS.parents[1] / ".tools" / "bin")
)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is missing: run `make tools`")
def test_promtool_accepts_the_config_and_the_rules_fire_as_specified() -> None:
    checks = (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    )
    for args in checks:
        result = subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

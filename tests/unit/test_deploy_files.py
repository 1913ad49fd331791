"""The deployment files hold together without a container engine: compose, Dockerfile, Prometheus and
Grafana refer only to services and modules that exist (tests/ops_metrics/ checks the metric names)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from infra.docker import runtime_lock
from tests.support.metric_names import promql_metric_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
PROMETHEUS = ROOT / "infra" / "prometheus"
GRAFANA = ROOT / "infra" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "viralspot.json"

APP_SERVICES = ("gateway", "profile-ingest", "viral-analysis", "crawler", "projector", "alerts")
WORKERS = ("profile-ingest", "viral-analysis", "crawler", "projector", "alerts")
PROVIDER_USERS = ("profile-ingest", "viral-analysis", "crawler")
PROVIDER_ENV = {"INSTAGRAM_SCRAPER_URL", "TRANSCRIPT_API_URL", "RAPIDAPI_KEY"}
# Both derive each webhook endpoint's signing secret from one key (the gateway to show it, alerts to sign).
WEBHOOK_SIGNERS = ("gateway", "alerts")
ONE_SHOT = ("migrate", "media-bucket")
# Keys of a compose service this file may use (compose-spec); a typo would be silently ignored otherwise.
SERVICE_KEYS = {
    "build", "command", "container_name", "depends_on", "deploy", "entrypoint", "env_file", "environment",
    "expose", "healthcheck", "hostname", "image", "init", "labels", "logging", "networks", "ports",
    "profiles", "read_only", "restart", "security_opt", "stop_grace_period", "stop_signal", "tmpfs",
    "user", "volumes", "working_dir",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def load_yaml(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(path.read_text()))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def dockerfile_stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    logical, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base, _, name = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest).partition(" AS ")
            current = stages[name.strip()] = Stage(name.strip(), base.strip())
        elif current is not None:
            current.instructions.append((keyword, rest))
    return stages


def effective(stages: dict[str, Stage], target: str, keyword: str) -> str | None:
    """The last value of an instruction in a target or the stages it builds on."""
    stage: Stage | None = stages[target]
    while stage is not None:
        values = [rest for kw, rest in stage.instructions if kw == keyword]
        if values:
            return values[-1]
        stage = stages.get(stage.base)
    return None


def stage_env(stages: dict[str, Stage], target: str) -> dict[str, str]:
    chain, stage = [], stages.get(target)
    while stage is not None:
        chain.append(stage)
        stage = stages.get(stage.base)
    env: dict[str, str] = {}
    for stage in reversed(chain):
        for keyword, rest in stage.instructions:
            if keyword == "ENV":
                env.update(pair.split("=", 1) for pair in rest.split() if "=" in pair)
    return env


def built_services() -> dict[str, str]:
    """compose service -> Dockerfile target."""
    return {name: s["build"]["target"] for name, s in compose()["services"].items() if "build" in s}


def has_healthcheck(name: str) -> bool:
    service = compose()["services"][name]
    if "healthcheck" in service:
        return not service["healthcheck"].get("disable", False)
    if "build" in service:
        check = effective(dockerfile_stages(), service["build"]["target"], "HEALTHCHECK")
        return check is not None and check != "NONE"
    return False


def test_compose_services_are_complete_and_use_known_keys() -> None:
    services_ = compose()["services"]
    assert set(APP_SERVICES) | {
        "migrate",
        "simulator",
        "postgres",
        "rabbitmq",
        "prometheus",
        "grafana",
    } <= set(services_)
    for name, service in services_.items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        assert set(service) <= SERVICE_KEYS, f"{name}: unknown keys {set(service) - SERVICE_KEYS}"
        if name not in ONE_SHOT:
            assert has_healthcheck(name), f"{name} has no healthcheck (compose or Dockerfile)"
    assert (
        services_["rabbitmq"]["image"].startswith("rabbitmq:3.1")
        and "management" in services_["rabbitmq"]["image"]
    )
    assert services_["postgres"]["image"].startswith("postgres:15")


def test_start_order_is_health_gated_and_acyclic() -> None:
    services_ = compose()["services"]
    for name, service in services_.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services_, f"{name} depends on unknown service {dependency}"
            assert spec["condition"] in CONDITIONS
            if spec["condition"] == "service_healthy":
                assert has_healthcheck(dependency), f"{name} waits for {dependency}, which has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert services_[dependency].get("restart", "no") == "no", f"{dependency} must be one-shot"
    for name in APP_SERVICES:
        depends = services_[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["rabbitmq"]["condition"] == depends["postgres"]["condition"] == "service_healthy"

    started: set[str] = set()
    remaining = dict(services_)
    while remaining:
        ready = [n for n, s in remaining.items() if set(s.get("depends_on", {})) <= started]
        assert ready, f"depends_on has a cycle among {sorted(remaining)}"
        started.update(ready)
        for n in ready:
            del remaining[n]


def test_volumes_are_declared_and_bind_mounts_exist() -> None:
    document = compose()
    declared = set(document.get("volumes") or {})
    used = set()
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_services_get_their_environment() -> None:
    services_ = compose()["services"]
    for name in (*APP_SERVICES, "migrate"):
        env = services_[name]["environment"]
        assert {"DATABASE_URL", "AMQP_URL", "EVENT_NAMESPACE"} <= set(env), name
        assert "@postgres:5432/" in env["DATABASE_URL"] and "@rabbitmq:5672/" in env["AMQP_URL"]
    for name in WORKERS:
        env = services_[name]["environment"]
        assert env["OPS_HOST"] == "0.0.0.0" and env["OPS_PORT"].isdigit(), name
    for name in PROVIDER_USERS:
        env = services_[name]["environment"]
        assert (
            "http://simulator:" in env["INSTAGRAM_SCRAPER_URL"]
            and "http://simulator:" in env["TRANSCRIPT_API_URL"]
        )
        assert env["RAPIDAPI_KEY"].startswith("${RAPIDAPI_KEY")
    for name in set(APP_SERVICES) - set(PROVIDER_USERS):
        assert not PROVIDER_ENV & set(services_[name]["environment"]), f"{name} never calls the provider"
    for name in WEBHOOK_SIGNERS:
        env = services_[name]["environment"]
        assert env["WEBHOOK_SIGNING_KEY"] == "${WEBHOOK_SIGNING_KEY:?set WEBHOOK_SIGNING_KEY}", name
    for name, service in services_.items():
        # Plain http to loopback receivers: `make run` only, never a container.
        assert "WEBHOOK_ALLOW_LOOPBACK" not in service.get("environment", {}), name
    gateway = services_["gateway"]["environment"]
    assert gateway["GATEWAY_HOST"] == "0.0.0.0"
    assert gateway["ADMIN_TOKEN"].startswith("${ADMIN_TOKEN:?")
    # Anyone may sign in as anyone with the development sign-in: `make run` only, never a container.
    assert "AUTH_DEV_LOGIN" not in gateway


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed",
)
def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "ADMIN_TOKEN": "test-token", "WEBHOOK_SIGNING_KEY": "test-signing-key"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_targets_run_as_non_root_with_a_healthcheck() -> None:
    stages = dockerfile_stages()
    assert stages["deps"].base == stages["runtime"].base == "python:3.11-slim"
    for name, target in built_services().items():
        assert target in stages, f"compose builds unknown target {target}"
        user = effective(stages, target, "USER")
        assert user is not None and user.split(":")[0] not in {"root", "0"}, f"{target} runs as root"
        check = effective(stages, target, "HEALTHCHECK")
        if name in ONE_SHOT:
            assert check in (None, "NONE")
            continue
        assert check is not None and "urllib.request" in check, f"{target} has no python healthcheck"
        port_var = re.search(r"os\.environ\['(\w+)'\]", check)
        assert port_var, f"{target}: the healthcheck should read its port from the environment"
        exposed = effective(stages, target, "EXPOSE")
        assert stage_env(stages, target)[port_var.group(1)] == exposed, f"{target}: healthcheck port"


def test_every_container_command_is_an_existing_module() -> None:
    stages = dockerfile_stages()
    for target in built_services().values():
        command = json.loads(effective(stages, target, "CMD") or "[]")
        assert command[:2] == ["python", "-m"], f"{target}: {command}"
        assert importlib.util.find_spec(command[2]) is not None, f"{target} runs missing module {command[2]}"


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for stage in dockerfile_stages().values():
        for keyword, rest in stage.instructions:
            if keyword != "COPY" or rest.startswith("--from"):
                continue
            source = rest.split()[0].rstrip("/")
            assert (ROOT / source).exists(), f"COPY of missing {source}"
            assert any(source == a or source.startswith(a + "/") for a in allowed), (
                f".dockerignore drops {source}"
            )


def test_runtime_requirements_are_in_step_with_the_lock() -> None:
    assert runtime_lock.RUNTIME_LOCK.read_text() == runtime_lock.render(), (
        "infra/docker/requirements-runtime.txt is stale; run `python -m infra.docker.runtime_lock`"
    )
    names = set(re.findall(r"^([\w.-]+)==", runtime_lock.render(), re.M))
    assert not {"pytest", "ruff", "mypy"} & names
    assert "cryptography" in names  # asked for as an extra, PyJWT[crypto]: the image verifies RS256 too


def test_services_import_no_other_service() -> None:
    # Each image copies only its own service package, so a cross-service import would fail in production.
    for package in (ROOT / "services").iterdir():
        if not (package / "__init__.py").exists():
            continue
        for source in package.rglob("*.py"):
            imported = set(re.findall(r"^\s*(?:from|import) services\.(\w+)", source.read_text(), re.M))
            assert imported <= {package.name}, f"{source.relative_to(ROOT)} imports services {imported}"


def test_prometheus_scrapes_every_service_and_only_compose_services() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    services_ = compose()["services"]
    targets = {
        t for job in config["scrape_configs"] for static in job["static_configs"] for t in static["targets"]
    }
    for target in targets:
        assert target.split(":")[0] in services_, f"scrape target {target} is not a compose service"
    for name in APP_SERVICES:
        env = services_[name]["environment"]
        port = env.get("OPS_PORT") or env.get("GATEWAY_PORT")
        assert f"{name}:{port}" in targets, f"{name} is not scraped on its ops port {port}"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file()


def referenced_metrics(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in promql_metric_names(expr)}


def alert_expressions() -> list[str]:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def test_alerts_cover_the_failure_modes() -> None:
    expressions = alert_expressions()
    assert any(re.search(r"\bup\s*==\s*0", e) for e in expressions)
    assert any('viralspot_http_requests_total{status=~"5.."}' in e for e in expressions)
    assert any('viralspot_provider_calls_total{outcome=~"unavailable' in e for e in expressions)
    assert any('viralspot_queue_messages{consumer="projector", queue="work"}' in e for e in expressions)
    assert {
        "viralspot_dead_letters_total",
        "viralspot_outbox_backlog",
        "viralspot_projector_lag_seconds_bucket",
        "viralspot_profile_queue_requests",
    } <= referenced_metrics(expressions)


def test_grafana_provisions_prometheus_and_the_dashboard() -> None:
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"].split("//")[1].split(":")[0] in compose()["services"]
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "viralspot.yml")["providers"][0]
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./infra/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./infra/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts

    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
    assert {
        "viralspot_events_published_total",
        "viralspot_events_consumed_total",
        "viralspot_dead_letters_total",
        "viralspot_outbox_backlog",
        "viralspot_projector_lag_seconds_bucket",
        "viralspot_http_requests_total",
        "viralspot_http_request_duration_seconds_bucket",
        "viralspot_handler_duration_seconds_bucket",
        "viralspot_event_retries_total",
        "viralspot_queue_messages",
        "viralspot_profile_queue_requests",
        "viralspot_provider_calls_total",
        "viralspot_provider_latency_seconds_bucket",
        "viralspot_analysis_runs_total",
    } <= referenced_metrics(dashboard_expressions())

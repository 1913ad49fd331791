"""The Kubernetes manifests (infra/k8s/) render with `kubectl kustomize` and agree with the rest of the
deployment: every service of docker-compose.yml is a Deployment with compose's environment, image target
and port, probed, limited and locked down; each worker scales on the queues the topology gives it; the
broker and the database are the operators' clusters; and neither the base nor production holds a secret.
Nothing here runs on a cluster: the rendered objects are checked as data."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from libs.events.topology import SUBSCRIPTIONS, Topology
from libs.runtime.config import ServiceSettings
from tests.unit.test_deploy_files import (
    APP_SERVICES,
    PROMETHEUS,
    ROOT,
    WEBHOOK_SIGNERS,
    WORKERS,
    built_services,
    compose,
    dockerfile_stages,
    effective,
    load_yaml,
)

K8S = ROOT / "infra" / "k8s"
BASE, PRODUCTION, DEVELOPMENT = "base", "overlays/production", "overlays/development"
OVERLAYS = (BASE, PRODUCTION, DEVELOPMENT)
# Read from Secret objects, never written in a manifest.
SECRET_ENV = {
    "DATABASE_URL", "AMQP_URL", "ADMIN_TOKEN", "AUTH_JWT_SECRET", "RAPIDAPI_KEY", "OPENAI_API_KEY",
    "WEBHOOK_SIGNING_KEY", "DATABASE_READ_URL", "MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY",
}  # fmt: skip
# Compose names no replica (a container's host name serves); a pod passes its own name.
K8S_ONLY_ENV = {"WORKER_ID"}
# Not autoscaled: its batches run one at a time whatever the replica count (infra/k8s/base/projector.yaml).
FIXED_COUNT = {"projector"}
CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)
COMPOSE_REF = re.compile(r"^\$\{(\w+):?([-?])(.*)\}$")

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed, so the manifests cannot be rendered"
)


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / overlay)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay}: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in render(overlay) if d["kind"] == kind}


def the_one(overlay: str, kind: str) -> dict[str, Any]:
    objects = list(of_kind(overlay, kind).values())
    assert len(objects) == 1, f"{overlay}: {len(objects)} {kind} objects"
    return objects[0]


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return dict(deployment["spec"]["template"]["spec"])


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    name = deployment["metadata"]["name"]
    matches = [c for c in pod(deployment)["containers"] if c["name"] == name]
    assert len(matches) == 1, f"{name}: no container named after its Deployment"
    return dict(matches[0])


def all_containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod(deployment)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = [e["name"] for e in container.get("env", [])]
    assert len(names) == len(set(names)), f"{container['name']}: a variable is set twice"
    return {e["name"]: e for e in container.get("env", [])}


def config_data(overlay: str) -> dict[str, str]:
    maps = [m for name, m in of_kind(overlay, "ConfigMap").items() if name.startswith("viralspot-config")]
    assert len(maps) == 1
    return dict(maps[0]["data"])


def compose_service(name: str) -> dict[str, Any]:
    return dict(compose()["services"][name])


def compose_env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose_service(name).get("environment", {}).items()}


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag); the tag is "" when there is none."""
    head, _, last = image.partition("@")[0].rpartition("/")
    name, _, tag = last.partition(":")
    return (f"{head}/{name}" if head else name), tag


def quantity(value: Any) -> float:
    units = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match and match[2] in units, f"not a quantity: {value}"
    return float(match[1]) * units[match[2]]


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"])
        if expression["operator"] == "In" and present not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and present in expression["values"]:
            return False
    return bool(selector)


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


def secret_ref(entry: dict[str, Any]) -> tuple[str, str]:
    ref = entry["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


# A service's second consumer (its own handler map, tests/unit/test_handler_maps.py), by its queue's name.
SECOND_CONSUMERS = {"profile-ingest-media": "profile-ingest"}


def owner(consumer: str) -> str:
    """The service that consumes a subscription's queue: a lane belongs to its parent's service."""
    return SUBSCRIPTIONS[consumer].lane_of or SECOND_CONSUMERS.get(consumer, consumer)


def every_string(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from every_string(value)
    elif isinstance(node, list):
        for item in node:
            yield from every_string(item)
    elif isinstance(node, str):
        yield node


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_a_deployment(overlay: str) -> None:
    deployments = of_kind(overlay, "Deployment")
    expected = set(APP_SERVICES) | ({"simulator"} if overlay == DEVELOPMENT else set())
    assert set(deployments) == expected
    for name, deployment in deployments.items():
        assert matches(deployment["spec"]["selector"], pod_labels(deployment)), name
        main_container(deployment)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_are_probed_on_their_ops_port(overlay: str) -> None:
    stages = dockerfile_stages()
    for name in APP_SERVICES:
        container = main_container(of_kind(overlay, "Deployment")[name])
        env = compose_env(name)
        port = int(env.get("OPS_PORT") or env["GATEWAY_PORT"])
        assert effective(stages, built_services()[name], "EXPOSE") == str(port), name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            check = container[probe]["httpGet"]
            assert check["path"] == path, f"{name} {probe}"
            assert ports.get(check["port"], check["port"]) == port, f"{name} {probe} is not on {port}"
        # The process binds its port only once it reaches the broker and the database.
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(overlay: str) -> None:
    for name, deployment in of_kind(overlay, "Deployment").items():
        for container in all_containers(deployment):
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request and limit, f"{name}/{container['name']}: {resource} request and limit"
                assert quantity(request) <= quantity(limit), f"{name}/{container['name']}: {resource}"
    for kind in ("RabbitmqCluster", "Cluster"):
        resources = the_one(overlay, kind)["spec"]["resources"]
        assert resources["requests"]["memory"] and resources["limits"]["memory"], kind


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_the_image_user_read_only_and_unprivileged(overlay: str) -> None:
    stages = dockerfile_stages()
    for name, deployment in of_kind(overlay, "Deployment").items():
        spec = pod(deployment)
        pod_context = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, name
        scratch = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            context = {**pod_context, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("capabilities", {}).get("drop") == ["ALL"], where
            assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            target = split_image(container["image"])[0].rsplit("/", 1)[-1]
            image_user = (effective(stages, target, "USER") or "").split(":")[0]
            assert str(context.get("runAsUser")) == image_user, f"{where}: not the image's user"
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in scratch, f"{where}: /tmp is not a scratch volume"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_have_time_to_drain(overlay: str) -> None:
    drain = ServiceSettings().shutdown_timeout_s
    for name in APP_SERVICES:
        deployment = of_kind(overlay, "Deployment")[name]
        grace = pod(deployment)["terminationGracePeriodSeconds"]
        assert grace >= seconds(compose_service(name)["stop_grace_period"]), name
        pre_stop = main_container(deployment).get("lifecycle", {}).get("preStop", {})
        command = pre_stop.get("exec", {}).get("command", [])
        waits = float(command[1]) if command[:1] == ["sleep"] else 0.0
        assert grace > drain + waits, f"{name}: {grace} s cannot hold {waits} s + the {drain} s drain"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_id_is_the_pod_name(overlay: str) -> None:
    for name in APP_SERVICES:
        worker_id = env_of(main_container(of_kind(overlay, "Deployment")[name]))["WORKER_ID"]
        assert worker_id["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_before_every_service(overlay: str) -> None:
    migrate_env = set(compose_env("migrate"))
    for name in APP_SERVICES:
        (init,) = pod(of_kind(overlay, "Deployment")[name])["initContainers"]
        assert split_image(init["image"])[0].endswith("/" + built_services()["migrate"]), name
        # The image's own command (the migrate target's CMD) runs.
        assert "command" not in init and "args" not in init, name
        assert set(env_of(init)) == migrate_env, f"{name}: migrate's environment differs from compose's"


def check_source(overlay: str, name: str, compose_value: str, entry: dict[str, Any]) -> None:
    """One variable comes from where compose's value says: a Secret for a secret, the same literal, or
    the ConfigMap key named after the compose variable (holding compose's default in the base)."""
    source = entry.get("valueFrom", {})
    reference = COMPOSE_REF.fullmatch(compose_value)
    if name in SECRET_ENV:
        assert "value" not in entry and "secretKeyRef" in source, f"{name} is not read from a Secret"
        required = reference is None or reference[2] == "?" or reference[3] != ""
        assert not (required and source["secretKeyRef"].get("optional")), f"{name} is required"
    elif reference is None:
        assert entry.get("value") == compose_value, f"{name}: {entry} but compose sets {compose_value}"
    elif "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        assert ref["key"] == reference[1], f"{name}: ConfigMap key {ref['key']}"
        assert ref["name"] in of_kind(overlay, "ConfigMap"), f"{name}: no ConfigMap {ref['name']}"
        data = config_data(overlay)
        assert ref["key"] in data, f"{name}: the ConfigMap has no {ref['key']}"
        if overlay == BASE:
            assert data[ref["key"]] == reference[3], f"{name}: base default differs from compose's"
    else:
        assert entry.get("value") == reference[3], f"{name}: neither compose's default nor the ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_environment_is_compose_s(overlay: str) -> None:
    for name, deployment in of_kind(overlay, "Deployment").items():
        expected = compose_env(name)
        env = env_of(main_container(deployment))
        extra = K8S_ONLY_ENV if name in APP_SERVICES else set()
        assert set(env) == set(expected) | extra, f"{name}: {set(env) ^ (set(expected) | extra)}"
        for variable, compose_value in expected.items():
            check_source(overlay, variable, compose_value, env[variable])
    for name in APP_SERVICES:
        (init,) = pod(of_kind(overlay, "Deployment")[name])["initContainers"]
        for variable, entry in env_of(init).items():
            check_source(overlay, variable, compose_env("migrate")[variable], entry)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_compose_s_targets(overlay: str) -> None:
    targets = built_services()
    images: dict[str, str] = {}
    for deployment in of_kind(overlay, "Deployment").values():
        for container in all_containers(deployment):
            images[container["name"]] = container["image"]
    tags = set()
    for service, image in images.items():
        repository, tag = split_image(image)
        compose_repository = split_image(compose_service(service)["image"])[0]
        assert compose_repository.rsplit("/", 1)[-1] == targets[service], service
        if overlay == BASE:
            assert image == compose_repository, f"{service}: the base names the image without a tag"
        elif overlay == DEVELOPMENT:
            assert image == compose_service(service)["image"], f"{service}: compose builds {image}"
        else:
            registry, _, rest = repository.partition("/")
            assert "." in registry and rest == compose_repository, f"{service}: {image}"
            tags.add((registry, tag))
    if overlay == PRODUCTION:
        assert len(tags) == 1, f"one registry and one release tag for every image: {tags}"
        assert tags.pop()[1] not in {"", "local", "latest"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_scale_on_their_queues_and_the_projector_does_not(overlay: str) -> None:
    deployments = of_kind(overlay, "Deployment")
    scaled = of_kind(overlay, "ScaledObject")
    auths = of_kind(overlay, "TriggerAuthentication")
    topology = Topology(namespace=config_data(overlay)["EVENT_NAMESPACE"])
    migrations = " ".join(p.read_text() for p in (ROOT / "infra" / "migrations").glob("*.sql"))
    assert set(scaled) == set(WORKERS) - FIXED_COUNT
    covered: set[str] = set()
    for worker, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"]["name"] == worker, worker
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment", worker
        assert "replicas" not in deployments[worker]["spec"], f"{worker}: an apply would undo KEDA's count"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], worker
        env = env_of(main_container(deployments[worker]))
        queues = set()
        for trigger in spec["triggers"]:
            auth = auths[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
            parameters = {a["parameter"]: (a["name"], a["key"]) for a in auth}
            metadata = trigger["metadata"]
            if trigger["type"] == "rabbitmq":
                assert metadata["mode"] == "QueueLength" and float(metadata["value"]) > 0, worker
                assert parameters["host"] == secret_ref(env["AMQP_URL"]), f"{worker}: another broker"
                queues.add(metadata["queueName"])
            else:
                assert trigger["type"] == "postgresql", worker
                assert parameters["connection"] == secret_ref(env["DATABASE_URL"]), worker
                assert float(metadata["targetQueryValue"]) > 0, worker
                for table in re.findall(r"\bFROM\s+(\w+\.\w+)", metadata["query"]):
                    assert f"CREATE TABLE {table} " in migrations, f"{worker} counts rows of unknown {table}"
        expected = {topology.queue(s.consumer) for s in SUBSCRIPTIONS.values() if owner(s.consumer) == worker}
        assert queues == expected, f"{worker} scales on {queues}, consumes {expected}"
        covered |= queues
    assert covered == {topology.queue(c) for c in SUBSCRIPTIONS if owner(c) not in FIXED_COUNT}
    for name in FIXED_COUNT | {"gateway"}:
        replicas = deployments[name]["spec"]["replicas"]
        assert replicas >= (2 if overlay == PRODUCTION else 1), f"{name}: {replicas} replicas"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(overlay: str) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget").values()
    for name, deployment in of_kind(overlay, "Deployment").items():
        if name not in APP_SERVICES:
            continue
        mine = [b for b in budgets if matches(b["spec"]["selector"], pod_labels(deployment))]
        assert len(mine) == 1, f"{name}: {len(mine)} disruption budgets"
        spec = mine[0]["spec"]
        # A drain may always proceed, one pod at a time, and a fixed count of two keeps one serving.
        assert spec.get("maxUnavailable") == 1 and "minAvailable" not in spec, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_scrapes_what_compose_scrapes(overlay: str) -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    monitors = of_kind(overlay, "PodMonitor").values()
    for name in APP_SERVICES:
        deployment = of_kind(overlay, "Deployment")[name]
        labels = pod_labels(deployment)
        (monitor,) = [m for m in monitors if matches(m["spec"]["selector"], labels)]
        ports = {p["name"] for p in main_container(deployment)["ports"]}
        (endpoint,) = [e for e in monitor["spec"]["podMetricsEndpoints"] if e["port"] in ports]
        assert endpoint["path"] == "/metrics", name
        assert labels[monitor["spec"]["jobLabel"]] == name and name in jobs, f"{name}: job label"
    broker = the_one(overlay, "RabbitmqCluster")["metadata"]["name"]
    (monitor,) = [m for m in monitors if matches(m["spec"]["selector"], {"app.kubernetes.io/name": broker})]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == jobs["rabbitmq"]["metrics_path"]
    assert {"targetLabel": "job", "replacement": "rabbitmq"} in endpoint["relabelings"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_webhook_signers_read_one_key(overlay: str) -> None:
    # The gateway shows each endpoint's secret and alerts signs with it: one key, or no signature verifies.
    deployments = of_kind(overlay, "Deployment")
    refs = {
        secret_ref(env_of(main_container(deployments[name]))["WEBHOOK_SIGNING_KEY"])
        for name in WEBHOOK_SIGNERS
    }
    assert len(refs) == 1, refs
    for name, deployment in deployments.items():
        for container in all_containers(deployment):
            assert "WEBHOOK_ALLOW_LOOPBACK" not in env_of(container), f"{name}: development only"
    assert "WEBHOOK_ALLOW_LOOPBACK" not in config_data(overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_service_reaches_the_gateway(overlay: str) -> None:
    service = of_kind(overlay, "Service")["gateway"]["spec"]
    deployment = of_kind(overlay, "Deployment")["gateway"]
    assert matches({"matchLabels": service["selector"]}, pod_labels(deployment))
    (port,) = service["ports"]
    assert port["targetPort"] in {p["name"] for p in main_container(deployment)["ports"]}
    assert str(port["port"]) == compose_env("gateway")["GATEWAY_PORT"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_broker_and_the_database_are_the_operators_clusters(overlay: str) -> None:
    broker = the_one(overlay, "RabbitmqCluster")
    database = the_one(overlay, "Cluster")
    assert broker["apiVersion"] == "rabbitmq.com/v1beta1"
    assert database["apiVersion"] == "postgresql.cnpg.io/v1"
    assert broker["spec"]["image"] == compose_service("rabbitmq")["image"]
    major = split_image(compose_service("postgres")["image"])[1].split("-")[0]
    assert split_image(database["spec"]["imageName"])[1].split(".")[0] == major
    gateway_env = env_of(main_container(of_kind(overlay, "Deployment")["gateway"]))
    assert secret_ref(gateway_env["DATABASE_URL"]) == (f"{database['metadata']['name']}-app", "uri")
    assert database["spec"]["bootstrap"]["initdb"]["database"] == "viralspot"
    if overlay == PRODUCTION:
        assert broker["spec"]["replicas"] == 3
        assert database["spec"]["instances"] == 2


@pytest.mark.parametrize("overlay", (BASE, PRODUCTION))
def test_no_secret_is_written_in_the_manifests(overlay: str) -> None:
    assert not of_kind(overlay, "Secret")
    assert not SECRET_ENV & set(config_data(overlay))
    for doc in render(overlay):
        for text in every_string(doc):
            assert not CREDENTIALS_IN_URL.search(text), f"{doc['kind']} {doc['metadata']['name']}: {text}"


def referenced_secrets(overlay: str, optional: bool = True) -> set[str]:
    """The Secrets the pods read; optional=False leaves out those a pod starts without."""
    names = set()
    for deployment in of_kind(overlay, "Deployment").values():
        for container in all_containers(deployment):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None and (optional or not ref.get("optional")):
                    names.add(ref["name"])
    for auth in of_kind(overlay, "TriggerAuthentication").values():
        names |= {ref["name"] for ref in auth["spec"]["secretTargetRef"]}
    return names


def test_the_development_overlay_makes_every_secret_the_operators_do_not() -> None:
    database = the_one(DEVELOPMENT, "Cluster")["metadata"]["name"]
    made = set(of_kind(DEVELOPMENT, "Secret"))
    assert referenced_secrets(DEVELOPMENT, optional=False) - {f"{database}-app"} <= made


def test_production_calls_the_provider_not_the_simulator() -> None:
    data = config_data(PRODUCTION)
    for name in ("INSTAGRAM_SCRAPER_URL", "TRANSCRIPT_API_URL"):
        assert data[name].startswith("https://") and "simulator" not in data[name], name


def test_readme_names_the_secrets_to_create() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Containers and scaling out")
    section = readme[start : readme.index("\n## ", start)]
    for name in sorted(referenced_secrets(PRODUCTION)):
        assert f"`{name}`" in section, f"README does not say where Secret {name} comes from"
    for overlay in (PRODUCTION, DEVELOPMENT):
        assert f"infra/k8s/{overlay}" in section

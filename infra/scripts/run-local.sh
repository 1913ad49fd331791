#!/usr/bin/env bash
# `make run`: the whole system as local processes (simulator, migrations, six services).
# Ctrl-C or SIGTERM stops every process gracefully.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=.venv/bin/python
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/viralspot}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
export EVENT_NAMESPACE="${EVENT_NAMESPACE:-viralspot}"
export GATEWAY_PORT="${GATEWAY_PORT:-8000}"
export SIM_PORT="${SIM_PORT:-8100}"
if [ -z "${ADMIN_TOKEN:-}" ]; then
    ADMIN_TOKEN="$($PY -c 'import secrets; print(secrets.token_urlsafe(24))')"
    echo "ADMIN_TOKEN was not set; generated one for this run: $ADMIN_TOKEN"
fi
export ADMIN_TOKEN
# The development sign-in (POST /api/auth/dev-token) signs with AUTH_JWT_SECRET: a random one per run
# unless given, so its tokens end with the run.
export AUTH_DEV_LOGIN="${AUTH_DEV_LOGIN:-1}"
if [ -z "${AUTH_JWT_SECRET:-}" ]; then
    AUTH_JWT_SECRET="$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')"
fi
export AUTH_JWT_SECRET
# The key webhook endpoints' signing secrets derive from (gateway and alerts share it): a random one per
# run unless given, so secrets shown during a run stop verifying after it. Development only, as is
# WEBHOOK_ALLOW_LOOPBACK (plain http to a receiver on 127.0.0.1), which compose and k8s never set.
if [ -z "${WEBHOOK_SIGNING_KEY:-}" ]; then
    WEBHOOK_SIGNING_KEY="$($PY -c 'import secrets; print(secrets.token_hex(32))')"
fi
export WEBHOOK_SIGNING_KEY
# Without a RapidAPI key the services talk to the local Instagram simulator.
if [ -z "${RAPIDAPI_KEY:-}" ]; then
    export INSTAGRAM_SCRAPER_URL="${INSTAGRAM_SCRAPER_URL:-http://127.0.0.1:$SIM_PORT}"
    export TRANSCRIPT_API_URL="${TRANSCRIPT_API_URL:-http://127.0.0.1:$SIM_PORT}"
fi

# Where the logs go, and the services' ops ports (base .. base+4): a second copy (a test) moves both.
RUN_DIR="${RUN_DIR:-.run}"
OPS_PORT_BASE="${OPS_PORT_BASE:-8001}"
mkdir -p "$RUN_DIR"
$PY -m libs.events.migrate
# Copies of the provider's images in a directory (profile-ingest writes, the gateway serves).
export MEDIA_STORE="${MEDIA_STORE:-file}"
export MEDIA_DIR="${MEDIA_DIR:-$RUN_DIR/media}"

pids=()
start() {
    local name=$1; shift
    echo "starting $name (log: $RUN_DIR/$name.log)"
    env "$@" > "$RUN_DIR/$name.log" 2>&1 &
    pids+=($!)
}
stop_all() {
    echo "stopping..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# The simulator serves its images on its own /cdn, on loopback over http: profile-ingest may copy from
# there (MEDIA_ALLOW_LOOPBACK, development only, never in containers).
media_from=()
if [ -z "${RAPIDAPI_KEY:-}" ]; then
    start simulator SIM_CDN_URL="http://127.0.0.1:$SIM_PORT/cdn" $PY -m infra.simulator --port "$SIM_PORT"
    media_from=(MEDIA_ALLOWED_HOSTS="${MEDIA_ALLOWED_HOSTS:-127.0.0.1}" MEDIA_ALLOW_LOOPBACK=1)
fi
start projector OPS_PORT=$((OPS_PORT_BASE + 3)) $PY -m services.projector
start profile-ingest OPS_PORT=$OPS_PORT_BASE "${media_from[@]}" $PY -m services.profile_ingest
start viral-analysis OPS_PORT=$((OPS_PORT_BASE + 1)) $PY -m services.viral_analysis
start crawler OPS_PORT=$((OPS_PORT_BASE + 2)) $PY -m services.crawler
start alerts OPS_PORT=$((OPS_PORT_BASE + 4)) WEBHOOK_ALLOW_LOOPBACK=1 $PY -m services.alerts
start gateway WEBHOOK_ALLOW_LOOPBACK=1 $PY -m services.gateway

echo "gateway: http://127.0.0.1:$GATEWAY_PORT  (metrics: /metrics, health: /healthz, /readyz)"
if [ "$AUTH_DEV_LOGIN" = "1" ]; then
    echo "development sign-in: curl -X POST http://127.0.0.1:$GATEWAY_PORT/api/auth/dev-token -d '{\"user\": \"maya\"}'"
fi
wait -n "${pids[@]}" || true
echo "a process exited; see $RUN_DIR/*.log"

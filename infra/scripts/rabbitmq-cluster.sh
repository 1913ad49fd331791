#!/usr/bin/env bash
# A three-node RabbitMQ cluster beside the machine's own node, for cluster mode and its tests:
#   infra/scripts/rabbitmq-cluster.sh start|stop|status|stop-node N|start-node N|urls|node N
# Nodes CLUSTER_NAME-1..3@<host> (vs-cluster-1..3), AMQP on CLUSTER_PORT_BASE+1..3 (5701-5703), Erlang distribution on
# CLUSTER_DIST_BASE+1..3, data and logs under CLUSTER_DIR (no plugins, so no management or metrics
# port clashes with the machine's node). The machine's own node is never touched. Same user, same
# Erlang cookie (~/.erlang.cookie), so rabbitmqctl reaches every node.
set -euo pipefail

PORT_BASE=${CLUSTER_PORT_BASE:-5700}
DIST_BASE=${CLUSTER_DIST_BASE:-25700}
DIR=${CLUSTER_DIR:-/tmp/vs-rabbitmq-cluster}
# Node names are the machine's to share: a second cluster (a test beside a developer's) needs its own.
NAME=${CLUSTER_NAME:-vs-cluster}
# The machine node's own naming (its rabbitmq-env.conf): short names on localhost.
HOST=localhost
NODES=(1 2 3)

node() { echo "$NAME-$1@$HOST"; }

node_env() {
    local n=$1
    mkdir -p "$DIR/$n"
    [ -f "$DIR/enabled_plugins" ] || echo "[]." > "$DIR/enabled_plugins"
    # Our own config and env files: the machine's (/etc/rabbitmq) name its node and its port 5672.
    echo "listeners.tcp.local = 127.0.0.1:$((PORT_BASE + n))" > "$DIR/$n/rabbitmq.conf"
    printf 'ERL_EPMD_ADDRESS=127.0.0.1\nexport ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n' \
        > "$DIR/rabbitmq-env.conf"
    # Debian's wrappers run the server as the rabbitmq user when called as root: it must own its files.
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
        chmod 755 "$DIR" && chown -R rabbitmq:rabbitmq "$DIR"
    fi
    echo "RABBITMQ_CONF_ENV_FILE=$DIR/rabbitmq-env.conf RABBITMQ_NODENAME=$(node "$n")" \
         "RABBITMQ_NODE_PORT=$((PORT_BASE + n)) RABBITMQ_DIST_PORT=$((DIST_BASE + n))" \
         "RABBITMQ_MNESIA_BASE=$DIR/$n/mnesia RABBITMQ_LOG_BASE=$DIR/$n/log" \
         "RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins RABBITMQ_PID_FILE=$DIR/$n/pid" \
         "RABBITMQ_CONFIG_FILE=$DIR/$n/rabbitmq.conf"
}

start_node() {
    local n=$1
    if rabbitmqctl -q -n "$(node "$n")" status >/dev/null 2>&1; then
        return 0
    fi
    # shellcheck disable=SC2046
    env $(node_env "$n") rabbitmq-server -detached
    # -detached returns at once; await_startup needs the node registered with epmd first.
    for _ in $(seq 1 120); do
        rabbitmqctl -q -n "$(node "$n")" ping >/dev/null 2>&1 && break
        sleep 0.5
    done
    rabbitmqctl -q -n "$(node "$n")" --timeout 120 await_startup
}

stop_node() {
    rabbitmqctl -q -n "$(node "$1")" stop >/dev/null 2>&1 || true
}

case "${1:-}" in
    start)
        for n in "${NODES[@]}"; do start_node "$n"; done
        for n in 2 3; do
            if ! rabbitmqctl -q -n "$(node "$n")" cluster_status 2>/dev/null | grep -q "$(node 1)"; then
                rabbitmqctl -q -n "$(node "$n")" stop_app
                rabbitmqctl -q -n "$(node "$n")" join_cluster "$(node 1)"
                rabbitmqctl -q -n "$(node "$n")" start_app
            fi
        done
        rabbitmqctl -q -n "$(node 1)" await_online_nodes 3
        echo "cluster up: $("$0" urls)"
        ;;
    stop)
        for n in 3 2 1; do stop_node "$n"; done
        rm -rf "$DIR"
        ;;
    stop-node) stop_node "$2" ;;
    start-node) start_node "$2" ;;
    status) rabbitmqctl -n "$(node 1)" cluster_status ;;
    urls)
        printf 'amqp://guest:guest@127.0.0.1:%s/,amqp://guest:guest@127.0.0.1:%s/,amqp://guest:guest@127.0.0.1:%s/\n' \
            $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3))
        ;;
    node) node "$2" ;;
    *)
        echo "usage: $0 start|stop|status|stop-node N|start-node N|urls|node N" >&2
        exit 2
        ;;
esac

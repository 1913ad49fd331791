#!/usr/bin/env bash
# A PostgreSQL primary and its streaming replica beside the machine's own server, for the replica mode
# (DATABASE_READ_URL) and its tests:
#   infra/scripts/postgres-replica.sh start|stop|status|restart-primary|pause-replay|resume-replay|urls
# The primary is a cluster of its own on PG_PAIR_PORT_BASE+1 (5441), initialised here, trust auth on
# 127.0.0.1 as the machine's is; the replica is made from it with pg_basebackup -R (a physical
# replication slot, so the primary keeps the WAL a stopped replica still needs) on PG_PAIR_PORT_BASE+2
# (5442), hot standby. Data and logs under PG_PAIR_DIR. The machine's own server is never touched: its
# pg_hba.conf allows no replication, and its databases belong to everything else running here.
set -euo pipefail

PORT_BASE=${PG_PAIR_PORT_BASE:-5440}
DIR=${PG_PAIR_DIR:-/tmp/vs-postgres-pair}
PRIMARY_PORT=$((PORT_BASE + 1))
REPLICA_PORT=$((PORT_BASE + 2))
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
SLOT=vs_replica

# PostgreSQL refuses to run as root: as root, everything runs as the postgres user, who owns DIR.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ctl() {  # ctl <data dir> <port> <pg_ctl action...>
    local data=$1 port=$2
    shift 2
    as_owner "$BIN/pg_ctl" -D "$data" -l "$data.log" -o "-p $port -k $DIR -c listen_addresses=127.0.0.1" -w "$@"
}

running() { as_owner "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

sql() {  # sql <port> <statement>
    psql -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

start() {
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    if [ ! -f "$DIR/primary/PG_VERSION" ]; then
        as_owner "$BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >> "$DIR/primary/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
max_connections = 200
fsync = off
EOF
        printf 'host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n' \
            >> "$DIR/primary/pg_hba.conf"
    fi
    running "$DIR/primary" || ctl "$DIR/primary" "$PRIMARY_PORT" start >/dev/null
    if [ ! -f "$DIR/replica/PG_VERSION" ]; then
        sql "$PRIMARY_PORT" "SELECT 1 FROM pg_create_physical_replication_slot('$SLOT')
                             WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT')" >/dev/null
        # -R writes primary_conninfo and standby.signal: the copy starts as a streaming hot standby.
        as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/replica" \
            -X stream -S "$SLOT" -R >/dev/null
    fi
    running "$DIR/replica" || ctl "$DIR/replica" "$REPLICA_PORT" start >/dev/null
    for _ in $(seq 1 60); do
        [ "$(sql "$PRIMARY_PORT" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ] && break
        sleep 0.5
    done
    echo "primary 127.0.0.1:$PRIMARY_PORT, replica 127.0.0.1:$REPLICA_PORT (streaming)"
}

case "${1:-}" in
    start) start ;;
    stop)
        for node in replica primary; do
            running "$DIR/$node" 2>/dev/null && ctl "$DIR/$node" 0 stop -m fast >/dev/null || true
        done
        rm -rf "$DIR"
        ;;
    restart-primary) ctl "$DIR/primary" "$PRIMARY_PORT" restart -m fast >/dev/null ;;
    # Replay paused on the replica: it goes on receiving WAL and falls behind, as a loaded one does.
    pause-replay) sql "$REPLICA_PORT" "SELECT pg_wal_replay_pause()" >/dev/null ;;
    resume-replay) sql "$REPLICA_PORT" "SELECT pg_wal_replay_resume()" >/dev/null ;;
    status)
        sql "$PRIMARY_PORT" "SELECT application_name, state, replay_lag FROM pg_stat_replication"
        ;;
    urls) echo "postgresql://postgres@127.0.0.1:$PRIMARY_PORT postgresql://postgres@127.0.0.1:$REPLICA_PORT" ;;
    *) echo "usage: $0 start|stop|status|restart-primary|pause-replay|resume-replay|urls" >&2; exit 2 ;;
esac

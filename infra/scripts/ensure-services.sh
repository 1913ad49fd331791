#!/usr/bin/env bash
# Make sure the local PostgreSQL and RabbitMQ are running and answering; start them when stopped.
set -euo pipefail

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q; }
rabbit_ready() { rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; }

if command -v pg_isready >/dev/null && ! pg_ready; then
    echo "starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
fi
if command -v rabbitmq-diagnostics >/dev/null && ! rabbit_ready; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached || true
fi

for _ in $(seq 1 120); do
    if pg_ready && rabbit_ready; then
        echo "PostgreSQL and RabbitMQ are ready"
        exit 0
    fi
    sleep 1
done
echo "PostgreSQL or RabbitMQ did not become ready in 120 s" >&2
exit 1

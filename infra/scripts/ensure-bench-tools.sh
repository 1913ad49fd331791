#!/usr/bin/env bash
# Install what `make bench` drives its load with (wrk), only when it is missing; safe to run every time.
# Without root or apt-get it installs nothing and the bench falls back to its Python load generator.
set -euo pipefail

if command -v wrk >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "wrk is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (a colleague installing something) holds the lock for a while: wait for it.
apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq)
if ! "${apt[@]}" install wrk >/dev/null; then
    "${apt[@]}" update >/dev/null
    "${apt[@]}" install wrk >/dev/null
fi
command -v wrk >/dev/null

#!/usr/bin/env bash
# Install what `make bench` drives its load with (wrk) and balances two gateways with (haproxy), only
# what is missing; safe to run every time. Without root or apt-get it installs nothing: the bench then
# falls back to its Python load generator, and its HAProxy figure says it was skipped.
# Exits non-zero only when wrk is missing afterwards. `make test` names only haproxy (the cluster test's).
set -euo pipefail

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(wrk haproxy)
missing=()
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "${missing[*]} missing and cannot be installed here (needs root and apt-get)" >&2
    [[ " ${tools[*]} " != *" wrk "* ]] || command -v wrk >/dev/null
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (a colleague installing something) holds the lock for a while: wait for it.
apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq)
if ! "${apt[@]}" install "${missing[@]}" >/dev/null; then
    "${apt[@]}" update >/dev/null || true
    "${apt[@]}" install "${missing[@]}" >/dev/null || echo "could not install ${missing[*]}" >&2
fi
[[ " ${tools[*]} " != *" wrk "* ]] || command -v wrk >/dev/null

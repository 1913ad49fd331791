#!/usr/bin/env bash
# promtool (Prometheus's rule checker) for the alert-rule tests, taken out of Debian's prometheus package
# into .tools/bin without installing the package (which would also start a Prometheus server). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.tools/bin/promtool
if [ -x "$dest" ] || command -v promtool >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    echo "promtool is missing and cannot be fetched here (needs apt-get and dpkg)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
    apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
    (cd "$tmp" && apt-get download prometheus >/dev/null)
fi
dpkg -x "$tmp"/prometheus_*.deb "$tmp/extracted"
mkdir -p .tools/bin
cp "$tmp/extracted/usr/bin/promtool" "$dest"
"$dest" --version | head -1

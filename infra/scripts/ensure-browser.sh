#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the web page tests (tests/web/); idempotent.
# Playwright drives it through executable_path=/usr/bin/chromium, so `playwright install` is never needed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "chromium is missing and apt-get is not available: install Chromium at /usr/bin/chromium" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing chromium"
# Another apt-get may hold the lock for a while: wait for it rather than fail.
apt=($SUDO apt-get -o DPkg::Lock::Timeout=300 -y -qq)
"${apt[@]}" update
"${apt[@]}" install chromium chromium-driver
/usr/bin/chromium --version

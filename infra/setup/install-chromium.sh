#!/usr/bin/env bash
# Makes sure Debian's chromium is installed: the browser tests (apps/web/e2e) drive it with Playwright,
# whose own browser download is not reachable here. Does nothing when it is already there.
# Usage: infra/setup/install-chromium.sh   (CHROMIUM_PATH overrides where the tests look for it)
set -euo pipefail

chromium_path=${CHROMIUM_PATH:-/usr/bin/chromium}
say() { echo "[chromium] $*" >&2; }

if [ -x "$chromium_path" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "$chromium_path is missing and installing it needs root: apt-get install chromium (or set CHROMIUM_PATH)."
  exit 1
fi
say "installing chromium from Debian"
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
"$chromium_path" --version >&2

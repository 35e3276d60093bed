#!/usr/bin/env bash
# Installs Debian's `chromium` (headless Web UI check, test/e2e/codec-ui.test.ts) when /usr/bin/chromium
# is missing. Needs root (CI and the dev machines run as root); apt-get is non-interactive.
# Prints the browser's path.
set -euo pipefail
BIN=/usr/bin/chromium
if [[ ! -x "$BIN" ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "[sluice] $BIN is missing and installing it needs root: run 'sudo apt-get install -y chromium'" >&2
    exit 1
  fi
  echo "[sluice] installing Debian's chromium (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
fi
"$BIN" --version >&2
echo "$BIN"

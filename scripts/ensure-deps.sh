#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than the lock file (a fresh clone,
# or a pull that changed package-lock.json). `npm ci` also builds the project (the prepare script).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# A worktree sharing another checkout's node_modules through a symlink: `npm ci` here would empty
# the other checkout's node_modules through the link. Leave it to that checkout.
if [[ -L node_modules ]]; then
  exit 0
fi
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[sluice] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi

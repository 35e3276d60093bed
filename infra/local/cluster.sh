#!/usr/bin/env bash
# The production-shaped Temporal of the local stack (issue #20), sourced by stack.sh when
# SLUICE_TEMPORAL=cluster: a Temporal server built from its Go module, on a PostgreSQL cluster of
# its own under .sluice/cluster/pg (never the machine's), schemas set up with the server's own
# temporal-sql-tool, frontend / history / matching / worker as four processes on loopback ports,
# the namespace and Sluice's search attributes registered the way an operator does it.
#
# Built once into .sluice/cluster/bin/<version>/ and reused. The server needs a newer Go than the
# machine's: GOTOOLCHAIN=go1.27.3 makes the go command fetch that approved toolchain from the
# module proxy (the one way to get it here).
export GOTOOLCHAIN=go1.27.3

TEMPORAL_SERVER_VERSION="${SLUICE_TEMPORAL_SERVER_VERSION:-v1.32.2}"
# The version in infra/local/ui-server/go.mod (names the binary: a new pin builds anew).
UI_SERVER_VERSION="$(sed -n 's|^[[:space:]]*github.com/temporalio/ui-server/v2 \(v[^ ]*\).*|\1|p' "$SCRIPT_DIR/ui-server/go.mod")"
CLUSTER_DIR="$STATE_DIR/cluster"
CLUSTER_BIN="$CLUSTER_DIR/bin/$TEMPORAL_SERVER_VERSION"
CLUSTER_CONFIG="$CLUSTER_DIR/config"
PG_DIR="$CLUSTER_DIR/pg"
PG_PORT="${SLUICE_PG_PORT:-5433}"
PG_USER=temporal
PG_PASSWORD=temporal
# frontend keeps the dev server's port: clients, workers and the CLI connect as before.
CLUSTER_SERVICES=(frontend history matching worker)
declare -A CLUSTER_GRPC=([frontend]="$TEMPORAL_PORT" [history]=7234 [matching]=7235 [worker]=7239)
declare -A CLUSTER_MEMBERSHIP=([frontend]=6933 [history]=6934 [matching]=6935 [worker]=6939)
CLUSTER_TIMEOUT="${SLUICE_CLUSTER_TIMEOUT:-180}"

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

ensure_postgres_package() {
  pg_bin >/dev/null && return 0
  log "installing Debian's postgresql package (the server binaries; no cluster of the machine's is used)"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >"$LOG_DIR/apt-postgresql.log" 2>&1 ||
    { apt-get update -q >>"$LOG_DIR/apt-postgresql.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >>"$LOG_DIR/apt-postgresql.log" 2>&1; }; }; then
    die_with_log apt-postgresql "apt-get install postgresql failed"
  fi
  pg_bin >/dev/null || die_with_log apt-postgresql "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
}

# The module's own directory (config templates, SQL schemas) in the Go module cache.
server_module_dir() {
  go mod download -json "go.temporal.io/server@$TEMPORAL_SERVER_VERSION" 2>>"$LOG_DIR/cluster-build.log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

ensure_cluster_build() {
  if [[ -x "$CLUSTER_BIN/temporal-server" && -x "$CLUSTER_BIN/temporal-sql-tool" && -x "$CLUSTER_BIN/ui-server-$UI_SERVER_VERSION" ]]; then
    return 0
  fi
  log "building Temporal server $TEMPORAL_SERVER_VERSION from go.temporal.io/server (once; about 6 min on 2 cores)"
  local tmp="$CLUSTER_DIR/bin/.build"
  rm -rf "$tmp" && mkdir -p "$tmp/server" "$tmp/sql" "$tmp/ui" "$CLUSTER_BIN"
  GOBIN="$tmp/server" go install "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" >>"$LOG_DIR/cluster-build.log" 2>&1 ||
    die_with_log cluster-build "go install go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION failed"
  GOBIN="$tmp/sql" go install "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >>"$LOG_DIR/cluster-build.log" 2>&1 ||
    die_with_log cluster-build "go install go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION failed"
  # The UI from its own small module (infra/local/ui-server/go.mod pins it, see the README there).
  (cd "$SCRIPT_DIR/ui-server" && go build -o "$tmp/ui/ui-server" github.com/temporalio/ui-server/v2/cmd/server) \
    >>"$LOG_DIR/cluster-build.log" 2>&1 || die_with_log cluster-build "go build of github.com/temporalio/ui-server/v2 failed"
  mv "$tmp/ui/ui-server" "$CLUSTER_BIN/ui-server-$UI_SERVER_VERSION"
  mv "$tmp/sql/sql" "$CLUSTER_BIN/temporal-sql-tool"
  mv "$tmp/server/server" "$CLUSTER_BIN/temporal-server"
  rm -rf "$tmp"
}

# 9>&-: the postgres server must not inherit (and hold) the stack's flock fd.
pg_ctl_() { runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" "$@" 9>&-; }
pg_ready() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }

up_postgres() {
  ensure_postgres_package
  # The server runs as the postgres user (initdb refuses root): its own folders, its log linked into logs/.
  mkdir -p "$PG_DIR/run" "$PG_DIR/log"
  chown postgres "$PG_DIR" "$PG_DIR/run" "$PG_DIR/log"
  ln -sfn "$PG_DIR/log/postgres.log" "$LOG_DIR/postgres.log"
  if [[ ! -f "$PG_DIR/data/PG_VERSION" ]]; then
    log "initdb: a PostgreSQL cluster of the stack's own in $PG_DIR/data"
    runuser -u postgres -- "$(pg_bin)/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      >"$LOG_DIR/postgres-init.log" 2>&1 || die_with_log postgres-init "initdb failed"
  fi
  if ! pg_ready; then
    log "starting postgres on 127.0.0.1:$PG_PORT"
    pg_ctl_ -l "$PG_DIR/log/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $PG_DIR/run -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
      die_with_log postgres "pg_ctl start failed"
  else
    log "postgres already running on 127.0.0.1:$PG_PORT"
  fi
  # The role Temporal connects as (password auth over TCP, as in production).
  local psql=("$(pg_bin)/psql" -h "$PG_DIR/run" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [[ "$(runuser -u postgres -- "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'")" != 1 ]]; then
    runuser -u postgres -- "${psql[@]}" -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null ||
      die_with_log postgres "cannot create role $PG_USER"
  fi
}

down_postgres() {
  pg_bin >/dev/null || return 0
  if [[ -f "$PG_DIR/data/PG_VERSION" ]] && pg_ready; then
    log "stopping postgres"
    pg_ctl_ -m fast -w stop >/dev/null 2>&1 || true
  fi
}

sql_tool() { # sql_tool <database> <args...>
  local db="$1"
  shift
  "$CLUSTER_BIN/temporal-sql-tool" --plugin postgres12 --endpoint 127.0.0.1 --port "$PG_PORT" \
    --user "$PG_USER" --password "$PG_PASSWORD" --database "$db" "$@"
}

# Persistence and SQL visibility schemas, with the server's own tool (idempotent: a database at the
# module's version is left alone; update-schema applies only the versions it lacks).
ensure_schemas() {
  local dir db sub
  dir="$(server_module_dir)"
  [[ -d "$dir/schema/postgresql/v12" ]] || die_with_log cluster-build "no schema/postgresql/v12 in go.temporal.io/server@$TEMPORAL_SERVER_VERSION"
  for db in temporal temporal_visibility; do
    sub=temporal
    [[ "$db" == temporal_visibility ]] && sub=visibility
    if ! sql_tool "$db" create-database >>"$LOG_DIR/cluster-schema.log" 2>&1; then
      grep -q "already exists" "$LOG_DIR/cluster-schema.log" || die_with_log cluster-schema "create-database $db failed"
    fi
    # setup-schema -v 0.0 creates the version table (it refuses, harmlessly, once it exists).
    sql_tool "$db" setup-schema -v 0.0 >>"$LOG_DIR/cluster-schema.log" 2>&1 || true
    sql_tool "$db" update-schema -d "$dir/schema/postgresql/v12/$sub/versioned" >>"$LOG_DIR/cluster-schema.log" 2>&1 ||
      die_with_log cluster-schema "update-schema of $db failed"
  done
}

write_cluster_config() {
  mkdir -p "$CLUSTER_CONFIG"
  cat >"$CLUSTER_CONFIG/dynamicconfig.yaml" <<'EOF'
# Dynamic config of the local cluster (the server's keys: common/dynamicconfig/constants.go).
# Search attributes registered by an operator are visible to the next request at once.
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
# Task Queue Priority and Fairness (pools order their waiters; the matcher orders dispatch).
matching.useNewMatcher:
  - value: true
matching.enableFairness:
  - value: true
EOF
  local svc
  for svc in "${CLUSTER_SERVICES[@]}"; do
    {
      cat <<EOF
# Generated by infra/local/cluster.sh: the $svc service of the local cluster.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: $PG_USER
        password: $PG_PASSWORD
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: $PG_USER
        password: $PG_PASSWORD
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
EOF
      local s
      for s in "${CLUSTER_SERVICES[@]}"; do
        cat <<EOF
  $s:
    rpc:
      grpcPort: ${CLUSTER_GRPC[$s]}
      membershipPort: ${CLUSTER_MEMBERSHIP[$s]}
      bindOnLocalHost: true
EOF
      done
      cat <<EOF
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$TEMPORAL_PORT"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$CLUSTER_CONFIG/dynamicconfig.yaml"
  pollInterval: 10s
EOF
    } >"$CLUSTER_CONFIG/$svc.yaml"
  done
}

# The Web UI (ui-server) for the cluster, on the port the dev server's UI uses.
write_ui_config() {
  mkdir -p "$CLUSTER_DIR/ui/config"
  cat >"$CLUSTER_DIR/ui/config/cluster.yaml" <<EOF
# Generated by infra/local/cluster.sh.
temporalGrpcAddress: "127.0.0.1:$TEMPORAL_PORT"
host: 127.0.0.1
port: $TEMPORAL_UI_PORT
enableUi: true
defaultNamespace: default
refreshInterval: 1m
EOF
}

ui_serving() { http_ok "http://$HOST:$TEMPORAL_UI_PORT/"; }

up_ui() {
  write_ui_config
  if ! pid_of temporal-ui >/dev/null; then
    log "starting the Temporal Web UI on http://$HOST:$TEMPORAL_UI_PORT"
    start_detached temporal-ui "$CLUSTER_BIN/ui-server-$UI_SERVER_VERSION" --root "$CLUSTER_DIR/ui" --config config --env cluster start
  fi
  wait_healthy temporal-ui 60 ui_serving
}

cluster_service_up() { # cluster_service_up <service>
  local svc="$1" name="temporal-$1"
  pid_of "$name" >/dev/null && return 0
  log "starting temporal $svc on 127.0.0.1:${CLUSTER_GRPC[$svc]}"
  start_detached "$name" "$CLUSTER_BIN/temporal-server" --config-file "$CLUSTER_CONFIG/$svc.yaml" --allow-no-auth start --service "$svc"
}

up_cluster() {
  if healthy_temporal && pid_of temporal-frontend >/dev/null; then log "temporal cluster already healthy"; return 0; fi
  if pid_of temporal >/dev/null; then
    die_with_log temporal "the dev server runs on $HOST:$TEMPORAL_PORT: npm run stack:down first, then SLUICE_TEMPORAL=cluster npm run stack:up"
  fi
  ensure_cluster_build
  up_postgres
  ensure_schemas
  write_cluster_config
  local svc
  for svc in history matching frontend worker; do cluster_service_up "$svc"; done
  local start=$SECONDS
  until temporal_serving; do
    for svc in "${CLUSTER_SERVICES[@]}"; do
      pid_of "temporal-$svc" >/dev/null || die_with_log "temporal-$svc" "temporal $svc exited during startup"
    done
    ((SECONDS - start >= CLUSTER_TIMEOUT)) && die_with_log temporal-frontend "the cluster's frontend not serving after ${CLUSTER_TIMEOUT}s"
    sleep 1
  done
  # The namespace, as an operator creates it (a production cluster has none by default).
  until timeout 10 "$TEMPORAL_BIN" operator namespace describe --address "$HOST:$TEMPORAL_PORT" --namespace default >/dev/null 2>&1; do
    timeout 20 "$TEMPORAL_BIN" operator namespace create --address "$HOST:$TEMPORAL_PORT" --namespace default --retention 72h \
      >>"$LOG_DIR/temporal-frontend.log" 2>&1 || true
    ((SECONDS - start >= CLUSTER_TIMEOUT)) && die_with_log temporal-frontend "namespace default could not be created"
    sleep 1
  done
  register_search_attributes
  up_ui
}

down_cluster() {
  local i
  stop_service temporal-ui
  for ((i = ${#CLUSTER_SERVICES[@]} - 1; i >= 0; i--)); do stop_service "temporal-${CLUSTER_SERVICES[$i]}"; done
  down_postgres
}

status_cluster() { # one line per service of the cluster; non-zero if any is down
  local bad=0 svc pid
  for svc in "${CLUSTER_SERVICES[@]}"; do
    pid="$(pid_of "temporal-$svc" || echo -)"
    if [[ "$pid" != - ]]; then
      printf '%-18s running  %-24s pid %s\n' "temporal-$svc" "$HOST:${CLUSTER_GRPC[$svc]}" "$pid"
    else
      printf '%-18s DOWN     %-24s pid %s\n' "temporal-$svc" "$HOST:${CLUSTER_GRPC[$svc]}" "$pid"
      bad=1
    fi
  done
  pid="$(pid_of temporal-ui || echo -)"
  if ui_serving; then
    printf '%-18s healthy  %-24s pid %s\n' temporal-ui "http://$HOST:$TEMPORAL_UI_PORT" "$pid"
  else
    printf '%-18s DOWN     %-24s pid %s\n' temporal-ui "http://$HOST:$TEMPORAL_UI_PORT" "$pid"
    bad=1
  fi
  if pg_bin >/dev/null && pg_ready; then
    printf '%-18s healthy  %-24s data %s\n' postgres "127.0.0.1:$PG_PORT" "$PG_DIR/data"
  else
    printf '%-18s DOWN     %-24s\n' postgres "127.0.0.1:$PG_PORT"
    bad=1
  fi
  return "$bad"
}

#!/usr/bin/env bash
# Local PostgreSQL 15 + Redis for CI, benchmarks and developers who want the production-like stack.
#
#   scripts/services.sh start    start both (idempotent: reuses running ones), wait until ready
#   scripts/services.sh env      print `export DATABASE_URL=... REDIS_URL=...` for eval
#   scripts/services.sh status   say what runs where
#   scripts/services.sh stop     stop both, by PID (postgres via pg_ctl); safe when nothing runs
#   scripts/services.sh clean    stop, then delete the database cluster and state
#
# Both listen on 127.0.0.1 only. State (ports, pid files, logs, env) lives in var/services/. The
# PostgreSQL cluster lives in a mktemp dir recorded in var/services/pgdata.path, because when we run
# as root the server must run as the `postgres` user, who may not be able to enter the repo's path.
#
# Tunables (env): QUORUM_PG_PORT (55432), QUORUM_REDIS_PORT (56379), QUORUM_SERVICES_TIMEOUT (30 s),
# PG_BIN (/usr/lib/postgresql/15/bin). A busy default port moves to the next free one; `env` tells.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/var/services"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT_DEFAULT="${QUORUM_PG_PORT:-55432}"
REDIS_PORT_DEFAULT="${QUORUM_REDIS_PORT:-56379}"
TIMEOUT="${QUORUM_SERVICES_TIMEOUT:-30}"
DB_NAME=quorum
DB_USER=quorum
DB_PASSWORD=quorum # loopback-only throwaway cluster; never used outside dev/CI

say() { echo "services: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Run a command as the owner of the cluster: `postgres` when we are root (initdb refuses root).
# From / so that psql and pg_ctl can chdir back to where they started (root's cwd may be closed).
as_pg() {
    if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

port_busy() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

first_free_port() {
    local p
    for ((p = $1; p < $1 + 50; p++)); do
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "no free port in $1..$(($1 + 49)) on 127.0.0.1"
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

wait_until() { # wait_until <what> <command...>: poll for up to $TIMEOUT seconds
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
    say "$what ready"
}

# --- PostgreSQL -------------------------------------------------------------------------------

pgdata() { [[ -f "$STATE/pgdata.path" ]] && cat "$STATE/pgdata.path"; }

pg_running() {
    local d
    d="$(pgdata)" || return 1
    [[ -f "$d/postmaster.pid" ]] && pid_alive "$(head -n1 "$d/postmaster.pid")"
}

pg_init() {
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        die "running as root but there is no 'postgres' user (apt-get install postgresql-15 creates it)"
    fi
    local d
    d="$(mktemp -d "${TMPDIR:-/tmp}/quorum-pg.XXXXXX")"
    mkdir -p "$d/data" "$d/socket"
    chmod 700 "$d/data"
    if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$d"; fi
    # Unix socket: trust (only the cluster owner reaches it). TCP: password, the way the app connects.
    as_pg "$PG_BIN/initdb" -D "$d/data" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$d/initdb.log" 2>&1 ||
        { cat "$d/initdb.log" >&2; die "initdb failed"; }
    echo "$d/data" >"$STATE/pgdata.path"
    say "initialised cluster in $d/data"
}

pg_start() {
    if pg_running; then
        say "postgres already running (pid $(head -n1 "$(pgdata)/postmaster.pid"), port $(cat "$STATE/pg.port"))"
        return 0
    fi
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PG_BIN (apt-get install postgresql-15)"
    local d
    d="$(pgdata)" || true
    [[ -n "$d" && -f "$d/PG_VERSION" ]] || { pg_init; d="$(pgdata)"; }
    local port sock
    port="$(first_free_port "$PG_PORT_DEFAULT")"
    sock="$(dirname "$d")/socket"
    # fsync/full_page_writes off: a crash loses only test data, and CI gets much faster commits.
    as_pg "$PG_BIN/pg_ctl" start -D "$d" -l "$(dirname "$d")/postgres.log" -w -t "$TIMEOUT" \
        -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null 9>&- || { tail -n 30 "$(dirname "$d")/postgres.log" >&2; die "postgres did not start"; }
    echo "$port" >"$STATE/pg.port"
    wait_until "postgres on 127.0.0.1:$port" "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port" -q ||
        die "postgres not ready on 127.0.0.1:$port after ${TIMEOUT}s (log: $(dirname "$d")/postgres.log)"
    pg_bootstrap "$port" "$sock"
}

pg_bootstrap() { # create role + database once; CREATEDB lets pytest-django make test_quorum
    local port=$1 sock=$2
    local psql=("$PG_BIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [[ -z "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" ]]; then
        as_pg "${psql[@]}" -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'"
    fi
    if [[ -z "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
        as_pg "${psql[@]}" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    fi
}

pg_stop() {
    if pg_running; then
        local d
        d="$(pgdata)"
        as_pg "$PG_BIN/pg_ctl" stop -D "$d" -m fast -w -t "$TIMEOUT" >/dev/null
        say "postgres stopped"
    fi
}

# --- Redis ------------------------------------------------------------------------------------

redis_pid() {
    local pid
    pid="$(cat "$STATE/redis.pid" 2>/dev/null)" || return 1
    # Guard against PID reuse: only a live redis-server counts as ours.
    pid_alive "$pid" && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

redis_start() {
    local pid
    if pid="$(redis_pid)"; then
        say "redis already running (pid $pid, port $(cat "$STATE/redis.port"))"
        return 0
    fi
    command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
    local port
    port="$(first_free_port "$REDIS_PORT_DEFAULT")"
    rm -f "$STATE/redis.pid"
    # setsid: detached from the caller's terminal, so its Ctrl-C does not reach the server.
    # No persistence (--save '', no AOF): the broker's state is disposable. Redis writes its own
    # pid file, so the PID we later kill is the server's, whatever setsid did.
    setsid redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --daemonize no --dir "$STATE" --pidfile "$STATE/redis.pid" \
        >>"$STATE/redis.log" 2>&1 </dev/null 9>&- &
    echo "$port" >"$STATE/redis.port"
    wait_until "redis on 127.0.0.1:$port" redis-cli -h 127.0.0.1 -p "$port" ping ||
        { tail -n 20 "$STATE/redis.log" >&2; die "redis not ready on 127.0.0.1:$port after ${TIMEOUT}s"; }
    wait_until "redis pid file" redis_pid || die "redis answers but wrote no pid file ($STATE/redis.pid)"
}

redis_stop() {
    local pid
    pid="$(redis_pid)" || { rm -f "$STATE/redis.pid"; return 0; }
    kill -TERM "$pid"
    local deadline=$((SECONDS + TIMEOUT))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid"
    rm -f "$STATE/redis.pid"
    say "redis stopped"
}

# --- commands ---------------------------------------------------------------------------------

print_env() {
    pg_running || die "postgres is not running (scripts/services.sh start)"
    redis_pid >/dev/null || die "redis is not running (scripts/services.sh start)"
    echo "export DATABASE_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$(cat "$STATE/pg.port")/$DB_NAME"
    echo "export REDIS_URL=redis://127.0.0.1:$(cat "$STATE/redis.port")/0"
}

main() {
    mkdir -p "$STATE"
    # One caller at a time: CI, a benchmark and a developer may share a work tree. The servers are
    # started with fd 9 closed (`9>&-`) so they do not inherit, and hold, this lock.
    exec 9>"$STATE/.lock"
    flock -w "$TIMEOUT" 9 || die "another scripts/services.sh holds $STATE/.lock"
    case "${1:-}" in
        start) pg_start; redis_start; print_env >"$STATE/env" ;;
        stop) redis_stop; pg_stop; rm -f "$STATE/env" ;;
        env) print_env ;;
        status)
            if pg_running; then echo "postgres: running on 127.0.0.1:$(cat "$STATE/pg.port") ($(pgdata))"; else echo "postgres: stopped"; fi
            if redis_pid >/dev/null; then echo "redis: running on 127.0.0.1:$(cat "$STATE/redis.port")"; else echo "redis: stopped"; fi ;;
        clean)
            redis_stop; pg_stop
            local d
            if d="$(pgdata)"; then rm -rf "$(dirname "$d")"; fi
            rm -rf "$STATE"; say "cleaned" ;;
        *) echo "usage: $0 start|stop|env|status|clean" >&2; exit 2 ;;
    esac
}

main "$@"

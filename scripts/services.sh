#!/usr/bin/env bash
# Throwaway services for the scale-out test run, on loopback only.
#
#   scripts/services.sh start    # installs what is missing (Debian), starts PostgreSQL, prints the env to export
#   scripts/services.sh stop     # stops them and removes their data
#
# PostgreSQL runs as the `postgres` system user from a fresh cluster in $FERRY_SERVICES_DIR
# (default /tmp/ferry-services) with trust auth on 127.0.0.1 and fsync off: test data only.
set -euo pipefail

DIR=${FERRY_SERVICES_DIR:-/tmp/ferry-services}
PG_PORT=${FERRY_TEST_PG_PORT:-55432}

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "installing PostgreSQL from the Debian archive..." >&2
    if [ "$(id -u)" -ne 0 ]; then echo "need root to apt-get install postgresql" >&2; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

start() {
  local bin
  bin=$(pg_bin)
  mkdir -p "$DIR"
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    mkdir -p "$DIR/pg" "$DIR/pgsock"
    [ "$(id -u)" -eq 0 ] && chown postgres "$DIR" "$DIR/pg" "$DIR/pgsock"
    as_postgres "$bin/initdb -D '$DIR/pg' -A trust -U ferry >/dev/null"
  fi
  as_postgres "$bin/pg_ctl -D '$DIR/pg' -l '$DIR/pg/log' -w -o \"-p $PG_PORT -k '$DIR/pgsock' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=500\" start" >/dev/null
  echo "export FERRY_TEST_DATABASE_URL=postgres://ferry@127.0.0.1:$PG_PORT/postgres"
}

stop() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$bin" ] && [ -f "$DIR/pg/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl -D '$DIR/pg' -m immediate -w stop" >/dev/null || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

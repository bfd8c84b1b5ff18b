#!/usr/bin/env bash
# Throwaway services for the scale-out test run, on loopback only.
#
#   scripts/services.sh start    # installs what is missing (Debian), starts the services, prints the env to export
#   scripts/services.sh stop     # stops them and removes their data
#
# Use it as:  env=$(scripts/services.sh start) || exit 1; eval "$env"
# (not `eval "$(scripts/services.sh start)" || ...`: that would hide a failed start).
# stdout carries only the `export ...` lines; progress and errors go to stderr.
#
# Everything lives in $FERRY_SERVICES_DIR (default /tmp/ferry-services), test data only:
#   - PostgreSQL (127.0.0.1:55432): a fresh cluster run as the `postgres` system user, trust auth, fsync off.
#   - Redis (127.0.0.1:56379): no persistence.
#   - S3 (http://127.0.0.1:57480): Ceph radosgw on a one-node Ceph cluster (monitor on 127.0.0.1:56789,
#     no cephx auth) with one in-memory (memstore) OSD of 8 GiB, following
#     /work/shared/recipes/ceph-rgw.md. The S3 user has fixed throwaway keys (below); radosgw verifies
#     signatures for real. radosgw's pools are created up front, so no S3 request pays for that.
#     Deleted objects are freed after ~1-1.5 min (radosgw garbage collection), not 2 h.
#     RAM: the OSD's RSS is up to ~2x the data stored (measured: 1 GiB stored -> 2.1 GB RSS).
# The three start concurrently (Ceph takes ~5-10 s, the others ~1 s). `start` reuses services that
# are already running from an earlier `start` (with their data); `stop` succeeds when nothing runs.
# Missing Debian packages (postgresql, redis-server, radosgw ceph-mon ceph-osd, nginx-light, curl)
# are installed with apt-get (needs root); nginx is only installed, never started.
set -euo pipefail
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

DIR=${FERRY_SERVICES_DIR:-/tmp/ferry-services}
PG_PORT=${FERRY_TEST_PG_PORT:-55432}
REDIS_PORT=${FERRY_TEST_REDIS_PORT:-56379}
CEPH_MON_PORT=${FERRY_TEST_CEPH_MON_PORT:-56789}
S3_PORT=${FERRY_TEST_S3_PORT:-57480}
CEPH_TIMEOUT=${FERRY_TEST_CEPH_TIMEOUT:-90}   # seconds for the whole Ceph + radosgw start
MEMSTORE_BYTES=8589934592                     # 8 GiB, allocated lazily; tests upload 1 GiB files in parallel
S3_ACCESS_KEY=ferrytestaccesskey
S3_SECRET_KEY=FerryTestSecretKeyOnlyForLoopbackTests00   # 40 chars, throwaway, loopback only
S3_REGION=us-east-1
CEPH=$DIR/ceph
CEPH_CONF=$CEPH/ceph.conf

log() { echo "services: $*" >&2; }

# Prints the last lines of a log file to stderr, framed.
log_tail() {
  if [ -f "$1" ]; then
    echo "----- last lines of $1 -----" >&2
    tail -n "${2:-25}" "$1" >&2 || true
    echo "-----" >&2
  else
    echo "(no log at $1)" >&2
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when pid $1 is alive and its command name starts with $2.
pid_is() {
  local comm
  [ -n "$1" ] && [ -r "/proc/$1/comm" ] || return 1
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [[ $comm == "$2"* ]] || return 1
  # a zombie is as good as gone
  [[ $(cat "/proc/$1/stat" 2>/dev/null) =~ ^[0-9]+\ \(.*\)\ ([A-Za-z]) ]] && [ "${BASH_REMATCH[1]}" != Z ]
}

pidfile_pid() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

# ---------------------------------------------------------------------------------------- install

have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

install_missing() {
  local missing=() c
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
  for c in redis-server redis-cli; do command -v $c >/dev/null 2>&1 || { missing+=(redis-server); break; }; done
  for c in radosgw radosgw-admin; do command -v $c >/dev/null 2>&1 || { missing+=(radosgw); break; }; done
  for c in ceph-mon ceph ceph-authtool monmaptool; do command -v $c >/dev/null 2>&1 || { missing+=(ceph-mon); break; }; done
  command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
  have_nginx || missing+=(nginx-light)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0

  log "installing from the Debian archive: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    log "need root to apt-get install ${missing[*]} (or install them yourself)"
    return 1
  fi
  # Keep the packages' own daemons (a system PostgreSQL, Redis, nginx) from starting on install.
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local rc=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  if [ $rc -ne 0 ]; then log "apt-get failed (exit $rc)"; return 1; fi
}

# ------------------------------------------------------------------------------------- PostgreSQL

start_pg() {
  local bin
  bin=$(pg_bin)
  if [ -f "$DIR/pg/postmaster.pid" ] && as_postgres "$bin/pg_ctl -D '$DIR/pg' status" >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT, reusing it"
    return 0
  fi
  if port_open "$PG_PORT"; then
    log "PostgreSQL: port 127.0.0.1:$PG_PORT is taken by something else (not $DIR/pg); stop it or set FERRY_TEST_PG_PORT"
    return 1
  fi
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    rm -rf "$DIR/pg" "$DIR/pgsock"
    mkdir -p "$DIR/pg" "$DIR/pgsock"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR/pg" "$DIR/pgsock"; fi
    if ! as_postgres "$bin/initdb -D '$DIR/pg' -A trust -U ferry >'$DIR/pgsock/initdb.log' 2>&1"; then
      log "PostgreSQL: initdb failed"
      log_tail "$DIR/pgsock/initdb.log"
      return 1
    fi
  fi
  if ! as_postgres "$bin/pg_ctl -D '$DIR/pg' -l '$DIR/pg/log' -w -t 60 -o \"-p $PG_PORT -k '$DIR/pgsock' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=500\" start" >/dev/null 2>&1; then
    log "PostgreSQL failed to start"
    log_tail "$DIR/pg/log"
    return 1
  fi
  log "PostgreSQL ready on 127.0.0.1:$PG_PORT"
}

stop_pg() {
  local bin pid
  [ -f "$DIR/pg/postmaster.pid" ] || return 0
  pid=$(head -n 1 "$DIR/pg/postmaster.pid" | tr -dc '0-9')
  bin=$(pg_bin)
  if [ -n "$bin" ]; then
    as_postgres "$bin/pg_ctl -D '$DIR/pg' -m immediate -w -t 10 stop" >/dev/null 2>&1 || true
  fi
  if pid_is "$pid" postgres; then kill -KILL "$pid" 2>/dev/null || true; fi
}

# ------------------------------------------------------------------------------------------ Redis

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

start_redis() {
  local pid i
  pid=$(pidfile_pid "$DIR/redis.pid")
  if pid_is "$pid" redis-server && redis_ping; then
    log "Redis already running on 127.0.0.1:$REDIS_PORT, reusing it"
    return 0
  fi
  if port_open "$REDIS_PORT"; then
    log "Redis: port 127.0.0.1:$REDIS_PORT is taken by something else; stop it or set FERRY_TEST_REDIS_PORT"
    return 1
  fi
  mkdir -p "$DIR/redis"
  rm -f "$DIR/redis.pid"
  if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$DIR/redis.pid" --dir "$DIR/redis" --logfile "$DIR/redis/redis.log" >&2; then
    log "Redis failed to start"
    log_tail "$DIR/redis/redis.log"
    return 1
  fi
  for i in $(seq 100); do   # 10 s
    if redis_ping; then log "Redis ready on 127.0.0.1:$REDIS_PORT"; return 0; fi
    sleep 0.1
  done
  log "Redis did not answer PING on 127.0.0.1:$REDIS_PORT within 10 s"
  log_tail "$DIR/redis/redis.log"
  return 1
}

stop_redis() {
  local pid i
  pid=$(pidfile_pid "$DIR/redis.pid")
  pid_is "$pid" redis-server || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do pid_is "$pid" redis-server || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# ------------------------------------------------------------------------------------- Ceph / S3

CEPH_DAEMONS="mon.a:ceph-mon osd.0:ceph-osd client.rgw:radosgw"
RGW_POOLS=".rgw.root default.rgw.log default.rgw.control default.rgw.meta default.rgw.buckets.index
  default.rgw.buckets.data default.rgw.buckets.non-ec"

ceph_running() {   # all three daemons alive
  local d
  for d in $CEPH_DAEMONS; do pid_is "$(pidfile_pid "$CEPH/run/${d%%:*}.pid")" "${d#*:}" || return 1; done
}

ceph_fail() {   # message, log names...
  local name
  local why=$1
  if [ -n "${deadline:-}" ] && [ "$SECONDS" -ge "$deadline" ]; then
    why="timed out after ${CEPH_TIMEOUT} s (FERRY_TEST_CEPH_TIMEOUT) at: $why"
  fi
  log "S3 (Ceph radosgw) failed to start: $why"
  shift
  for name in "$@"; do log_tail "$CEPH/log/$name.log"; done
  return 1
}

# The ceph CLI, without an admin socket (parallel calls would fight over client.admin.asok).
CEPH_CLI=(ceph -c "$CEPH_CONF" --admin-socket '')

s3_http_answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$S3_PORT/"; }

# A real signed S3 request (ListBuckets, AWS SigV4): prints the HTTP status.
s3_signed_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$1" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$S3_PORT/" || true
}

s3_check_signatures() {
  local ok bad
  ok=$(s3_signed_status "$S3_SECRET_KEY")
  bad=$(s3_signed_status "${S3_SECRET_KEY%?}X")
  if [ "$ok" != 200 ] || [ "$bad" != 403 ]; then
    ceph_fail "signed ListBuckets answered $ok (want 200), with a wrong secret $bad (want 403)" client.rgw
    return 1
  fi
}

ensure_s3_user() {   # [fresh]: skip looking the user up first
  if [ "${1:-}" != fresh ] && timeout 30 radosgw-admin -c "$CEPH_CONF" user info --uid=ferry >/dev/null 2>&1; then return 0; fi
  if ! timeout 30 radosgw-admin -c "$CEPH_CONF" user create --uid=ferry --display-name="Ferry tests" \
      --access-key="$S3_ACCESS_KEY" --secret="$S3_SECRET_KEY" >"$CEPH/log/user-create.out" 2>&1; then
    cat "$CEPH/log/user-create.out" >&2
    ceph_fail "radosgw-admin user create failed" client.admin client.rgw
    return 1
  fi
}

start_ceph() {
  local t0=$SECONDS deadline fsid osd_uuid osd_id
  deadline=$((SECONDS + CEPH_TIMEOUT))
  left() { local l=$((deadline - SECONDS)); [ $l -gt 0 ] && echo $l || echo 1; }

  if ceph_running; then
    log "Ceph + radosgw already running (S3 on 127.0.0.1:$S3_PORT), reusing them (\`$0 stop\` first for a fresh one)"
    s3_http_answers || { ceph_fail "radosgw runs but does not answer on 127.0.0.1:$S3_PORT" client.rgw; return 1; }
    ensure_s3_user && s3_check_signatures
    return
  fi
  if [ -d "$CEPH" ]; then
    log "Ceph: a partial Ceph from an earlier run is left in $CEPH (not all its daemons run); recreating it"
    stop_ceph
    rm -rf "$CEPH"
  fi
  local p
  for p in "$CEPH_MON_PORT:FERRY_TEST_CEPH_MON_PORT" "$S3_PORT:FERRY_TEST_S3_PORT"; do
    if port_open "${p%%:*}"; then
      log "Ceph: port 127.0.0.1:${p%%:*} is taken by something else; stop it or set ${p#*:}"
      return 1
    fi
  done

  mkdir -p "$CEPH/run" "$CEPH/log" "$CEPH/mon" "$CEPH/osd0" "$CEPH/rgw"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CEPH_CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$CEPH_MON_PORT]
public addr = 127.0.0.1
# not in the recipe: without it the OSD's cluster and back heartbeat ports listen on 0.0.0.0
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
keyring = $CEPH/keyring
run dir = $CEPH/run
admin socket = $CEPH/run/\$name.asok
pid file = $CEPH/run/\$name.pid
log file = $CEPH/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
[mon]
mon data = $CEPH/mon
[osd]
osd data = $CEPH/osd0
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT
rgw data = $CEPH/rgw
# not in the recipe: free deleted / overwritten / aborted data after ~1 min instead of 2-3 h, or the
# in-memory OSD fills up over a few test runs (tests upload 1 GiB files)
rgw gc obj min wait = 60
rgw gc processor period = 30
EOF

  # monitor
  ceph-authtool --create-keyring "$CEPH/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null 2>"$CEPH/log/setup.log" ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "ceph-authtool failed"; return 1; }
  monmaptool --create --addv a "[v2:127.0.0.1:$CEPH_MON_PORT]" --fsid "$fsid" "$CEPH/monmap" >/dev/null 2>>"$CEPH/log/setup.log" ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "monmaptool failed"; return 1; }
  ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH/monmap" --keyring "$CEPH/keyring" >>"$CEPH/log/setup.log" 2>&1 ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "ceph-mon --mkfs failed" mon.a; return 1; }
  ceph-mon -c "$CEPH_CONF" -i a >>"$CEPH/log/setup.log" 2>&1 ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "ceph-mon did not start" mon.a; return 1; }

  # `osd new` waits for the monitor to form a quorum.
  osd_id=$(timeout "$(left)" "${CEPH_CLI[@]}" --connect-timeout "$(left)" osd new "$osd_uuid" 2>>"$CEPH/log/setup.log") ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "\`ceph osd new\` failed or timed out (monitor not up?)" mon.a; return 1; }
  if [ "$osd_id" != 0 ]; then ceph_fail "\`ceph osd new\` gave id '$osd_id', expected 0"; return 1; fi

  # Create radosgw's pools now, in parallel and while the OSD initialises: radosgw would otherwise
  # create them one after the other at start-up and on the first bucket / object / multipart upload,
  # about 2 s each (which would land in the first S3 tests).
  local pool pool_jobs=() app_jobs=()
  for pool in $RGW_POOLS; do
    timeout "$(left)" "${CEPH_CLI[@]}" osd pool create "$pool" 8 8 >"$CEPH/log/pool-$pool.log" 2>&1 &
    pool_jobs+=($!)
  done

  ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$CEPH/log/setup.log" 2>&1 ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "ceph-osd --mkfs failed" osd.0; return 1; }
  ceph-osd -c "$CEPH_CONF" -i 0 >>"$CEPH/log/setup.log" 2>&1 ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "ceph-osd did not start" osd.0; return 1; }

  for pool in $RGW_POOLS; do
    wait "${pool_jobs[0]}" || { cat "$CEPH/log/pool-$pool.log" >&2; ceph_fail "could not create pool $pool" mon.a; return 1; }
    pool_jobs=("${pool_jobs[@]:1}")
  done
  # Tagging the pools as radosgw's only matters to `ceph health`; it runs while radosgw starts.
  for pool in $RGW_POOLS; do
    timeout "$(left)" "${CEPH_CLI[@]}" osd pool application enable "$pool" rgw >>"$CEPH/log/pool-$pool.log" 2>&1 &
    app_jobs+=($!)
  done

  # radosgw waits for the OSD by itself if need be.
  radosgw -c "$CEPH_CONF" -n client.rgw >>"$CEPH/log/setup.log" 2>&1 ||
    { cat "$CEPH/log/setup.log" >&2; ceph_fail "radosgw did not start" client.rgw; return 1; }

  until timeout 10 "${CEPH_CLI[@]}" --connect-timeout 5 osd stat 2>/dev/null | grep -q ' 1 up'; do
    [ $SECONDS -lt $deadline ] || { ceph_fail "the OSD was not up after ${CEPH_TIMEOUT} s" osd.0 mon.a; return 1; }
    pid_is "$(pidfile_pid "$CEPH/run/osd.0.pid")" ceph-osd || [ ! -f "$CEPH/run/osd.0.pid" ] ||
      { ceph_fail "ceph-osd exited" osd.0; return 1; }
    sleep 0.5
  done
  log "Ceph OSD up after $((SECONDS - t0)) s"

  until s3_http_answers; do
    [ $SECONDS -lt $deadline ] || { ceph_fail "radosgw did not answer on 127.0.0.1:$S3_PORT after ${CEPH_TIMEOUT} s" client.rgw; return 1; }
    if [ -f "$CEPH/run/client.rgw.pid" ] && ! pid_is "$(pidfile_pid "$CEPH/run/client.rgw.pid")" radosgw; then
      ceph_fail "radosgw exited" client.rgw; return 1
    fi
    sleep 0.25
  done

  ensure_s3_user fresh || return 1
  s3_check_signatures || return 1
  for pool in "${app_jobs[@]}"; do wait "$pool" || log "Ceph: warning: could not tag a pool as radosgw's (see $CEPH/log/pool-*.log)"; done
  log "S3 (Ceph radosgw) ready on http://127.0.0.1:$S3_PORT after $((SECONDS - t0)) s"
}

# Signals pid $2 (command name $3) with $1, waits up to $4 tenths of a second, then SIGKILLs it.
signal_and_wait() {
  local sig=$1 pid=$2 comm=$3 i
  pid_is "$pid" "$comm" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq "$4"); do pid_is "$pid" "$comm" || return 0; sleep 0.1; done
  log "$comm (pid $pid) still there after SIG$sig, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 20); do pid_is "$pid" "$comm" || return 0; sleep 0.1; done
}

stop_ceph() {
  [ -d "$CEPH/run" ] || return 0
  local rgw mon osd
  rgw=$(pidfile_pid "$CEPH/run/client.rgw.pid")
  mon=$(pidfile_pid "$CEPH/run/mon.a.pid")
  osd=$(pidfile_pid "$CEPH/run/osd.0.pid")
  signal_and_wait TERM "$mon" ceph-mon 50 &
  local mon_job=$!
  # radosgw before the OSD: it unregisters from the OSD on shutdown, and hangs on SIGTERM if it is gone.
  signal_and_wait TERM "$rgw" radosgw 50
  # A clean memstore OSD shutdown first writes every stored object to disk (MemStore::umount),
  # gigabytes here; the data is thrown away anyway, so the OSD gets SIGKILL straight away.
  signal_and_wait KILL "$osd" ceph-osd 50
  wait "$mon_job" || true
}

# ------------------------------------------------------------------------------------------- main

start() {
  local t0=$SECONDS
  # stdout is only for the export lines (fd 3). Nothing else may hold it open: the daemons started
  # below would keep `$(scripts/services.sh start)` waiting forever, hence the 3>&- everywhere.
  exec 3>&1 1>&2
  install_missing 3>&- </dev/null || exit 1
  mkdir -p "$DIR"
  chmod 755 "$DIR"   # the postgres user must be able to enter it

  local jobs=() names=(PostgreSQL Redis S3) i failed=()
  start_pg 3>&- </dev/null & jobs+=($!)
  start_redis 3>&- </dev/null & jobs+=($!)
  start_ceph 3>&- </dev/null & jobs+=($!)
  trap 'kill "${jobs[@]}" 2>/dev/null; log "interrupted; run \`$0 stop\` to clean up"; exit 130' INT TERM
  for i in 0 1 2; do
    wait "${jobs[$i]}" || failed+=("${names[$i]}")
  done
  trap - INT TERM

  if [ ${#failed[@]} -gt 0 ]; then
    if [ -n "${FERRY_SERVICES_KEEP_ON_FAILURE:-}" ]; then
      log "FAILED to start: ${failed[*]} (see above); left as is in $DIR (FERRY_SERVICES_KEEP_ON_FAILURE)"
    else
      log "FAILED to start: ${failed[*]} (see above); stopping everything and removing $DIR" \
        "(set FERRY_SERVICES_KEEP_ON_FAILURE=1 to keep it for inspection)"
      stop
    fi
    exit 1
  fi
  log "all services ready in $((SECONDS - t0)) s"
  cat >&3 <<EOF
export FERRY_TEST_DATABASE_URL=postgres://ferry@127.0.0.1:$PG_PORT/postgres
export FERRY_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export FERRY_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export FERRY_TEST_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY
export FERRY_TEST_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export FERRY_TEST_S3_REGION=$S3_REGION
EOF
}

stop() {
  [ -d "$DIR" ] || return 0
  stop_pg &
  local pg=$!
  stop_redis
  stop_ceph
  wait $pg || true
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop >&2 ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

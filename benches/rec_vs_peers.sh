#!/usr/bin/env bash
# Whole-process comparison, side by side in one run: `seq 1 6000000` (46.9 MB
# of output) recorded by termtape-rec, by the real tlog-rec, and passed through
# util-linux script. Each contestant gets a pseudo-terminal as its standard
# input (benches' `ontty`); output goes to /dev/null, or with OUTPUT=tty to
# that terminal too, drained as fast as a terminal emulator would. Runs
# alternate so that machine noise hits all alike. Reports median wall time,
# ratios and log sizes. Run by hand (not in CI):
#   [OUTPUT=tty] benches/rec_vs_peers.sh [RUNS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${2:-6000000}
scripts/setup >/dev/null
cargo build --release --locked -q --bins -p termtape-rec -p termtape-benches
rel=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

declare -A cmd=(
  [script]="script -qc 'seq 1 $n' /dev/null"
  [tlog-rec]="tlog-rec -w file -o $tmp/tlog.log seq 1 $n"
  [termtape]="$rel/termtape-rec -o $tmp/termtape.log -- seq 1 $n"
)
order=(script tlog-rec termtape)
declare -A times
for ((i = 0; i < runs; i++)); do
  rm -f "$tmp"/*.log
  for who in "${order[@]}"; do
    start=$(date +%s.%N)
    ONTTY_OUTPUT=${OUTPUT:-null} sh -c "$rel/ontty ${cmd[$who]}" >/dev/null 2>&1
    end=$(date +%s.%N)
    times[$who]+="$(echo "$end - $start" | bc -l) "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
raw=$(seq 1 "$n" | wc -c)
s=$(echo "${times[script]}" | median); t=$(echo "${times[tlog-rec]}" | median); m=$(echo "${times[termtape]}" | median)
ts=$(stat -c %s "$tmp/tlog.log"); ms=$(stat -c %s "$tmp/termtape.log")
printf '\n`seq 1 %s` (%s bytes of output), median of %s runs, on a PTY, output to %s:\n\n' "$n" "$raw" "$runs" "${OUTPUT:-/dev/null}"
printf '| recorder | wall time (s) | vs script | vs tlog-rec | log size (bytes) | log / output |\n'
printf '|---|---|---|---|---|---|\n'
printf '| script -qc | %.2f | 1.00 | %.2f | - | - |\n' "$s" "$(echo "$s / $t" | bc -l)"
printf '| tlog-rec -o | %.2f | %.2f | 1.00 | %s | %.2f |\n' "$t" "$(echo "$t / $s" | bc -l)" "$ts" "$(echo "$ts / $raw" | bc -l)"
printf '| termtape rec -o | %.2f | %.2f | %.2f | %s | %.2f |\n' "$m" "$(echo "$m / $s" | bc -l)" "$(echo "$m / $t" | bc -l)" "$ms" "$(echo "$ms / $raw" | bc -l)"

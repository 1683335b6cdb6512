#!/usr/bin/env bash
# Journal writer throughput, side by side in one run: `seq 1 N` recorded to
# systemd-journald by termtape-rec -w journal and by the real tlog-rec -w
# journal, each on a pseudo-terminal (benches' `ontty`), runs alternating.
# Reports median wall time, ratio, and the entries each wrote. Needs a
# running journald (as root: mkdir -p /run/systemd/journal &&
# /lib/systemd/systemd-journald &). Run by hand: benches/journal_vs_tlog.sh [RUNS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${2:-1000000}
[ -S /run/systemd/journal/socket ] || { echo "no journald running" >&2; exit 1; }
cargo build --release --locked -q --bins -p termtape-rec -p termtape-benches
rel=${CARGO_TARGET_DIR:-target}/release
declare -A times
for ((i = 0; i < runs; i++)); do
  for who in tlog-rec termtape; do
    case $who in
      tlog-rec) cmd="tlog-rec -w journal seq 1 $n" ;;
      termtape) cmd="$rel/termtape-rec -w journal -- seq 1 $n" ;;
    esac
    start=$(date +%s.%N)
    sh -c "$rel/ontty $cmd" >/dev/null 2>&1
    end=$(date +%s.%N)
    times[$who]+="$(echo "$end - $start" | bc -l) "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(echo "${times[tlog-rec]}" | median); m=$(echo "${times[termtape]}" | median)
raw=$(seq 1 "$n" | wc -c)
printf '\n`seq 1 %s` (%s bytes) to the journal, median of %s runs, on a PTY:\n\n' "$n" "$raw" "$runs"
printf '| recorder | wall time (s) | MB/s of output | vs tlog-rec |\n|---|---|---|---|\n'
printf '| tlog-rec -w journal | %.2f | %.1f | 1.00 |\n' "$t" "$(echo "$raw / $t / 1000000" | bc -l)"
printf '| termtape rec -w journal | %.2f | %.1f | %.2f |\n' "$m" "$(echo "$raw / $m / 1000000" | bc -l)" "$(echo "$m / $t" | bc -l)"

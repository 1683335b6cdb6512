#!/usr/bin/env bash
# Export and import throughput, side by side in one run, on a recording of
# about OUT_MB MB of output (default 100; `seq`, then a colour listing, so
# both plain and escape-heavy text): for each format, `termtape export`
# (wall time, CPU, peak RSS, MB of recorded output per second) and, where
# there is one, `termtape import` of what it wrote back into a tlog log.
# Peer: asciinema 2.4's `asciinema cat` of the asciicast v2 export (a
# reader of the same file; asciinema 2 has no `convert`, and asciinema 3 is
# not installed here), when ASCIINEMA names its executable.
#
# Run by hand: benches/export.sh [RUNS]. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out_mb=${OUT_MB:-100}
cargo build --release --locked -q --bin termtape -p termtape-player
rel=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)
tt="$rel/termtape"
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# The recording: seq to about 80 % of OUT_MB, then coloured `ls -l` lines.
lines=$((out_mb * 1000000 * 8 / 10 / 8))
"$tt" rec -q -o "$work/rec.log" -- sh -c "seq 1 $lines; \
  i=0; while [ \$i -lt $((out_mb * 2)) ]; do ls -l --color=always /usr/bin | head -n 400; i=\$((i+1)); done" \
  </dev/null >/dev/null
raw=$("$tt" cat "$work/rec.log" | wc -c)
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }

# "wall_s cpu_s rss_mb": the median run's (by wall time) of $runs runs.
measure() {
  local best=""
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>&1
    best+=$(awk '{printf "%s %.2f %.1f\n", $1, $2 + $3, $4 / 1024}' "$work/time")$'\n'
  done
  printf '%s' "$best" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}
# MB of recorded output per second of $1 (wall or CPU).
rate() { awk -v w="$1" -v b="$raw" 'BEGIN {printf "%.0f", (w > 0 ? b / 1e6 / w : 0)}'; }

echo "Recording: $(mb "$raw") MB of output, log $(mb "$(stat -c %s "$work/rec.log")") MB; median of $runs runs."
echo
echo "| format | export s | CPU s | RSS MB | MB/s (wall, CPU) | file MB | import s | CPU s | RSS MB | MB/s (wall, CPU) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for format in asciicast-v2 asciicast-v3 script ttyrec txt tlog segmented; do
  target="$work/out.$format"
  rm -rf "$target" "$target".*
  read -r ew ec er < <(measure "$tt" export --format "$format" -o "$target" "$work/rec.log")
  size=$(du -sb "$target" | cut -f1)
  case $format in
    asciicast-v2 | asciicast-v3 | ttyrec | script)
      read -r iw ic ir < <(measure "$tt" import "$target" "$work/back.log")
      imp="$iw | $ic | $ir | $(rate "$iw"), $(rate "$ic")"
      ;;
    *) imp="– | – | – | –" ;;
  esac
  echo "| $format | $ew | $ec | $er | $(rate "$ew"), $(rate "$ec") | $(mb "$size") | $imp |"
done
echo "| termtape cat (for scale) | $(measure "$tt" cat "$work/rec.log" | awk '{print $1 " | " $2 " | " $3}') | | | | | | |"
if [ -n "${ASCIINEMA:-}" ]; then
  "$tt" export --format asciicast-v2 -o "$work/peer.cast" "$work/rec.log"
  read -r aw ac ar < <(measure "$ASCIINEMA" cat "$work/peer.cast")
  read -r tw tc trr < <(measure "$tt" cat "$work/rec.log")
  echo
  echo "| reader of the same recording | s | CPU s | RSS MB | ratio |"
  echo "|---|---|---|---|---|"
  echo "| asciinema cat (v2 export) | $aw | $ac | $ar | $(awk -v a="$aw" -v b="$tw" 'BEGIN {printf "%.2f", a / b}') |"
  echo "| termtape cat (tlog log) | $tw | $tc | $trr | 1.00 |"
fi

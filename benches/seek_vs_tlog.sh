#!/usr/bin/env bash
# Seeking, side by side in one run: `termtape screen --at T` (through the
# keyframes, process start included) against the real `tlog-play --goto T`
# (which replays from the start), in the middle and at the end of
# recordings of 10 MB and 100 MB of output (1 GB with SIZES="10 100 1000"),
# for two streams: `seq` (plain lines) and full-screen redraws (colour,
# cursor addressing). Also the log size with and without keyframes.
#
# tlog-play --goto T goes on playing after T in real time, so the time it
# needs to reach the middle is measured as `--goto end` on the log cut after
# the middle message (the same work: it reads and plays everything before).
#
# Run by hand: benches/seek_vs_tlog.sh [RUNS]; needs tlog-play, hyperfine is
# not needed. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
sizes=${SIZES:-"10 100"}
cargo build --release --locked -q --bins -p termtape-rec -p termtape-player -p termtape-benches
rel=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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

# Full-screen redraws of an 80x24 screen: $1 MB of them.
redraws() { python3 benches/redraws.py "$1"; }

record() { # stream size log [flags…]
  local stream=$1 size=$2 log=$3
  shift 3
  case $stream in
    seq) "$rel/termtape-rec" -o "$log" "$@" -- seq 1 $((size * 1000 * 1000 / 8)) </dev/null >/dev/null ;;
    redraw) "$rel/termtape-rec" -o "$log" "$@" -- cat "$work/redraw-$size.bin" </dev/null >/dev/null ;;
  esac
}

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1000000}'; }

printf '| stream | output | log | keyframes | kf overhead | termtape screen --at middle | tlog-play --goto middle | termtape screen --at end | tlog-play --goto end | termtape screen, no keyframes (replay), end |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for size in $sizes; do
  for stream in seq redraw; do
    [ "$stream" = redraw ] && redraws "$size" >"$work/redraw-$size.bin"
    log="$work/$stream-$size.log"
    plain="$work/$stream-$size-plain.log"
    record "$stream" "$size" "$log"
    record "$stream" "$size" "$plain" --keyframe-bytes 0 --keyframe-secs 0
    output=$("$rel/termtape" cat "$log" | wc -c)
    kf=$(grep -c '"kf":{' "$log" || true)
    overhead=$(awk -v a="$(stat -c %s "$log")" -v b="$(stat -c %s "$plain")" 'BEGIN {printf "%.2f%%", (a - b) * 100 / b}')
    # The middle: the message in the middle of the file, and its time.
    lines=$(wc -l <"$log")
    half=$((lines / 2))
    middle=$(sed -n "${half}p" "$log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pos"])')
    at=$(awk -v ms="$middle" 'BEGIN {printf "%.3f", ms / 1000}')
    # tlog-play's work to reach it: the log up to the last message at that time.
    last=$(awk -v p="\"pos\":$middle," 'index($0, p) {n = NR} END {print n}' "$log")
    head -n "$last" "$log" >"$work/cut.log"
    t_mid=$(median_ms "$rel/termtape" screen --at "$at" "$log")
    t_end=$(median_ms "$rel/termtape" screen --at end "$log")
    t_replay=$(median_ms "$rel/termtape" screen --at end "$plain")
    p_mid=$(median_ms "$rel/ontty" tlog-play -i "$work/cut.log" --goto end)
    p_end=$(median_ms "$rel/ontty" tlog-play -i "$log" --goto end)
    printf '| %s | %s MB | %s MB | %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms |\n' \
      "$stream" "$(mb "$output")" "$(mb "$(stat -c %s "$log")")" "$kf" "$overhead" \
      "$t_mid" "$p_mid" "$t_end" "$p_end" "$t_replay"
    rm -f "$log" "$plain" "$work/cut.log" "$work/redraw-$size.bin"
  done
done
printf '\nMedian of %s runs each, wall time, process start included; %s cores.\n' "$runs" "$(nproc)"

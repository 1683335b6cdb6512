#!/usr/bin/env bash
# The web player's seeks in a real browser, side by side with Cockpit's way
# of seeking (replaying from the start with xterm.js), on recordings of
# 10 MB, 100 MB and 1 GB of output (SIZES="10 100 1000" MB, the default):
# full-screen colour redraws recorded by termtape-rec, served by a release
# `termtape serve`, drawn by headless Chromium (Debian's), driven over CDP
# by benches/web/seek.mjs. Times are measured in the page (click to screen
# painted); the JS heap over CDP.
#
# Run by hand, as root (scripts/setup installs chromium and builds web/):
#   benches/web_seek.sh [RUNS]
# Needs about 3 GB of free space in /var/tmp for the 1 GB recording.
# RESULT=FILE keeps the raw JSON; REPLAY_RUNS (default 1) how many times
# Cockpit's way is timed (on 1 GB it takes minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sizes=${SIZES:-"10 100 1000"}
scripts/web-build >/dev/null
cargo build --release --locked -q --bins -p termtape-rec -p termtape-player
rel=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d /var/tmp/termtape-web-seek.XXXXXX)
. benches/web/common.sh

# Full-screen redraws of an 80x24 screen: $1 MB of them.
redraws() { python3 benches/redraws.py "$1"; }

logs=()
for size in $sizes; do
  redraws "$size" >"$work/out.bin"
  "$rel/termtape-rec" -o "$work/rec-$size.log" -- cat "$work/out.bin" </dev/null >/dev/null
  rm -f "$work/out.bin"
  logs+=("$work/rec-$size.log")
done

start_serve "${logs[@]}"
start_chromium

recordings=$(
  i=0
  for size in $sizes; do
    rec=$("$rel/termtape" ls --json "$work/rec-$size.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rec"])')
    out=$("$rel/termtape" cat "$work/rec-$size.log" | wc -c)
    log=$(stat -c %s "$work/rec-$size.log")
    printf '{"source":%d,"rec":"%s","label":"%s MB of output (log %s MB)"}\n' "$i" "$rec" \
      "$(awk -v b="$out" 'BEGIN {printf "%.0f", b / 1e6}')" "$(awk -v b="$log" 'BEGIN {printf "%.0f", b / 1e6}')"
    i=$((i + 1))
  done | paste -sd, -
)
node benches/web/seek.mjs "{\"cdp\":\"http://127.0.0.1:$port\",\"url\":\"$url\",\"runs\":$runs,\"replay_runs\":${REPLAY_RUNS:-1},\"recordings\":[$recordings]}" \
  | tee "${RESULT:-$work/result.json}" | python3 benches/web/table.py
printf '\nMedian of %s seeks each, measured in the page from the click to the screen painted; %s cores.\n' "$runs" "$(nproc)"

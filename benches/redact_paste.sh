#!/bin/bash
# Pasting 10 MB into a recorded session with input logged: redaction on
# (--input-redaction echo-off, the default) against off (none), for three
# terminal modes the redactor treats differently:
#
#   echo      the command reads with echo on (cat): keys recorded at once;
#   raw       a line editor's mode (-icanon -echo): keys held back a moment
#             (redact.rs GRACE), the output behind them queued;
#   password  a password prompt's mode (icanon -echo): keys counted, not
#             recorded.
#
# Wall-clock seconds of the whole recorder process (relay, recording, file
# writer), best of RUNS (default 3).
#
#   benches/redact_paste.sh            (release build; PROFILE=debug to reuse a debug one)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
runs=${RUNS:-3}
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build --quiet "${flag[@]}" -p termtape-rec --bin termtape-rec
rec=${CARGO_TARGET_DIR:-target}/$profile/termtape-rec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 10 MB of lines of text, as a paste would bring.
line="0123456789 the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOP"
{ yes "$line" || true; } | head -c 10000000 > "$tmp/paste.txt"

declare -A setup=(
  [echo]="stty echo icanon"
  [raw]="stty -echo -icanon"
  [password]="stty -echo icanon"
)
best() {
  local mode=$1 redaction=$2 best=
  for _ in $(seq "$runs"); do
    rm -f "$tmp/log"
    local t0 t1
    t0=$(date +%s.%N)
    "$rec" -o "$tmp/log" --log-input --input-redaction "$redaction" -- \
      sh -c "${setup[$mode]}; exec head -c 10000000 >/dev/null" <"$tmp/paste.txt" >/dev/null
    t1=$(date +%s.%N)
    local s; s=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; fi
  done
  echo "$best"
}
printf '%-10s %12s %12s\n' mode "none (s)" "echo-off (s)"
for mode in echo raw password; do
  printf '%-10s %12s %12s\n' "$mode" "$(best "$mode" none)" "$(best "$mode" echo-off)"
done

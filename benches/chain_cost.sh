#!/usr/bin/env bash
# What the hash chain and its signed seals cost, whole-process, side by side
# in one run: `seq 1 6000000` (46.9 MB of output) recorded by termtape-rec
# with --no-chain (tlog's messages only) and with the chain and Ed25519 seals
# (the default), on a PTY (benches' `ontty`), output to /dev/null. Runs
# alternate so that machine noise hits both alike. Reports the median wall
# time and CPU time (user + system of the whole tree: ontty, the recorder
# and seq), the log sizes, and how fast `termtape verify` checks the chained
# log. Run by hand (not in CI):
#   benches/chain_cost.sh [RUNS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${2:-6000000}
cargo build --release --locked -q --bins -p termtape-rec -p termtape-player -p termtape-benches
rel=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$rel/termtape" keys generate --dir "$tmp/keys" >/dev/null

declare -A cmd=(
  [plain]="$rel/termtape-rec -q --no-chain -o $tmp/plain.log -- seq 1 $n"
  [chained]="$rel/termtape-rec -q --seal-key $tmp/keys/signing.key -o $tmp/chained.log -- seq 1 $n"
)
order=(plain chained)
declare -A wall cpu
for ((i = 0; i < runs; i++)); do
  rm -f "$tmp"/*.log
  for who in "${order[@]}"; do
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" sh -c "ONTTY_OUTPUT=null $rel/ontty ${cmd[$who]}" >/dev/null 2>&1
    read -r e u s <"$tmp/time"
    wall[$who]+="$e "
    cpu[$who]+="$(echo "$u + $s" | bc -l) "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pw=$(echo "${wall[plain]}" | median); cw=$(echo "${wall[chained]}" | median)
pc=$(echo "${cpu[plain]}" | median); cc=$(echo "${cpu[chained]}" | median)
ps=$(stat -c %s "$tmp/plain.log"); cs=$(stat -c %s "$tmp/chained.log")
lines=$(wc -l <"$tmp/chained.log"); seals=$(grep -c '"seal":' "$tmp/chained.log")
printf '\n`seq 1 %s`, median of %s runs each, alternating, on a PTY, output to /dev/null:\n\n' "$n" "$runs"
printf '| recorder | wall (s) | CPU user+sys (s) | log (bytes) |\n|---|---|---|---|\n'
printf '| termtape-rec --no-chain | %.2f | %.2f | %s |\n' "$pw" "$pc" "$ps"
printf '| termtape-rec (chain + seals) | %.2f | %.2f | %s |\n' "$cw" "$cc" "$cs"
printf '| chained / plain | %.3f | %.3f | %.4f |\n' "$(echo "$cw / $pw" | bc -l)" "$(echo "$cc / $pc" | bc -l)" "$(echo "$cs / $ps" | bc -l)"
printf '\n%s messages, %s seals. All runs: plain wall %s cpu %s; chained wall %s cpu %s\n' "$lines" "$seals" "${wall[plain]}" "${cpu[plain]}" "${wall[chained]}" "${cpu[chained]}"
# termtape verify, whole process, the log in the page cache (read once first).
cat "$tmp/chained.log" >/dev/null
for ((i = 0; i < 3; i++)); do
  /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$rel/termtape" verify --key "$tmp/keys/signing.pub" "$tmp/chained.log" >"$tmp/verdict"
  read -r e u s <"$tmp/time"
  printf 'termtape verify: %s bytes in %s s wall, %s s CPU: %.0f MB/s of log per CPU second (%s)\n' \
    "$cs" "$e" "$(echo "$u + $s" | bc -l)" "$(echo "$cs / ($u + $s) / 1000000" | bc -l)" "$(cut -d: -f2- "$tmp/verdict" | cut -c1-40)"
done

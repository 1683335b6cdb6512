#!/usr/bin/env bash
# A central file of N recordings (default 1000), as rsyslog writes one on a
# collector, with and without its sidecar index (`termtape index`), side by
# side in one run: `termtape ls --json` reading every message
# (`--read-all`) against the index; the same after another recording is
# appended (the index reads only that); `termtape screen --at` of the last
# recording with and without the index. Wall time and peak RSS, median of
# RUNS runs; the outputs are compared (they must be equal).
#
# The file is made of real recordings: termtape-rec records a few sessions
# (a colour listing, `seq`, a session that ends with an exit status) into
# files, and copies of them under new ids (`"rec":"…"` rewritten, so each
# is a recording of its own) are concatenated, one after another.
#
# Run by hand: benches/file_index.sh [N] [RUNS]. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${2:-3}
cargo build --release --locked -q --bins -p termtape-rec -p termtape-player
rel=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scripts=(
  "seq 1 20000"
  "for i in \$(seq 1 3000); do printf -- '-rw-r--r-- 1 root root %8d Nov 26 14:%02d \\033[01;34m%s\\033[0m\\n' \$i \$((i % 60)) name\$i.txt; done"
  "for i in \$(seq 1 300); do echo \"line \$i of a session\"; done; exit 3"
)
for i in "${!scripts[@]}"; do
  "$rel/termtape-rec" -q -o "$work/t$i.log" -- sh -c "${scripts[$i]}" </dev/null >/dev/null 2>&1 || true
done
python3 - "$work" "$n" "${#scripts[@]}" <<'PY'
import re, sys
work, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
templates = [open(f"{work}/t{i}.log", "rb").read() for i in range(k)]
rec = re.compile(rb'"rec":"[^"]*"')
with open(f"{work}/central.log", "wb") as out:
    for i in range(n + 1):
        text = rec.sub(b'"rec":"central-%08d"' % i, templates[i % k])
        # The last one is appended later.
        if i < n:
            out.write(text)
        else:
            open(f"{work}/appended.log", "wb").write(text)
PY
central=$work/central.log
size=$(stat -c %s "$central")

declare -A wall rss
measure() {
  local key=$1 out=$2
  shift 2
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$out" 2>/dev/null
  read -r secs kb <"$work/time"
  wall[$key]+="$secs "
  rss[$key]+="$((kb / 1024)) "
}
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

last=$(printf 'central-%08d' $((n - 1)))
"$rel/termtape" index "$central" 2>/dev/null
for ((r = 0; r < runs; r++)); do
  measure "ls, every message" "$work/all.json" "$rel/termtape" ls --json --read-all "$central"
  measure "ls, index" "$work/indexed.json" "$rel/termtape" ls --json "$central"
  cmp -s "$work/all.json" "$work/indexed.json" || { echo "ls: the index and reading every message differ" >&2; exit 1; }
  mv "$central.termtape-index" "$work/index"
  measure "screen --at, no index" "$work/screen1" "$rel/termtape" screen --at 0.05 --rec "$last" "$central"
  mv "$work/index" "$central.termtape-index"
  measure "screen --at, index" "$work/screen2" "$rel/termtape" screen --at 0.05 --rec "$last" "$central"
  cmp -s "$work/screen1" "$work/screen2" || { echo "screen: with and without the index differ" >&2; exit 1; }
done
# One more recording appended (to the same file: the index is of its
# inode): the first listing reads only it, and brings the index up to date.
cat "$work/appended.log" >>"$central"
measure "ls after an append, index (first)" "$work/grown-indexed.json" "$rel/termtape" ls --json "$central"
measure "ls after an append, every message" "$work/grown-all.json" "$rel/termtape" ls --json --read-all "$central"
cmp -s "$work/grown-all.json" "$work/grown-indexed.json" || { echo "ls after an append: differ" >&2; exit 1; }

echo "$n recordings in one file, $(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1e6}') MB; its index $(stat -c %s "$central.termtape-index") bytes"
echo
echo "| measure | wall (s) | peak RSS (MB) |"
echo "|---|---|---|"
for key in "ls, every message" "ls, index" "ls after an append, every message" "ls after an append, index (first)" "screen --at, no index" "screen --at, index"; do
  echo "| $key | $(median "${wall[$key]}") | $(median "${rss[$key]}") |"
done

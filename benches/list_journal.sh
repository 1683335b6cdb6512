#!/usr/bin/env bash
# Listing N recordings in a journal (default 10,000), side by side in one
# run: `termtape ls --json journal:DIR` (the journal's index of recording
# ids, then each recording's first and last entries) against
# `termtape ls --json --read-all` (every message, as ls did before) and
# `journalctl -o json` of every recorder's entry (what Cockpit reads to
# list). Wall time and peak RSS, median of RUNS runs.
#
# The journal is generated: two real recordings are made into a private
# journald (benches/private_journald.sh; one by termtape's journal writer, one by tlog-rec), exported
# with `journalctl -o export`, copied N times under new ids by
# benches/gen_journal.py and written into a directory by Debian's
# systemd-journal-remote. TLOG_SHARE (default 0) is the percentage of
# the copies made of the tlog-rec recording (which carries no totals, so
# ls reads it whole).
#
# Run by hand: benches/list_journal.sh [N] [RUNS]; LINES sets the size of
# each recording (below). Prints a Markdown table. KEEP_JOURNAL=DIR moves
# the generated journal there afterwards (benches/web_list.sh reads it).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
runs=${2:-3}
tlog_share=${TLOG_SHARE:-0}
if [ -z "${LIST_JOURNAL_INNER:-}" ]; then
  cargo build --release --locked -q --bins -p termtape-rec -p termtape-player
  jd=$(mktemp -d)
  trap 'rm -rf "$jd"' EXIT
  LIST_JOURNAL_INNER=1 benches/private_journald.sh "$jd" "$0" "$@"
  exit
fi
rel=${CARGO_TARGET_DIR:-target}/release
remote=/lib/systemd/systemd-journal-remote
[ -x "$remote" ] || { echo "needs $remote (Debian: systemd-journal-remote)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a recorder to its end; prints the recording id it wrote.
rec_id() {
  "$@" </dev/null >/dev/null 2>&1 &
  local pid=$!
  wait "$pid"
  journalctl --sync
  journalctl -o json "_PID=$pid" | python3 -c '
import json, sys
ids = [json.loads(l).get("TLOG_REC") for l in sys.stdin]
print([i for i in ids if i][-1])'
}

# A session with output in several messages, typed-looking input, a
# window size: termtape's writer, input recorded.
# LINES (default 200) lines of 100 bytes and more: about one message per
# 20 lines.
lines=${LINES:-200}
script="for i in \$(seq 1 $lines); do echo \"line \$i of a listing: \$(printf %0100d \$i)\"; done; sleep 0.3; echo done"
ours=$(rec_id "$rel/termtape" rec -w journal --log-input --latency 0.1 -- sh -c "$script")
tlog=$(rec_id tlog-rec -w journal sh -c "$script")
journalctl -o export "TLOG_REC=$ours" >"$work/ours.export"
journalctl -o export "TLOG_REC=$tlog" >"$work/tlog.export"
per_ours=$(grep -c '^TLOG_REC=' "$work/ours.export")
per_tlog=$(grep -c '^TLOG_REC=' "$work/tlog.export")

# Templates in the proportion asked: 100 slots, TLOG_SHARE of them tlog's.
templates=()
for ((i = 0; i < 100; i++)); do
  if ((i < tlog_share)); then templates+=("$work/tlog.export"); else templates+=("$work/ours.export"); fi
done
mkdir "$work/journal"
start=$(date +%s)
python3 benches/gen_journal.py "$n" "${templates[@]}" |
  "$remote" -o "$work/journal/remote.journal" - 2>"$work/remote.err"
gen_s=$(($(date +%s) - start))
size=$(du -sh "$work/journal" | cut -f1)

# Median wall ms and median peak RSS (MB) of $runs runs of a command.
measure() {
  local times=() rss=()
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>/dev/null || true
    read -r secs kb <"$work/time"
    times+=("$(awk -v s="$secs" 'BEGIN {printf "%d", s * 1000}')")
    rss+=("$((kb / 1024))")
  done
  local t r
  t=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  r=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$t $r"
}

src="journal:$work/journal"
read -r fast_ms fast_mb < <(measure "$rel/termtape" ls --json "$src")
fast_lines=$(wc -l <"$work/out")
"$rel/termtape" ls --json "$src" 2>/dev/null | sort >"$work/fast.json"
read -r all_ms all_mb < <(measure "$rel/termtape" ls --json --read-all "$src")
all_lines=$(wc -l <"$work/out")
"$rel/termtape" ls --json --read-all "$src" 2>/dev/null | sort >"$work/all.json"
read -r jc_ms jc_mb < <(measure journalctl -D "$work/journal" -o json \
  _COMM=termtape-rec _COMM=tlog-rec)
if cmp -s "$work/fast.json" "$work/all.json"; then same=yes; else same=NO; fi

echo "$n recordings ($tlog_share% tlog-rec's): $per_ours entries each (termtape), $per_tlog (tlog-rec);"
echo "journal $size, generated in ${gen_s}s; listings equal: $same ($fast_lines and $all_lines lines)"
echo
echo "| way | wall ms | peak RSS MB | vs new |"
echo "|---|---:|---:|---:|"
echo "| termtape ls --json (index, first and last entries) | $fast_ms | $fast_mb | 1.0x |"
awk -v a="$all_ms" -v f="$fast_ms" -v m="$all_mb" 'BEGIN {printf "| termtape ls --json --read-all (every message) | %d | %d | %.1fx |\n", a, m, a / (f ? f : 1)}'
awk -v a="$jc_ms" -v f="$fast_ms" -v m="$jc_mb" 'BEGIN {printf "| journalctl -o json, every entry (as Cockpit lists) | %d | %d | %.1fx |\n", a, m, a / (f ? f : 1)}'
if [ -n "${KEEP_JOURNAL:-}" ]; then
  mkdir -p "$KEEP_JOURNAL"
  mv "$work/journal"/* "$KEEP_JOURNAL"/
fi

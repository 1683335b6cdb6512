#!/usr/bin/env bash
# The web page's recordings view on a journal of N recordings (default
# 10,000): the time from loading the page to the first recording row
# painted, measured in headless Chromium (Debian's) over a release
# `termtape serve journal:DIR`. The journal is the one
# benches/list_journal.sh generates (and times the CLI listing on).
#
# Run by hand, as root: benches/web_list.sh [N] [RUNS]. SHOT=FILE.png keeps
# a screenshot of the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
runs=${2:-3}
scripts/web-build >/dev/null
rel=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d /var/tmp/termtape-web-list.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

KEEP_JOURNAL="$work/journal" benches/list_journal.sh "$n" 1

setsid "$rel/termtape" serve "journal:$work/journal" >"$work/url" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -1 "$work/url")
mkdir "$work/profile"
setsid chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
  --remote-debugging-port=0 --user-data-dir="$work/profile" --window-size=1400,900 about:blank \
  >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/profile/DevToolsActivePort" ] && break; sleep 0.1; done
port=$(head -1 "$work/profile/DevToolsActivePort")
shot=${SHOT:+,\"screenshot\":\"$SHOT\"}
echo
echo "The page on $n recordings (termtape serve journal:DIR, release build):"
node benches/web/list.mjs "{\"cdp\":\"http://127.0.0.1:$port\",\"url\":\"$url\",\"runs\":$runs$shot}"

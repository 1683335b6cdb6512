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
. benches/web/common.sh

KEEP_JOURNAL="$work/journal" benches/list_journal.sh "$n" 1

start_serve "journal:$work/journal"
start_chromium
shot=${SHOT:+,\"screenshot\":\"$SHOT\"}
echo
echo "The page on $n recordings (termtape serve journal:DIR, release build):"
node benches/web/list.mjs "{\"cdp\":\"http://127.0.0.1:$port\",\"url\":\"$url\",\"runs\":$runs$shot}"

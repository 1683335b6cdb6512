#!/bin/bash
# Log size of a 10 MB KOI8-R text session against the same session (the same
# text) recorded in UTF-8: `cat` of Russian prose under termtape rec, once
# with --charset KOI8-R (output converted to UTF-8, originals kept where the
# text does not give them back) and once with --charset UTF-8.
#
#   benches/charset_size.sh            (release build; PROFILE=debug to reuse a debug one)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build --quiet "${flag[@]}" -p termtape-rec --bin termtape-rec
rec=${CARGO_TARGET_DIR:-target}/$profile/termtape-rec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

line="Съешь же ещё этих мягких французских булок, да выпей чаю. Широкая электрификация южных губерний даст мощный толчок подъёму сельского хозяйства."
seq 1 67000 | sed "s/\$/ $line/" > "$tmp/utf8.txt"
iconv -f UTF-8 -t KOI8-R "$tmp/utf8.txt" > "$tmp/koi8r.txt"

"$rec" -o "$tmp/koi8r.log" --charset KOI8-R -- cat "$tmp/koi8r.txt" </dev/null >/dev/null
"$rec" -o "$tmp/utf8.log" --charset UTF-8 -- cat "$tmp/utf8.txt" </dev/null >/dev/null

size() { stat -c %s "$1"; }
printf '%-28s %12s\n' "KOI8-R output (bytes)" "$(size "$tmp/koi8r.txt")"
printf '%-28s %12s\n' "log, KOI8-R session" "$(size "$tmp/koi8r.log")"
printf '%-28s %12s\n' "log, UTF-8 session" "$(size "$tmp/utf8.log")"
printf '%-28s %12s\n' "messages keeping originals" "$(grep -c '"out_orig"' "$tmp/koi8r.log" || true)"
printf '%-28s %12s\n' "messages" "$(wc -l < "$tmp/koi8r.log")"
echo "ratio: $(echo "scale=3; $(size "$tmp/koi8r.log") / $(size "$tmp/utf8.log")" | bc)"

#!/usr/bin/env bash
# Load: N concurrent recorded sessions (default 100) into one journald, each
# `termtape-rec -w journal --log-input` on its own pseudo-terminal
# (benches' `ptydrive`), which types into it at a human pace (40-140 ms a
# key): `ls -l` of two big directories, a burst of output (`seq 1 SEQ`),
# `less` paged with the space bar, a file written in `vim`, then `exit`.
# Starts are STAGGER seconds apart. The journald is the script's own: a
# private systemd-journald in a private mount namespace (tmpfs over its
# sockets, its journal in a directory of the run; journald's rate limit
# off, see README's Performance), stopped by its PID.
#
# Then checks that nothing was lost: every session's recording is listed
# (`termtape ls --json journal:DIR`, by the index and by reading every
# message, which must agree), ended with the shell's exit status 0, its
# output byte for byte what ptydrive was shown (`termtape cat --rec`
# without --lax: exit 0, then cmp), its input what was typed. Reports per
# recorder CPU seconds (its own process, from /proc while it is a zombie:
# not its children's) per MB of output and peak RSS, and journald's CPU
# and peak RSS over the run.
#
# Then one long session (`seq 1 LONG`, default 125000000: 1.26 GB of
# output) into the same journald, for the recorder's peak RSS over a long
# session; then `seq 1 6000000` recorded by termtape-rec (file writer, and
# journal writer) and passed through util-linux `script`, RUNS times
# alternating, comparing CPU time (user+sys of the recorder's own process,
# not wall: the machine is shared).
#
# Needs root (mount namespace). Run by hand, not in CI:
#   benches/load.sh [N]    env: STAGGER=0.3 SEQ=200000 LONG=125000000 RUNS=5
#                          KEEP=1 (keep the run's directory) SKIP_LONG=1 SKIP_SINGLE=1
#                          JOURNALD_RATELIMIT=default (journald's rate limit on)
#                          SHIP=1 (then through journal-upload to journal-remote)
#                          BASELINE=path/to/another/termtape-rec (in the single
#                          session comparison too, e.g. a build before a change)
# N=0 runs the long and single sessions only.
set -euo pipefail
# All of it is read before any of it runs (in braces), so that editing the
# script during a long run cannot change the run.
{
cd "$(dirname "$0")/.."
here=$(pwd)

if [ "${1:-}" != --inner ]; then
  n=${1:-100}
  cargo build --release --locked -q --bins -p termtape-rec -p termtape-player -p termtape-benches
  tmp=$(mktemp -d /var/tmp/termtape-load.XXXXXX)
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
  echo "run directory: $tmp" >&2
  # journald's default largest file for this RuntimeMaxUse (128M), as the
  # journal's size on disk was measured with.
  JOURNALD_MAX_FILE_SIZE=128M unshare --net benches/private_journald.sh "$tmp" "$0" --inner "$n" "$tmp"
  exit
fi

n=$2
tmp=$3
rel=$here/${CARGO_TARGET_DIR:-target}/release
stagger=${STAGGER:-0.3}
seqn=${SEQ:-200000}
long=${LONG:-125000000}
runs=${RUNS:-5}

# The private journald (benches/private_journald.sh): its journal in
# $tmp/journal, its PID in JOURNALD_PID.
mkdir -p "$tmp/sessions"
jpid=$JOURNALD_PID

# CPU seconds (user+sys) and VmHWM (KiB) of a live process.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / t}' "/proc/$1/stat"; }
hwm_of() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# The session's keys. `@tt> ` is the shell's prompt.
cat >"$tmp/keys" <<EOF
wait @tt> 
type ls -l /usr/bin /usr/lib/x86_64-linux-gnu\r
wait @tt> 
type seq 1 $seqn\r
wait @tt> 
type less /usr/share/common-licenses/GPL-3\r
wait GNU GENERAL PUBLIC LICENSE
type    b  
type q
wait @tt> 
type vim -u NONE -N -i NONE -n "\$F"\r
sleep 500
type iRecorded under load, session after session.\rA second line.\e
type :wq\r
wait @tt> 
type cat "\$F"\r
wait @tt> 
type exit\r
EOF
# What is typed, byte for byte, for comparing with the recorded input.
python3 - "$tmp/keys" >"$tmp/typed" <<'EOF'
import sys
esc = {'r': '\r', 'n': '\n', 't': '\t', 'e': '\x1b'}
out = []
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if not line.startswith('type '):
        continue
    text, i = line[5:], 0
    while i < len(text):
        if text[i] == '\\' and i + 1 < len(text):
            out.append(esc.get(text[i + 1], text[i + 1])); i += 2
        else:
            out.append(text[i]); i += 1
sys.stdout.write(''.join(out))
EOF

session() { # INDEX: one recorded session, its measures in sessions/INDEX.json
  local i=$1 d=$tmp/sessions
  "$rel/ptydrive" --keys "$tmp/keys" --seed "$i" --out "$d/$i.out" --err "$d/$i.err" -- \
    "$rel/termtape-rec" -w journal --log-input -- \
    env -i PATH=/usr/bin:/bin TERM=xterm HOME="$d" LANG=C.UTF-8 PS1='@tt> ' \
    F="$d/$i.txt" SESSION="load-$i" sh >"$d/$i.json" || true
}

# journald's peak anonymous memory (its VmHWM counts the journal files'
# pages it maps), sampled every second.
( max=0; while a=$(awk '/^RssAnon:/ {print $2}' "/proc/$jpid/status" 2>/dev/null) && [ -n "$a" ]; do
    [ "$a" -gt "$max" ] && max=$a && echo "$max" >"$tmp/journald.anon"; sleep 1; done ) &
load0=$(cut -d' ' -f1-3 /proc/loadavg)
j0=$(cpu_of "$jpid")
date0=$(date +%s.%N)
echo "starting $n sessions, $stagger s apart" >&2
pids=()
for ((i = 1; i <= n; i++)); do
  session "$i" &
  pids+=($!)
  sleep "$stagger"
done
for p in "${pids[@]}"; do wait "$p"; done
date1=$(date +%s.%N)
j1=$(cpu_of "$jpid")
jhwm=$(hwm_of "$jpid")
janon=$(cat "$tmp/journald.anon" 2>/dev/null || echo 0)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
jsize=$(du -sb "$tmp/journal" | cut -f1)
echo "sessions done in $(echo "$date1 - $date0" | bc -l) s" >&2

# Listing and checking, with journald still running (it has written
# everything it was sent: the recorders wait for it).
"$rel/termtape" ls --json "journal:$tmp/journal" >"$tmp/ls.json" 2>"$tmp/ls.err" || true
"$rel/termtape" ls --json --read-all "journal:$tmp/journal" >"$tmp/ls-all.json" 2>"$tmp/ls-all.err" || true
: >"$tmp/cat.txt"
python3 - "$tmp" "$n" >"$tmp/cat.list" <<'EOF'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
for line in open(f"{tmp}/ls.json"):
    r = json.loads(line)
    cmd = r.get("command") or []
    for word in (cmd.split() if isinstance(cmd, str) else cmd):
        if word.startswith("SESSION=load-"):
            print(word.split("-", 1)[1], r["rec"])
EOF
while read -r i rec; do
  rc=0; "$rel/termtape" cat --rec "$rec" "journal:$tmp/journal" >"$tmp/sessions/$i.cat" 2>>"$tmp/cat.err" || rc=$?
  rci=0; "$rel/termtape" cat --input --rec "$rec" "journal:$tmp/journal" >"$tmp/sessions/$i.in" 2>>"$tmp/cat.err" || rci=$?
  same=0; cmp -s "$tmp/sessions/$i.cat" "$tmp/sessions/$i.out" && same=1
  samein=0; cmp -s "$tmp/sessions/$i.in" "$tmp/typed" && samein=1
  echo "$i $rec $rc $rci $same $samein" >>"$tmp/cat.txt"
  rm -f "$tmp/sessions/$i.cat" "$tmp/sessions/$i.in"
done <"$tmp/cat.list"

# Shipped: systemd-journal-upload of the run's journal to a
# systemd-journal-remote on this namespace's own loopback, then the same
# listing on the collector's copy.
ship_json=null
if [ -n "${SHIP:-}" ] && [ "$n" -gt 0 ]; then
  echo "shipping through journal-upload to journal-remote" >&2
  ip link set lo up
  mkdir -p "$tmp/remote"
  /lib/systemd/systemd-journal-remote --listen-http=127.0.0.1:19532 --output="$tmp/remote/" \
    >"$tmp/remote.out" 2>&1 &
  rpid=$!
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/19532) 2>/dev/null && break; sleep 0.05; done
  s0=$(date +%s.%N)
  /usr/bin/time -o "$tmp/upload.time" -f '%U %S %M' /lib/systemd/systemd-journal-upload \
    --url=http://127.0.0.1:19532 --directory="$tmp/journal" --follow=no \
    --save-state="$tmp/upload.state" >"$tmp/upload.out" 2>&1 || true
  upcpu=$(tail -1 "$tmp/upload.time")
  s1=$(date +%s.%N)
  rcpu=$(cpu_of "$rpid"); rhwm=$(hwm_of "$rpid")
  ranon=$(awk '/^RssAnon:/ {print $2}' "/proc/$rpid/status")
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
  "$rel/termtape" ls --json "journal:$tmp/remote" >"$tmp/ls-remote.json" 2>"$tmp/ls-remote.err" || true
  same=$(python3 -c 'import json,sys
a={json.loads(l)["rec"]:json.loads(l) for l in open(sys.argv[1])}
b={json.loads(l)["rec"]:json.loads(l) for l in open(sys.argv[2])}
k=["messages","output_bytes","input_bytes","exit","gaps"]
print(sum(1 for r in a if r in b and all(a[r][x]==b[r][x] for x in k)))' "$tmp/ls.json" "$tmp/ls-remote.json")
  bad=0
  while read -r i rec; do
    "$rel/termtape" cat --rec "$rec" "journal:$tmp/remote" 2>/dev/null | cmp -s - "$tmp/sessions/$i.out" || bad=$((bad + 1))
  done <"$tmp/cat.list"
  set -- $upcpu
  ship_json="{\"wall\":$(awk -v a="$s0" -v b="$s1" 'BEGIN {print b - a}'),\"upload_user\":$1,\"upload_sys\":$2,\"upload_maxrss\":$3,\"remote_cpu\":$rcpu,\"remote_hwm\":$rhwm,\"remote_anon\":$ranon,\"same\":$same,\"cat_differ\":$bad,\"remote_size\":$(du -sb "$tmp/remote" | cut -f1)}"
fi

long_json=
if [ -z "${SKIP_LONG:-}" ]; then
  echo "one long session: seq 1 $long" >&2
  jl0=$(cpu_of "$jpid")
  "$rel/ptydrive" --err "$tmp/long.err" -- "$rel/termtape-rec" -w journal -- \
    env SESSION=load-long seq 1 "$long" >"$tmp/long.json" || true
  jl1=$(cpu_of "$jpid")
  jlhwm=$(hwm_of "$jpid")
  long_rec=$("$rel/termtape" ls --json --command SESSION=load-long "journal:$tmp/journal" 2>/dev/null | tail -1)
  long_json="{\"drive\":$(cat "$tmp/long.json"),\"ls\":${long_rec:-null},\"journald_cpu\":$(echo "$jl1 - $jl0" | bc -l),\"journald_hwm\":$jlhwm}"
fi

# Single session, CPU time: script vs termtape-rec, alternating.
: >"$tmp/single.txt"
if [ -z "${SKIP_SINGLE:-}" ]; then
  echo "seq 1 6000000: script vs termtape-rec, $runs runs" >&2
  for ((r = 0; r < runs; r++)); do
    rm -f "$tmp/single.log"
    for who in script termtape-file termtape-journal ${BASELINE:+baseline-file}; do
      case $who in
        baseline-file) cmd=("$BASELINE" -o "$tmp/single.log" -- seq 1 6000000) ;;
        script) cmd=(script -qc "seq 1 6000000" /dev/null) ;;
        termtape-file) cmd=("$rel/termtape-rec" -o "$tmp/single.log" -- seq 1 6000000) ;;
        termtape-journal) cmd=("$rel/termtape-rec" -w journal -- seq 1 6000000) ;;
      esac
      echo "$who $("$rel/ptydrive" --err /dev/null -- "${cmd[@]}")" >>"$tmp/single.txt"
    done
  done
fi


python3 - "$tmp" "$n" "$(echo "$j1 - $j0" | bc -l)" "$jhwm" "$jsize" \
  "$(echo "$date1 - $date0" | bc -l)" "$long_json" "$(nproc)" "$janon" "$load0" "$load1" "$ship_json" <<'EOF'
import json, statistics, sys
tmp, n, jcpu, jhwm, jsize, wall, long_json, cores, janon, load0, load1, ship = sys.argv[1:13]
ship = json.loads(ship)
janon = int(janon)
n = int(n); jcpu = float(jcpu); jhwm = int(jhwm); jsize = int(jsize); wall = float(wall)
drive = {}
for i in range(1, n + 1):
    try:
        drive[str(i)] = json.loads(open(f"{tmp}/sessions/{i}.json").read())
    except Exception as e:
        drive[str(i)] = None
listed = {json.loads(l)["rec"]: json.loads(l) for l in open(f"{tmp}/ls.json")}
listed_all = {json.loads(l)["rec"]: json.loads(l) for l in open(f"{tmp}/ls-all.json")}
cat = {}
for line in open(f"{tmp}/cat.txt"):
    i, rec, rc, rci, same, samein = line.split()
    cat[i] = dict(rec=rec, rc=int(rc), rci=int(rci), same=same == "1", samein=samein == "1")
typed = len(open(f"{tmp}/typed", "rb").read())
problems = []
rows = []
for i in map(str, range(1, n + 1)):
    d, c = drive[i], cat.get(i)
    if d is None:
        problems.append(f"session {i}: no measures from ptydrive"); continue
    if d["failed"] or d["exit"] != 0:
        problems.append(f"session {i}: ptydrive {d['failed']}, exit {d['exit']}")
    if c is None:
        problems.append(f"session {i}: no recording listed"); continue
    r, ra = listed[c["rec"]], listed_all.get(c["rec"])
    if ra is None or {k: v for k, v in r.items() if k != "live"} != {k: v for k, v in ra.items() if k != "live"}:
        problems.append(f"session {i}: the index's listing differs from reading every message")
    if r["exit"] != {"code": 0} and r["exit"] != 0:
        problems.append(f"session {i}: recorded exit {r['exit']}")
    if r["gaps"]["count"]:
        problems.append(f"session {i}: gaps {r['gaps']}")
    if r["output_bytes"] != d["shown"]:
        problems.append(f"session {i}: output {r['output_bytes']} recorded, {d['shown']} shown")
    if r["input_bytes"] != d["typed"] or d["typed"] != typed:
        problems.append(f"session {i}: input {r['input_bytes']} recorded, {d['typed']} typed of {typed}")
    if c["rc"] != 0 or c["rci"] != 0:
        problems.append(f"session {i}: termtape cat exit {c['rc']} / --input {c['rci']}")
    if not c["same"]:
        problems.append(f"session {i}: cat's output differs from what was shown")
    if not c["samein"]:
        problems.append(f"session {i}: cat --input differs from what was typed")
    rows.append(d)
if n == 0:
    rows = []
cpu = [d["utime"] + d["stime"] for d in rows]
mb = [d["shown"] / 1e6 for d in rows]
per_mb = [c / m for c, m in zip(cpu, mb)]
hwm = [d["hwm_kib"] / 1024 for d in rows]
maxrss = [d["maxrss_kib"] / 1024 for d in rows]
total_mb = sum(mb)
if n:
    print(f"checks: {len(rows)} of {n} sessions measured; " + ("nothing lost: every recording complete, output and input byte for byte" if not problems else f"{len(problems)} PROBLEMS"))
    for p in problems[:30]:
        print("  " + p)
if rows:
    print(f"\n{n} sessions ({cores} cores), {wall:.1f} s from first start to last end; "
          f"{total_mb:.1f} MB of output in all ({statistics.median(mb):.2f} MB median a session), "
          f"{len(listed)} recordings listed; load average {load0} at the start, {load1} at the end")
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
    print("\n| measure | median | p95 | max | all sessions |")
    print("|---|---:|---:|---:|---:|")
    print(f"| recorder CPU (s) | {statistics.median(cpu):.2f} | {q(cpu, .95):.2f} | {max(cpu):.2f} | {sum(cpu):.2f} |")
    print(f"| recorder CPU per MB of output (s/MB) | {statistics.median(per_mb):.3f} | {q(per_mb, .95):.3f} | {max(per_mb):.3f} | {sum(cpu) / total_mb:.3f} |")
    print(f"| recorder peak RSS, VmHWM (MB) | {statistics.median(hwm):.1f} | {q(hwm, .95):.1f} | {max(hwm):.1f} | - |")
    print(f"| ru_maxrss of recorder and children (MB) | {statistics.median(maxrss):.1f} | {q(maxrss, .95):.1f} | {max(maxrss):.1f} | - |")
    print(f"| journald CPU over the run (s) | - | - | - | {jcpu:.2f} ({jcpu / total_mb:.3f} s/MB) |")
    print(f"| journald peak RSS, VmHWM with the journal's mapped pages (MB) | - | - | - | {jhwm / 1024:.1f} |")
    print(f"| journald peak anonymous RSS, sampled each second (MB) | - | - | - | {janon / 1024:.1f} |")
    print(f"| journal on disk (MB) | - | - | - | {jsize / 1e6:.1f} ({jsize / 1e6 / total_mb:.2f}x output) |")
if ship:
    print(f"\nshipped: systemd-journal-upload of the {n} sessions' journal to systemd-journal-remote over HTTP "
          f"on a loopback: {ship['wall']:.1f} s; {ship['same']} of {n} recordings listed alike on the collector, "
          f"{ship['cat_differ']} whose `cat` differs from what was shown; journal-upload {ship['upload_user'] + ship['upload_sys']:.2f} s CPU, "
          f"peak RSS {ship['upload_maxrss'] / 1024:.1f} MB; journal-remote {ship['remote_cpu']:.2f} s CPU, peak RSS "
          f"{ship['remote_hwm'] / 1024:.1f} MB ({ship['remote_anon'] / 1024:.1f} MB anonymous at the end); "
          f"collector's journal {ship['remote_size'] / 1e6:.1f} MB")
if long_json:
    l = json.loads(long_json)
    d, r = l["drive"], l["ls"] or {}
    ok = (d["exit"] == 0 and r.get("output_bytes") == d["shown"] and not r.get("gaps", {}).get("count"))
    print(f"\nlong session: {d['shown'] / 1e6:.0f} MB of output in {d['wall']:.0f} s wall; recorder "
          f"{d['utime'] + d['stime']:.1f} s CPU ({(d['utime'] + d['stime']) / (d['shown'] / 1e6):.4f} s/MB), "
          f"peak RSS {d['hwm_kib'] / 1024:.1f} MB (ru_maxrss {d['maxrss_kib'] / 1024:.1f} MB); "
          f"recorded {r.get('output_bytes')} bytes, {r.get('messages')} messages, "
          f"{'complete' if ok else 'INCOMPLETE'}; journald {l['journald_cpu']:.1f} s CPU, peak RSS {l['journald_hwm'] / 1024:.1f} MB")
single = {}
for line in open(f"{tmp}/single.txt"):
    who, js = line.split(" ", 1)
    d = json.loads(js)
    single.setdefault(who, []).append(d)
if single:
    print("\n`seq 1 6000000` on a PTY, CPU of the recorder's own process (user+sys), median of "
          f"{len(single['script'])} runs, alternating:\n")
    print("| recorder | CPU (s) | user | sys | s per MB | vs script | with seq's CPU (s) | vs script | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    tree = lambda d: d["utime"] + d["stime"] + d["cutime"] + d["cstime"]
    base = statistics.median(d["utime"] + d["stime"] for d in single["script"])
    tbase = statistics.median(tree(d) for d in single["script"])
    for who in ["script", "termtape-file", "termtape-journal", "baseline-file"]:
        ds = single.get(who)
        if not ds:
            continue
        c = statistics.median(d["utime"] + d["stime"] for d in ds)
        u = statistics.median(d["utime"] for d in ds)
        s = statistics.median(d["stime"] for d in ds)
        m = statistics.median(d["shown"] for d in ds) / 1e6
        h = max(d["hwm_kib"] for d in ds) / 1024
        t = statistics.median(tree(d) for d in ds)
        print(f"| {who} | {c:.2f} | {u:.2f} | {s:.2f} | {c / m:.4f} | {c / base:.2f} | {t:.2f} | {t / tbase:.2f} | {h:.1f} |")
EOF
exit
}

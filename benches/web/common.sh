# Sourced by benches/web_seek.sh and benches/web_list.sh: a work directory,
# a release `termtape serve` and a headless Chromium, each in its own
# process group, stopped by PID (and the directory removed) on exit.
# Needs $rel (the release binaries' directory) and $work.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `termtape serve SOURCE…`; sets $url (with its token).
start_serve() {
  setsid "$rel/termtape" serve "$@" >"$work/url" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
  url=$(head -1 "$work/url")
}

# Starts headless Chromium with a fresh profile; sets $port (its CDP port).
start_chromium() {
  mkdir "$work/profile"
  setsid chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --remote-debugging-port=0 --user-data-dir="$work/profile" --window-size=1400,900 about:blank \
    >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do [ -s "$work/profile/DevToolsActivePort" ] && break; sleep 0.1; done
  port=$(head -1 "$work/profile/DevToolsActivePort")
}

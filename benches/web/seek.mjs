// The web player's seeks, measured in the page (benches/web_seek.sh starts
// the server and the browser and passes them here):
//
//   node benches/web/seek.mjs 'JSON-ARGS'
//
// args: { cdp: "http://127.0.0.1:PORT", url: "http://ADDR/?token=…",
//         recordings: [{ source, rec, label }], runs, replay_runs, cap_ms }
//
// For each recording: the player opens it, then the progress bar is clicked
// at the middle, near the end (95 %) and back at the start, `runs` times;
// each time is from the click (a capturing pointerdown listener) to the
// player's `data-seeks` changing (the screen drawn: written by xterm.js and
// painted). The page's JS heap is read over CDP after the seeks (after a
// garbage collection, and the peak the runtime reports before it) and
// after 5 s of playing at 16×. Then the same moments drawn Cockpit's way:
// a fresh xterm.js terminal in the same page, given every event from the
// recording's start (GET /api/events?at=0&to=T), timed until written and
// painted (capped at cap_ms). Prints one JSON object.

const { chromium } = await import(new URL('../../web/node_modules/playwright-core/index.mjs', import.meta.url));

const args = JSON.parse(process.argv[2]);
const runs = args.runs ?? 3;
const capMs = args.cap_ms ?? 300_000;
const FRACTIONS = [['middle', 0.5], ['near end', 0.95], ['start', 0]];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

const browser = await chromium.connectOverCDP(args.cdp);

async function heap(cdp, collect) {
  if (collect) await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name) => metrics.find((m) => m.name === name)?.value ?? null;
  return { used_mb: value('JSHeapUsedSize') / 1e6, total_mb: value('JSHeapTotalSize') / 1e6 };
}

/** Clicks the progress bar at `fraction`; ms from the click to the drawn screen. */
async function clickSeek(page, fraction) {
  const bar = await page.locator('[data-tt=progress]').boundingBox();
  const done = page.evaluate(
    () =>
      new Promise((resolve) => {
        const player = document.querySelector('[data-tt=player]');
        const before = player.dataset.seeks;
        let clicked = null;
        document.addEventListener('pointerdown', () => (clicked = performance.now()), { capture: true, once: true });
        const observer = new MutationObserver(() => {
          if (player.dataset.seeks !== before && clicked !== null) {
            observer.disconnect();
            resolve({ ms: performance.now() - clicked, drawn: Number(player.dataset.drawn) });
          }
        });
        observer.observe(player, { attributes: true, attributeFilter: ['data-seeks'] });
      }),
  );
  await page.waitForTimeout(50);
  await page.mouse.click(bar.x + Math.max(1, bar.width * fraction), bar.y + bar.height / 2);
  return done;
}

const results = [];
for (const r of args.recordings) {
  // CSP bypassed only so that the comparison can add xterm.js to the page.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(args.url);
  await page.evaluate(({ source, rec }) => {
    window.location.hash = `#/play?source=${source}&rec=${encodeURIComponent(rec)}&at=0`;
  }, r);
  await page.waitForSelector('[data-tt=player][data-seeks]', { timeout: 60_000 });
  const seeks = {};
  const drawnAt = {};
  for (let run = 0; run < runs; run += 1) {
    for (const [name, fraction] of FRACTIONS) {
      const { ms, drawn } = await clickSeek(page, fraction);
      (seeks[name] ??= []).push(ms);
      drawnAt[name] = drawn;
    }
  }
  const peak = await heap(cdp, false);
  const afterSeeks = await heap(cdp, true);
  // Play from the middle at 16× for 5 s.
  await clickSeek(page, 0.5);
  await page.selectOption('[data-tt=speed]', '16');
  await page.click('[data-tt=play]');
  await page.waitForTimeout(5000);
  const playing = await heap(cdp, false);
  await page.click('[data-tt=play]');
  const length = await page.$eval('[data-tt=player]', (p) => p.dataset.at);

  // Cockpit's way, in the same page: everything from the start into a
  // fresh terminal.
  await page.addScriptTag({ path: new URL('../../web/node_modules/@xterm/xterm/lib/xterm.js', import.meta.url).pathname }).catch(() => null);
  const replay = {};
  for (let run = 0; run < (args.replay_runs ?? 1); run += 1) for (const [name] of FRACTIONS) {
    const to = drawnAt[name];
    const one = await page.evaluate(
      async ({ source, rec, to, capMs }) => {
        const Terminal = window.Terminal?.Terminal ?? window.Terminal;
        if (!Terminal) return { error: 'xterm.js did not load (CSP?)' };
        const box = document.createElement('div');
        document.body.append(box);
        const term = new Terminal({ scrollback: 1000 });
        term.open(box);
        const started = performance.now();
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), capMs);
        let bytes = 0;
        let pending = 0;
        try {
          const response = await fetch(`api/events?source=${source}&rec=${encodeURIComponent(rec)}&at=0&to=${(to / 1000).toFixed(3)}`, {
            signal: controller.signal,
          });
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let rest = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const lines = (rest + value).split('\n');
            rest = lines.pop();
            for (const line of lines) {
              if (!line) continue;
              const o = JSON.parse(line);
              if (o.type === 'keyframe') {
                term.resize(o.cols, o.rows);
                term.write(o.vt);
              } else if (o.type === 'output' && o.text !== undefined) {
                bytes += o.text.length;
                pending += o.text.length;
                // xterm.js discards writes past 50 MB buffered: wait for
                // it to catch up now and then, as a replaying player must.
                if (pending > 1 << 20) {
                  pending = 0;
                  await new Promise((resolve) => term.write(o.text, resolve));
                } else {
                  term.write(o.text);
                }
              } else if (o.type === 'resize') {
                term.resize(o.cols, o.rows);
              }
            }
          }
          await new Promise((resolve) => term.write('', resolve));
          await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
          return { ms: performance.now() - started, chars: bytes };
        } catch (e) {
          return controller.signal.aborted ? { ms: null, capped: capMs } : { ms: null, error: String(e) };
        } finally {
          clearTimeout(timer);
          term.dispose();
          box.remove();
        }
      },
      { ...r, to, capMs },
    );
    (replay[name] ??= []).push(one);
  }
  // The median run of each moment (a capped or failed run counts as slowest).
  for (const [name, all] of Object.entries(replay)) {
    const sorted = [...all].sort((a, b) => (a.ms ?? Infinity) - (b.ms ?? Infinity));
    replay[name] = { ...sorted[Math.floor((sorted.length - 1) / 2)], at_ms: drawnAt[name] };
  }
  const cockpitHeap = await heap(cdp, false);
  results.push({
    label: r.label,
    length_ms: Number(length),
    seek_ms: Object.fromEntries(Object.entries(seeks).map(([k, v]) => [k, { median: median(v), all: v }])),
    heap_peak_mb: peak.used_mb,
    heap_after_seeks_mb: afterSeeks.used_mb,
    heap_playing_mb: playing.used_mb,
    replay_from_start: replay,
    heap_after_replays_mb: cockpitHeap.used_mb,
  });
  await context.close();
}
console.log(JSON.stringify({ results }, null, 1));
await browser.close();

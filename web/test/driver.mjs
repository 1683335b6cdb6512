// Drives termtape's web page in a browser the test started, for the Rust
// end-to-end tests (tests/web.rs) and the benchmarks (benches/web/).
//
//   node web/test/driver.mjs SCENARIO 'JSON-ARGS'
//
// Connects to the browser over CDP (args.cdp, e.g. http://127.0.0.1:PORT),
// opens a fresh context (no cookies, storage or permissions shared with
// another run), runs the scenario and prints one JSON object on stdout.
// A failure prints its message on stderr and exits non-zero. Every wait
// has a deadline (args.wait_ms per wait, args.deadline_ms for the whole
// run). args.screenshot: a PNG path written at the end (and on failure).
//
// The page is found only through the contract's hooks (data-tt attributes
// and window.termtapeTest; see /work/web-contract.md and README).

import { chromium } from "playwright-core";

const [, , scenario, rawArgs] = process.argv;
const args = JSON.parse(rawArgs ?? "{}");
const WAIT = args.wait_ms ?? 20000;
const DEADLINE = args.deadline_ms ?? 60000;

function fail(message) {
  process.stderr.write(`driver: ${scenario}: ${message}\n`);
  process.exit(1);
}

// The whole run's deadline, whatever a wait does.
const watchdog = setTimeout(() => {
  process.stderr.write(`driver: ${scenario}: overran ${DEADLINE} ms\n`);
  process.exit(3);
}, DEADLINE);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- reading the page -------------------------------------------------

/// The player's data-drawn (a string, or null when never drawn).
async function drawn(page) {
  return page.$eval("[data-tt=player]", (p) => p.dataset.drawn ?? null);
}

/// The screen's visible rows through the page's own test hook, and the
/// same rows read from the DOM renderer, which must agree.
async function rows(page) {
  return page.evaluate(() => {
    const hook = window.termtapeTest.screenRows();
    const dom = [...document.querySelectorAll("[data-tt=screen] .xterm-rows > div")].map((d) =>
      d.textContent.replace(/\u00a0/g, " ").replace(/ +$/, ""),
    );
    return { hook, dom };
  });
}

/// Waits until the player has drawn a screen different from `before`
/// (undefined: any screen) and is not loading; returns position, state
/// and rows, and how long it took from `since` (performance.now() in the
/// page) to the change.
async function settled(page, before) {
  const handle = await page.waitForFunction(
    (before) => {
      const p = document.querySelector("[data-tt=player]");
      if (!p || p.dataset.state === "loading") return false;
      const d = p.dataset.drawn;
      if (d === undefined || d === "" || d === before) return false;
      return { drawn: d, state: p.dataset.state, now: performance.now() };
    },
    before,
    { timeout: WAIT, polling: "raf" },
  );
  const seen = await handle.jsonValue();
  const r = await rows(page);
  const position = await page
    .$eval("[data-tt=position]", (e) => e.textContent)
    .catch(() => null);
  return { drawn: Number(seen.drawn), state: seen.state, at_ms: seen.now, position, ...r };
}

/// Listed rows of the recordings view.
async function listed(page) {
  return page.$$eval("tr[data-tt=recording]", (trs) =>
    trs.map((tr) => {
      const cell = (n) => tr.querySelector(`[data-tt=${n}]`)?.textContent.trim() ?? null;
      return {
        source: tr.dataset.source,
        rec: tr.dataset.rec,
        user: cell("user"),
        host: cell("host"),
        start: cell("start"),
        duration: cell("duration"),
        live: cell("live"),
      };
    }),
  );
}

/// Waits until the list's status is no longer empty and returns it.
async function listStatus(page) {
  const status = page.locator("[data-tt=list-status]");
  await page.waitForFunction(
    () => /^\d/.test(document.querySelector("[data-tt=list-status]")?.textContent.trim() ?? ""),
    null,
    { timeout: WAIT },
  );
  return (await status.textContent()).trim();
}

// ---- scenarios ----------------------------------------------------------

/// Opens a URL and then (if given) navigates by hash, as a reviewer
/// following a link would.
async function open(page, url, hash) {
  const response = await page.goto(url, { timeout: WAIT });
  if (!response || response.status() !== 200)
    throw new Error(`${url} answered ${response?.status()}`);
  if (hash) await page.evaluate((h) => (location.hash = h), hash);
}

const scenarios = {
  /// The recordings view: its rows and status; then each filter of
  /// args.filters ({name: value}, applied in order) with the rows after.
  async list(page) {
    await open(page, args.url, "#/");
    await page.locator("[data-tt=list]").waitFor({ timeout: WAIT });
    const first = {
      status: await listStatus(page),
      rows: await listed(page),
      bars: await page.$$eval("rect[data-tt=bar]", (rs) =>
        rs.map((r) => ({ source: r.dataset.source, rec: r.dataset.rec, start: r.dataset.start, end: r.dataset.end })),
      ),
    };
    const filtered = [];
    for (const [name, value] of args.filters ?? []) {
      const before = await page.$eval("[data-tt=list-status]", (e) => e.textContent);
      const input = page.locator(`input[data-tt=filter-${name}]`);
      await input.fill(value, { timeout: WAIT });
      await input.press("Enter");
      // The list is filtered when its status changed, or (the same count)
      // once the page is idle again.
      await page
        .waitForFunction(
          (b) => document.querySelector("[data-tt=list-status]")?.textContent !== b,
          before,
          { timeout: args.filter_wait_ms ?? 5000 },
        )
        .catch(() => null);
      filtered.push({ filter: name, value, status: await listStatus(page), rows: await listed(page) });
    }
    return { ...first, filtered };
  },

  /// The recordings view once every row's verdict came: per row its
  /// recording and the verdict cell's data-verdict, text and title.
  async verdicts(page) {
    await open(page, args.url, "#/");
    await page.locator("[data-tt=list]").waitFor({ timeout: WAIT });
    await listStatus(page);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll("tr[data-tt=recording] [data-tt=row-verdict]")].every(
          (c) => c.dataset.verdict !== undefined,
        ),
      null,
      { timeout: WAIT },
    );
    const rows = await page.$$eval("tr[data-tt=recording]", (trs) =>
      trs.map((tr) => {
        const c = tr.querySelector("[data-tt=row-verdict]");
        return { source: tr.dataset.source, rec: tr.dataset.rec, verdict: c.dataset.verdict, shown: c.textContent, text: c.title };
      }),
    );
    return { rows };
  },

  /// Opens the player, waits for args.count items in its audit list and
  /// returns them (kind, n, at, text, title) with the markers; then clicks
  /// item args.click and returns the screen drawn.
  async audit(page) {
    await open(page, args.url, `#/play?source=${args.source}&rec=${encodeURIComponent(args.rec)}&at=0`);
    await page.locator("[data-tt=player]").waitFor({ timeout: WAIT });
    const first = await settled(page, undefined);
    await page.waitForFunction(
      (n) => document.querySelectorAll("[data-tt=audit] [data-tt=command], [data-tt=audit] [data-tt=file]").length >= n,
      args.count,
      { timeout: WAIT },
    );
    const items = await page.$$eval("[data-tt=audit] [data-tt=command], [data-tt=audit] [data-tt=file]", (lis) =>
      lis.map((li) => ({ kind: li.dataset.tt, n: Number(li.dataset.n), at: Number(li.dataset.at), text: li.textContent, title: li.title })),
    );
    const markers = await page.$$eval("[data-tt=marker][data-kind=command], [data-tt=marker][data-kind=file]", (ms) =>
      ms.map((m) => ({ kind: m.dataset.kind, at: Number(m.dataset.at), title: m.title })),
    );
    await page.locator("[data-tt=audit] [data-tt=command]").nth(args.click).click({ timeout: WAIT });
    const screen = await settled(page, String(first.drawn));
    const current = await page.$eval("[data-tt=audit] .tt-current", (li) => Number(li.dataset.n)).catch(() => null);
    const pwned = await page.evaluate((name) => window[name] ?? null, args.pwned ?? "ttPwned");
    return { items, markers, screen, current, pwned };
  },

  /// Opens a screenshot (`screen --format html|svg`, args.url a file: URL)
  /// and returns the global args.pwned (set if anything in it ran), and
  /// for HTML each row's boxes as laid out: left, width, text.
  async picture(page) {
    const response = await page.goto(args.url, { timeout: WAIT });
    if (!response || !response.ok()) throw new Error(`${args.url} answered ${response?.status()}`);
    const pwned = await page.evaluate((name) => window[name] ?? null, args.pwned ?? "ttPwned");
    const rows = await page.$$eval(".tt > div", (divs) =>
      divs.map((div) => {
        const origin = div.getBoundingClientRect().left;
        return [...div.querySelectorAll("span")].map((sp) => {
          const box = sp.getBoundingClientRect();
          return { left: box.left - origin, width: box.width, text: sp.textContent };
        });
      }),
    ).catch(() => []);
    const caption = await page.$eval("figcaption", (f) => f.textContent).catch(() => null);
    return { pwned, rows, caption, title: await page.title() };
  },

  /// Opens the list, clicks the row of args.rec and returns the player's
  /// first screen.
  async open(page) {
    await open(page, args.url, "#/");
    const row = page.locator(`tr[data-tt=recording][data-rec="${args.rec}"]`).first();
    await row.click({ timeout: WAIT });
    const screen = await settled(page, undefined);
    return { hash: await page.evaluate(() => location.hash), screen };
  },

  /// Opens the player at args.at (ms) and then does args.steps in order:
  /// {progress: FRACTION} clicks the progress bar there, {key: "ArrowLeft"}
  /// presses a key on the player, {clock: "YYYY-MM-DD HH:MM:SS"} types a
  /// wall-clock time; after each, the screen drawn and how long the page
  /// took from the action to data-drawn changing.
  async play(page) {
    await open(page, args.url, `#/play?source=${args.source}&rec=${encodeURIComponent(args.rec)}&at=${args.at ?? 0}`);
    await page.locator("[data-tt=player]").waitFor({ timeout: WAIT });
    const first = await settled(page, undefined);
    const steps = [];
    let before = String(first.drawn);
    for (const step of args.steps ?? []) {
      const t0 = await page.evaluate(() => performance.now());
      if (step.progress !== undefined) {
        const bar = page.locator("[data-tt=progress]");
        const box = await bar.boundingBox({ timeout: WAIT });
        await bar.click({ position: { x: box.width * step.progress, y: box.height / 2 }, timeout: WAIT });
      } else if (step.key !== undefined) {
        await page.locator("[data-tt=player]").focus();
        await page.keyboard.press(step.key);
      } else if (step.clock !== undefined) {
        const clock = page.locator("input[data-tt=clock]");
        await clock.fill(step.clock, { timeout: WAIT });
        await clock.press("Enter");
      } else throw new Error(`unknown step ${JSON.stringify(step)}`);
      const screen = await settled(page, before);
      steps.push({ step, ...screen, took_ms: screen.at_ms - t0 });
      before = String(screen.drawn);
    }
    const markers = await page.$$eval("[data-tt=marker]", (ms) =>
      ms.map((m) => ({ kind: m.dataset.kind, at: Number(m.dataset.at) })),
    );
    const message = await page.$eval("[data-tt=message]", (e) => e.textContent);
    // The hash chain's verdict, once the page has it.
    await page.locator("[data-tt=verdict][data-verdict]").waitFor({ timeout: WAIT });
    const verdict = await page.$eval("[data-tt=verdict]", (e) => ({
      verdict: e.dataset.verdict,
      shown: e.textContent,
      text: e.title,
    }));
    // The seals that checked out, marked once the verdict came.
    const checkpoints = await page.$$eval("[data-tt=marker][data-kind^=seal]", (ms) =>
      ms.map((m) => ({ kind: m.dataset.kind, at: Number(m.dataset.at), title: m.title })),
    );
    return { first, steps, markers, message, verdict, checkpoints };
  },

  /// Types args.q into the search box; returns the hits, then clicks hit
  /// args.click (index) and returns the player's screen and highlight.
  async search(page) {
    await open(page, args.url, "#/");
    const box = page.locator("input[data-tt=search]");
    await box.fill(args.q, { timeout: WAIT });
    await box.press("Enter");
    await page.locator("[data-tt=hit]").first().waitFor({ timeout: WAIT });
    const hits = await page.$$eval("[data-tt=hit]", (hs) =>
      hs.map((h) => ({ source: h.dataset.source, rec: h.dataset.rec, at: Number(h.dataset.at), text: h.textContent })),
    );
    if (args.click === undefined) return { hits };
    await page.locator("[data-tt=hit]").nth(args.click).click({ timeout: WAIT });
    const screen = await settled(page, undefined);
    const highlight = await page
      .locator("[data-tt=highlight]")
      .first()
      .waitFor({ timeout: WAIT })
      .then(() => page.$eval("[data-tt=highlight]", (h) => h.textContent ?? ""))
      .catch(() => null);
    return { hits, hash: await page.evaluate(() => location.hash), screen, highlight };
  },

  /// A live recording: opens the player (args.at ms or the default), waits
  /// for args.first on screen, then creates the file args.go (the recorded
  /// program waits for it) and waits for args.then to appear, sampling.
  async live(page) {
    const at = args.at === undefined ? "" : `&at=${args.at}`;
    await open(page, args.url, `#/play?source=${args.source}&rec=${encodeURIComponent(args.rec)}${at}`);
    const onScreen = (text) =>
      page.waitForFunction((t) => window.termtapeTest.screenRows().some((r) => r.includes(t)), text, {
        timeout: WAIT,
      });
    await onScreen(args.first);
    const liveBefore = await page.locator("[data-tt=player] [data-tt=live]").count();
    const before = (await rows(page)).hook;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(args.go, "go\n");
    await onScreen(args.then);
    return { live_shown: liveBefore > 0, before, after: (await rows(page)).hook };
  },

  /// The logs pane: its entries; then clicks entry args.click and returns
  /// where the player went.
  async logs(page) {
    await open(page, args.url, `#/play?source=${args.source}&rec=${encodeURIComponent(args.rec)}&at=0`);
    const first = await settled(page, undefined);
    await page.locator("[data-tt=logs] [data-tt=log]").first().waitFor({ timeout: WAIT });
    const entries = await page.$$eval("[data-tt=logs] [data-tt=log]", (ls) =>
      ls.map((l) => ({ at: Number(l.dataset.at), text: l.textContent })),
    );
    if (args.click === undefined) return { first, entries };
    await page.locator("[data-tt=logs] [data-tt=log]").nth(args.click).click({ timeout: WAIT });
    const screen = await settled(page, String(first.drawn));
    return { first, entries, screen };
  },

  /// A hostile recording: puts a sentinel on the clipboard, opens the
  /// player at args.at, and reports whether anything the recording holds
  /// acted: a global its script would set, the title, the clipboard, new
  /// script elements, dialogs.
  async hostile(page) {
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    const dialogs = [];
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.goto(args.url, { timeout: WAIT });
    const title = await page.title();
    const scripts = await page.$$eval("script", (s) => s.length);
    await page.evaluate(() => navigator.clipboard.writeText("termtape-sentinel"));
    await page.evaluate((h) => (location.hash = h), `#/play?source=${args.source}&rec=${encodeURIComponent(args.rec)}&at=${args.at}`);
    const screen = await settled(page, undefined);
    // A reviewer clicks what looks like a link (args.link_row: the row of
    // a recorded OSC 8 hyperlink), hovering first as a mouse does.
    const opened = [];
    page.context().on("page", (p) => opened.push(p.url()));
    if (args.link_row !== undefined) {
      const row = page.locator("[data-tt=screen] .xterm-rows > div").nth(args.link_row);
      const box = await row.boundingBox({ timeout: WAIT });
      await page.mouse.move(box.x + 8, box.y + box.height / 2);
      await sleep(100);
      await page.mouse.click(box.x + 8, box.y + box.height / 2);
    }
    // Give anything asynchronous the recording might have started a moment.
    await sleep(500);
    return {
      opened,
      screen,
      global: await page.evaluate((name) => typeof window[name], args.global),
      title_before: title,
      title_after: await page.title(),
      clipboard: await page.evaluate(() => navigator.clipboard.readText()),
      scripts_before: scripts,
      scripts_after: await page.$$eval("script", (s) => s.length),
      dialogs,
    };
  },

  /// The status each of args.urls answers when the browser opens it.
  async status(page) {
    const out = [];
    for (const url of args.urls) {
      const response = await page.goto(url, { timeout: WAIT }).catch((e) => ({ error: String(e) }));
      out.push({ url, status: response?.status?.() ?? null, error: response?.error ?? null });
    }
    return { answers: out };
  },

  /// Runs args.expr (a function body) in the page at args.url once
  /// args.wait (a selector) is there: for trying the harness on any page.
  async evaluate(page) {
    await page.goto(args.url, { timeout: WAIT });
    if (args.wait) await page.locator(args.wait).first().waitFor({ timeout: WAIT });
    const value = await page.evaluate(new Function(args.expr));
    return { value, title: await page.title() };
  },
};

// ---- main -----------------------------------------------------------------

if (!scenarios[scenario]) fail(`no scenario ${JSON.stringify(scenario)} (have: ${Object.keys(scenarios).join(", ")})`);
if (!args.cdp) fail("args.cdp (the browser's CDP endpoint) is missing");

let browser;
let page;
const errors = [];
try {
  browser = await chromium.connectOverCDP(args.cdp, { timeout: WAIT });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Cockpit's page keeps the reviewer's sources in its local storage:
  // a reviewer who chose these before.
  if (args.sources)
    await context.addInitScript((names) => {
      try {
        if (window.localStorage.getItem("termtape.sources") === null)
          window.localStorage.setItem("termtape.sources", JSON.stringify(names));
      } catch {
        // about:blank has no storage.
      }
    }, args.sources);
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => errors.push(String(e)));
  const started = Date.now();
  const result = await scenarios[scenario](page);
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  process.stdout.write(JSON.stringify({ ...result, page_errors: errors, run_ms: Date.now() - started }) + "\n");
  await context.close();
  await browser.close();
  clearTimeout(watchdog);
} catch (e) {
  if (page && args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true }).catch(() => {});
  fail(`${e?.stack ?? e}${errors.length ? `\npage errors: ${errors.join("\n")}` : ""}`);
}

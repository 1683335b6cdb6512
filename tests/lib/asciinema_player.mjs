// Loads a segmented recording in the real asciinema-player (npm), in the
// browser the test started, seeks and reads the screen back: for
// tests/export.rs.
//
//   node tests/lib/asciinema_player.mjs 'JSON-ARGS'
//
// args: web (termtape's web/ directory, whose node_modules holds
// playwright-core), cdp (the browser's CDP endpoint), url (a page that
// makes window.player), seek (seconds), settle_ms. Prints one JSON object:
// the screen's rows, the paths fetched before and after the seek, the
// player's time, and the page's errors.

import { createRequire } from "node:module";

const args = JSON.parse(process.argv[2]);
const { chromium } = createRequire(`${args.web}/package.json`)("playwright-core");
const browser = await chromium.connectOverCDP(args.cdp);
const context = await browser.newContext();
const page = await context.newPage();
const requests = [];
page.on("request", (r) => requests.push(new URL(r.url()).pathname));
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
// The player fetches the index when it loads (preload), before the seek.
const index = page.waitForResponse((r) => r.url().endsWith("/index.json"), { timeout: 20000 });
await page.goto(args.url);
await index;
await page.waitForFunction(() => window.player !== undefined, null, { timeout: 20000 });
// Ready when the player knows the recording's duration (it has read the
// index): a fixed wait alone seeks too early on a busy machine.
for (let waited = 0; waited < 20000; waited += 100) {
  const duration = await page.evaluate(async () => await window.player.getDuration());
  if (typeof duration === "number" && duration > 0) break;
  await page.waitForTimeout(100);
}
await page.waitForTimeout(args.settle_ms ?? 1000);
const before = requests.slice();
await page.evaluate(async (t) => {
  await window.player.seek(t);
}, args.seek);
const read = () =>
  page.$$eval("pre.ap-term-text .ap-line", (lines) =>
    lines.map((l) => l.textContent.replace(/\u00a0/g, " ").replace(/ +$/, "")),
  );
// The screen after the seek: once it has stayed the same for three looks
// 300 ms apart (at most 20 s).
let rows = await read();
for (let same = 0, waited = 0; same < 3 && waited < 20000; waited += 300) {
  await page.waitForTimeout(300);
  const now = await read();
  same = JSON.stringify(now) === JSON.stringify(rows) ? same + 1 : 0;
  rows = now;
}
const time = await page.evaluate(() => window.player.getCurrentTime());
console.log(JSON.stringify({ rows, before, after: requests.slice(before.length), time, errors }));
await context.close();
await browser.close();

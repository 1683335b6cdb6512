// The recordings view's first paint on a big source, measured in the page
// (benches/web_list.sh starts the server and the browser):
//
//   node benches/web/list.mjs '{"cdp": "...", "url": "...", "runs": 3}'
//
// Each run loads the page in a fresh context and reports the time from the
// navigation's start to the first recording row painted (a MutationObserver
// installed before the page's own script, then the next animation frame),
// the list's status line, the number of timeline bars, and the JS heap.

const { chromium } = await import(new URL('../../web/node_modules/playwright-core/index.mjs', import.meta.url));

const args = JSON.parse(process.argv[2]);
const browser = await chromium.connectOverCDP(args.cdp);
const runs = [];
for (let run = 0; run < (args.runs ?? 3); run += 1) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(() => {
    window.__firstRow = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (document.querySelector('[data-tt=recording]')) {
          observer.disconnect();
          requestAnimationFrame(() => resolve(performance.now()));
        }
      });
      observer.observe(document, { childList: true, subtree: true });
    });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(args.url);
  const firstPaint = await page.evaluate(() => window.__firstRow);
  const status = await page.$eval('[data-tt=list-status]', (e) => e.textContent);
  const bars = await page.$$eval('rect[data-tt=bar]', (b) => b.length);
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heap = metrics.find((m) => m.name === 'JSHeapUsedSize').value / 1e6;
  runs.push({ first_paint_ms: firstPaint, status, bars, heap_mb: heap });
  if (args.screenshot && run === 0) await page.screenshot({ path: args.screenshot });
  await context.close();
}
const sorted = runs.map((r) => r.first_paint_ms).sort((a, b) => a - b);
console.log(JSON.stringify({ median_first_paint_ms: sorted[Math.floor((sorted.length - 1) / 2)], runs }, null, 1));
await browser.close();

// Opens a moneytrail HTML report in headless Chromium (playwright-core, pinned in package.json)
// and prints one JSON line about it: console errors, page errors, every request other than the
// file itself (or data:), whether injected label text ran as script or shows as text, a wheel
// zoom, a drag pan and a hover tooltip in the graph view. Takes a full-page screenshot.
//
//     node tests/browser/check_report.js REPORT.html SHOT.png USER_DATA_DIR
//
// Exit 0 with the JSON line; exit 3 (JSON {"launch_error"}) when Chromium cannot start.
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', '..', 'node_modules', 'playwright-core'));

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

(async () => {
  const [file, png, userData] = process.argv.slice(2);
  if (!file || !png || !userData) {
    throw new Error('usage: check_report.js REPORT.html SHOT.png USER_DATA_DIR');
  }
  const url = 'file://' + path.resolve(file);
  const out = { console_errors: [], page_errors: [], requests: [] };
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(userData, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (e) {
    console.log(JSON.stringify({ launch_error: String((e && e.message) || e) }));
    process.exit(3);
  }
  ctx.on('request', (r) => {
    const u = r.url();
    if (u !== url && !u.startsWith('data:')) { out.requests.push(u); }
  });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') { out.console_errors.push(m.text()); } });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(200);

  out.title = await page.title();
  out.pwned_undefined = await page.evaluate(() => window.__pwned === undefined);
  const text = await page.evaluate(() => document.body.innerText);
  out.literal_shown = text.includes('<script>window.__pwned=1</script>');
  out.injected_elements = await page.evaluate(() =>
    document.querySelectorAll('img, iframe, object, embed').length);
  out.sections = await page.evaluate(() =>
    Array.from(document.querySelectorAll('section[id]')).map((s) => s.id));
  out.svg_count = await page.evaluate(() => document.querySelectorAll('svg').length);
  out.graph_nodes = await page.evaluate(() => document.querySelectorAll('#mt-graph g.n').length);

  // zoom: a wheel event over the graph changes the viewBox
  const svg = page.locator('#mt-graph');
  await svg.scrollIntoViewIfNeeded();
  const box = await svg.boundingBox();
  out.viewbox_initial = await svg.getAttribute('viewBox');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(150);
  out.viewbox_after_wheel = await svg.getAttribute('viewBox');
  // pan: a drag moves it
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40, { steps: 4 });
  await page.mouse.up();
  out.viewbox_after_drag = await svg.getAttribute('viewBox');
  // the zoom-in button
  await page.click('#mt-zoom-reset');
  await page.click('#mt-zoom-in');
  out.viewbox_after_button = await svg.getAttribute('viewBox');
  await page.click('#mt-zoom-reset');

  // hover: mouseover on the node whose entity is the injected label shows it in the tooltip
  out.tooltip = await page.evaluate(() => {
    const data = JSON.parse(document.getElementById('mt-graph-data').textContent);
    let i = data.nodes.findIndex((n) => n.entity.includes('__pwned'));
    if (i < 0) { i = 0; }
    const g = document.querySelector('#mt-graph g.n[data-i="' + i + '"]');
    const r = g.getBoundingClientRect();
    g.querySelector('circle').dispatchEvent(new MouseEvent('mouseover', {
      bubbles: true, clientX: r.left + 2, clientY: r.top + 2,
    }));
    const tip = document.getElementById('mt-tip');
    return { index: i, text: tip.textContent, display: getComputedStyle(tip).display };
  });
  out.pwned_after_hover = await page.evaluate(() => window.__pwned === undefined);
  await page.screenshot({ path: png, fullPage: true });
  console.log(JSON.stringify(out));
  await ctx.close();
})().catch((e) => {
  console.log(JSON.stringify({ error: String((e && e.stack) || e) }));
  process.exit(1);
});

// The calendar in a real headless Chromium: two staff members on one
// branch, each in their own browser context, against a real server.
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_KEY=bk_… node calendar.mjs [--bench]
//
// Run by the Rust test tests/api/calendar.rs, which starts the server on
// PostgreSQL. Every check fails the run (exit 1) with what it saw; a
// screenshot of each page is saved on failure and of each view at the end
// under SCREENSHOTS (default target/screenshots). Timings are printed, not
// asserted, except the one the issue names: B sees A's booking within 1 s.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const BASE = process.env.BASE_URL;
const ADMIN = process.env.ADMIN_KEY;
const SHOTS = process.env.SCREENSHOTS || new URL('../../target/screenshots/', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BENCH = process.argv.includes('--bench') || process.env.BENCH === '1';
if (!BASE || !ADMIN) {
  console.error('set BASE_URL and ADMIN_KEY (the Rust test tests/api/calendar.rs does)');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

// ---- the API, for setting up and for checking what the browser did ------

async function api(method, path, key, body, headers = {}) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return json;
}

const DATE = '2031-03-10'; // a Monday; Madrid is UTC+1 (summer time starts on the 30th)
const at = (hhmm) => `${DATE}T${String(Number(hhmm.slice(0, 2)) - 1).padStart(2, '0')}:${hhmm.slice(3)}:00Z`;
const weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const hours = (from, to) => Object.fromEntries(weekdays.map((d) => [d, [[from, to]]]));

async function clinic() {
  const branch = (await api('POST', '/v1/branches', ADMIN, { name: 'Madrid', time_zone: 'Europe/Madrid' })).id;
  const dentist = (await api('POST', '/v1/resources', ADMIN, { name: 'Dr. Vega', kind: 'staff' })).id;
  const chair = (await api('POST', '/v1/resources', ADMIN, { name: 'Chair 1', kind: 'room' })).id;
  for (const r of [dentist, chair]) {
    await api('PUT', `/v1/resources/${r}/branches/${branch}`, ADMIN, { working_hours: hours('09:00', '18:00') });
  }
  const service = (await api('POST', '/v1/services', ADMIN, {
    name: 'Cleaning', duration_minutes: 30, price: { amount_minor: 6000, currency: 'EUR' },
  })).id;
  const product = (await api('POST', '/v1/products', ADMIN, { name: 'Kit', price: { amount_minor: 2500, currency: 'EUR' } })).id;
  await api('PUT', `/v1/products/${product}/branches/${branch}`, ADMIN, { stock: 10 });
  const staff = async (actor) => (await api('POST', '/v1/keys', ADMIN, { role: 'staff', actor })).api_key;
  return { branch, dentist, chair, service, product, keyA: await staff('front desk A'), keyB: await staff('front desk B') };
}

/** Active reservations of a branch on DATE, and no two of one resource overlapping. */
async function activeOn(c) {
  const page = await api('GET', `/v1/reservations?branch_id=${c.branch}&from=${DATE}T00:00:00Z&to=${DATE}T23:59:00Z&limit=500`, ADMIN);
  const active = page.items.filter((r) => ['held', 'confirmed', 'completed'].includes(r.status));
  for (const a of active) {
    for (const b of active) {
      if (a.id < b.id && a.resource_id === b.resource_id && a.starts_at < b.ends_at && b.starts_at < a.ends_at) {
        throw new Error(`double booking: ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
      }
    }
  }
  return active;
}

// ---- a tiny runner --------------------------------------------------------

const results = [];
let pages = [];
async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack || e}`);
    for (const [i, p] of pages.entries()) {
      await p.screenshot({ path: `${SHOTS}/failed-${name.replace(/\W+/g, '-')}-${i}.png` }).catch(() => {});
    }
  }
}
function check(cond, message) { if (!cond) throw new Error(message); }

// ---- the page -------------------------------------------------------------

const CAL = 'booking-calendar';
const slot = (resource, start) => `${CAL} button[data-slot-start="${start}"][data-resource-id="${resource}"]`;
const blockAt = (resource, start) => `${CAL} [data-reservation-id][data-resource-id="${resource}"][data-starts-at="${start}"]`;

async function openCalendar(browser, c, key, { width = 1280, height = 800, view = 'day', gate = null } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`  page error (${width}px): ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  console error: ${m.text()}`); });
  if (gate) {
    // A stream that can be held back: the page's messages wait while
    // `gate.closed`, as if the network were slow.
    await page.routeWebSocket(/\/v1\/stream/, (ws) => {
      const server = ws.connectToServer();
      server.onMessage((m) => { if (gate.closed) gate.queue.push(m); else ws.send(m); });
      gate.flush = () => { gate.closed = false; for (const m of gate.queue.splice(0)) ws.send(m); };
    });
  }
  await page.goto(`${BASE}/#branch=${c.branch}&date=${DATE}&view=${view}`);
  await page.fill('#key', key);
  await page.click('#connect button[type=submit]');
  await page.waitForSelector(`${CAL}[data-connection="live"]`, { timeout: 10000 });
  await page.waitForSelector(`${CAL} [role="grid"]`);
  pages.push(page);
  return { context, page };
}

async function alertText(page) {
  return page.locator(`${CAL} [role="alert"]`).allTextContents().then((t) => t.join(' ').trim());
}

// ---- the scenarios --------------------------------------------------------

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const c = await clinic();
const gate = { closed: false, queue: [], flush: () => {} };
const A = await openCalendar(browser, c, c.keyA);
const B = await openCalendar(browser, c, c.keyB, { gate });
const a = A.page;
const b = B.page;

await test('the grid is an ARIA grid with one tab stop, labelled in the branch zone', async () => {
  check(await a.locator(`${CAL} [role="grid"]`).count() === 1, 'one grid');
  const stops = await a.locator(`${CAL} [role="grid"] [tabindex="0"]`).count();
  check(stops === 1, `roving tabindex: one tab stop, saw ${stops}`);
  const label = await a.locator(`${CAL} .tz`).textContent();
  check(label.includes('Europe/Madrid'), `zone label: ${label}`);
  // 09:00 Madrid is 08:00 UTC in March: the first slot of each resource.
  check(await a.locator(slot(c.dentist, at('09:00'))).count() === 1, 'a slot at 09:00 local');
  check(await a.locator(slot(c.dentist, at('08:45'))).count() === 0, 'none before the hours');
});

let first;
await test('A books 14:00 through the form; B sees the block within 1 s, and the slot is gone', async () => {
  await a.click(slot(c.dentist, at('14:00')));
  await a.waitForSelector(`${CAL} [data-action="confirm"]`);
  await b.waitForSelector(blockAt(c.dentist, at('14:00')), { timeout: 1000 }); // the hold, pushed
  const [response] = await Promise.all([
    a.waitForResponse((r) => r.url().includes('/confirm') && r.request().method() === 'POST'),
    a.click(`${CAL} [data-action="confirm"]`),
  ]);
  check(response.status() === 200, `confirm answered ${response.status()}`);
  first = (await response.json()).id;
  const t0 = Date.now();
  await b.waitForSelector(`${CAL} [data-reservation-id="${first}"][data-status="confirmed"]`, { timeout: 1000 });
  console.log(`  B saw the confirmed booking ${Date.now() - t0} ms after A's answer`);
  await b.waitForSelector(slot(c.dentist, at('14:00')), { state: 'detached', timeout: 1000 });
  check(await a.locator(`${CAL} [data-reservation-id="${first}"][data-status="confirmed"]`).count() === 1, 'A shows it confirmed');
});

await test('B clicks the slot A is holding: the reason is shown, nothing is double-booked', async () => {
  await b.evaluate((sel) => document.querySelector(sel).settled(), CAL);
  gate.closed = true; // B's stream lags: its grid still offers 10:00
  try {
    await a.click(slot(c.dentist, at('10:00')));
  await a.waitForSelector(`${CAL} [data-action="confirm"]`);
  await b.click(slot(c.dentist, at('10:00')));
  await b.waitForFunction((sel) => {
    const alert = document.querySelector(sel)?.shadowRoot.querySelector('[role="alert"]');
    return alert && alert.textContent.includes('Slot taken');
  }, CAL, { timeout: 3000 });
  const text = await alertText(b);
  check(/Slot taken 10:00–10:[34]0 by another booking/.test(text), `B's message: ${text}`);
  } finally {
    gate.flush();
  }
  // The grid corrects itself: the slot is gone, A's hold is shown.
  await b.waitForSelector(slot(c.dentist, at('10:00')), { state: 'detached', timeout: 2000 });
  await b.waitForSelector(`${blockAt(c.dentist, at('10:00'))}[data-status="held"]`, { timeout: 2000 });
  const active = await activeOn(c);
  check(active.filter((r) => r.starts_at === at('10:00')).length === 1, 'one reservation at 10:00');
  // A confirms with a product and a note: the booking carries them, stock is taken.
  await a.fill(`${CAL} input[data-product-id="${c.product}"]`, '2');
  await a.fill(`${CAL} textarea[name="note"]`, 'sensitive gums');
  await a.click(`${CAL} [data-action="confirm"]`);
  await b.waitForSelector(`${blockAt(c.dentist, at('10:00'))}[data-status="confirmed"]`, { timeout: 2000 });
  const blockText = await b.locator(blockAt(c.dentist, at('10:00'))).textContent();
  check(blockText.includes('2× Kit') && blockText.includes('sensitive gums'), `B's block: ${blockText}`);
  const offer = await api('GET', `/v1/branches/${c.branch}/catalog`, ADMIN);
  check(offer.products[0].stock === 8, `stock after 2 kits: ${offer.products[0].stock}`);
});

await test('cancelling the form releases the hold', async () => {
  await a.click(slot(c.chair, at('11:00')));
  await b.waitForSelector(blockAt(c.chair, at('11:00')), { timeout: 1000 });
  await a.click(`${CAL} [data-action="cancel"]`);
  await b.waitForSelector(blockAt(c.chair, at('11:00')), { state: 'detached', timeout: 1000 });
  await b.waitForSelector(slot(c.chair, at('11:00')), { timeout: 2000 });
  check((await activeOn(c)).every((r) => r.starts_at !== at('11:00')), 'the hold is released');
});

await test('A drags the 14:00 booking to 15:00; B sees it move', async () => {
  const block = a.locator(`${CAL} [data-reservation-id="${first}"]`);
  const box = await block.boundingBox();
  await a.mouse.move(box.x + box.width / 2, box.y + 5);
  await a.mouse.down();
  for (let i = 1; i <= 6; i++) await a.mouse.move(box.x + box.width / 2, box.y + 5 + i * 12); // 6 × 12 px = 60 min
  await a.mouse.up();
  await b.waitForSelector(`${CAL} [data-reservation-id="${first}"][data-starts-at="${at('15:00')}"]`, { timeout: 2000 });
  await a.waitForSelector(`${CAL} [data-reservation-id="${first}"][data-starts-at="${at('15:00')}"]:not(.pending)`);
  const moved = await api('GET', `/v1/reservations/${first}`, ADMIN);
  check(moved.starts_at === at('15:00') && moved.version === 3, `moved: ${moved.starts_at} v${moved.version}`);
});

await test('the same move by keyboard: Enter, arrows, Enter; Escape puts it back', async () => {
  const sel = `${CAL} [data-reservation-id="${first}"]`;
  await a.focus(sel);
  await a.keyboard.press('Enter');
  await a.keyboard.press('ArrowDown');
  await a.keyboard.press('Escape');
  check(await a.locator(sel).getAttribute('data-starts-at') === at('15:00'), 'Escape keeps it');
  await a.focus(sel);
  await a.keyboard.press('Enter');
  for (let i = 0; i < 4; i++) await a.keyboard.press('ArrowDown'); // 4 × 15 min
  await a.keyboard.press('ArrowRight'); // to the chair
  await a.keyboard.press('Enter');
  await b.waitForSelector(`${CAL} [data-reservation-id="${first}"][data-resource-id="${c.chair}"][data-starts-at="${at('16:00')}"]`, { timeout: 2000 });
  const focused = await a.evaluate((s) => document.querySelector(s).shadowRoot.activeElement?.dataset.reservationId, CAL);
  check(focused === first, 'focus stays on the moved block');
});

await test('a refused move says why and snaps back', async () => {
  // Book the dentist 12:00 through the API, then drag... by keyboard, the 10:00 booking onto it.
  const other = await api('POST', '/v1/reservations', c.keyB, {
    branch_id: c.branch, resource_id: c.dentist, starts_at: at('12:00'), ends_at: at('12:30'),
  });
  await a.waitForSelector(`${CAL} [data-reservation-id="${other.id}"]`, { timeout: 2000 });
  const sel = blockAt(c.dentist, at('10:00'));
  await a.focus(sel);
  await a.keyboard.press('Enter');
  for (let i = 0; i < 8; i++) await a.keyboard.press('ArrowDown');
  await a.keyboard.press('Enter');
  await a.waitForFunction((s) => document.querySelector(s).shadowRoot.querySelector('[role="alert"]').textContent.includes('Slot taken 12:00–12:30'), CAL, { timeout: 3000 });
  await a.waitForSelector(blockAt(c.dentist, at('10:00')), { timeout: 2000 });
  await activeOn(c);
});

await test('cancel and complete from the block', async () => {
  const other = (await activeOn(c)).find((r) => r.starts_at === at('12:00'));
  await a.click(`${CAL} [data-reservation-id="${other.id}"]`);
  await a.click(`${CAL} [data-action="cancel-booking"]`);
  await b.waitForSelector(`${CAL} [data-reservation-id="${other.id}"]`, { state: 'detached', timeout: 2000 });
  await a.click(`${CAL} [data-reservation-id="${first}"]`);
  await a.click(`${CAL} [data-action="complete"]`);
  await b.waitForSelector(`${CAL} [data-reservation-id="${first}"][data-status="completed"]`, { timeout: 2000 });
});

await test("B's stream is cut while A books twice: B catches up, reconnecting → live", async () => {
  const states = [];
  await b.exposeFunction('recordState', (s) => states.push(s)).catch(() => {});
  await b.evaluate((sel) => {
    const el = document.querySelector(sel);
    new MutationObserver(() => window.recordState(el.dataset.connection)).observe(el, { attributes: true, attributeFilter: ['data-connection'] });
  }, CAL);
  await B.context.setOffline(true);
  await b.waitForSelector(`${CAL}[data-connection="reconnecting"]`, { timeout: 3000 });
  const made = [];
  for (const start of ['16:00', '17:00']) {
    await a.click(slot(c.dentist, at(start)));
    const [response] = await Promise.all([
      a.waitForResponse((r) => r.url().includes('/confirm')),
      a.click(`${CAL} [data-action="confirm"]`),
    ]);
    made.push((await response.json()).id);
  }
  await b.waitForTimeout(300);
  check(await b.locator(`${CAL} [data-reservation-id="${made[0]}"]`).count() === 0, 'nothing arrives while offline');
  await B.context.setOffline(false);
  await b.waitForSelector(`${CAL}[data-connection="live"]`, { timeout: 15000 });
  for (const id of made) await b.waitForSelector(`${CAL} [data-reservation-id="${id}"][data-status="confirmed"]`, { timeout: 3000 });
  check(states.includes('reconnecting') && states[states.length - 1] === 'live', `states: ${states}`);
});

await test('hours changed through the API: both grids refresh', async () => {
  check(await a.locator(slot(c.chair, at('13:00'))).count() === 1, 'the chair is free at 13:00');
  await api('PUT', `/v1/resources/${c.chair}/branches/${c.branch}`, ADMIN, { working_hours: hours('09:00', '12:00') });
  for (const p of [a, b]) {
    await p.waitForSelector(slot(c.chair, at('13:00')), { state: 'detached', timeout: 3000 });
    check(await p.locator(slot(c.chair, at('11:00'))).count() === 1, 'morning slots stay');
  }
});

await test('a form left open until the hold runs out lets it go and says so', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.clock.install(); // the page's clock, which the test can move on
  const page = await context.newPage();
  await page.goto(`${BASE}/#branch=${c.branch}&date=${DATE}&view=day`);
  await page.fill('#key', c.keyA);
  await page.click('#connect button[type=submit]');
  await page.waitForSelector(`${CAL}[data-connection="live"]`, { timeout: 10000 });
  await page.click(slot(c.chair, at('10:00')));
  await page.waitForSelector(`${CAL} [data-action="confirm"]`);
  await b.waitForSelector(`${blockAt(c.chair, at('10:00'))}[data-status="held"]`, { timeout: 2000 });
  await page.clock.fastForward('05:01'); // the tenant's 5 minutes
  await page.waitForSelector(`${CAL} [data-action="confirm"]`, { state: 'detached', timeout: 3000 });
  const text = await alertText(page);
  check(text.includes('The hold ran out'), `the message: ${text}`);
  await b.waitForSelector(blockAt(c.chair, at('10:00')), { state: 'detached', timeout: 3000 });
  await context.close();
});

await test('closing the tab with the form open lets the hold go at once', async () => {
  const C = await openCalendar(browser, c, c.keyA);
  await C.page.click(slot(c.chair, at('09:00')));
  await C.page.waitForSelector(`${CAL} [data-action="confirm"]`);
  await b.waitForSelector(`${blockAt(c.chair, at('09:00'))}[data-status="held"]`, { timeout: 2000 });
  pages = pages.filter((p) => p !== C.page);
  await C.page.close({ runBeforeUnload: true });
  await b.waitForSelector(blockAt(c.chair, at('09:00')), { state: 'detached', timeout: 3000 });
  await b.waitForSelector(slot(c.chair, at('09:00')), { timeout: 3000 });
  await C.context.close();
});

await test('screenshots: day and week, wide and narrow; narrow shows one resource with a picker', async () => {
  for (const [view, width, height] of [['day', 1280, 800], ['week', 1280, 800], ['day', 390, 844], ['week', 390, 844]]) {
    const { context, page } = await openCalendar(browser, c, c.keyA, { width, height, view });
    await page.waitForTimeout(300);
    const columns = await page.locator(`${CAL} [role="gridcell"]`).count();
    const expected = (view === 'week' ? 7 : 1) * (width < 700 ? 1 : 2);
    check(columns === expected, `${view} ${width}px: ${columns} columns, expected ${expected}`);
    if (width < 700) {
      const picker = page.locator(`${CAL} select[aria-label="Resource"]`);
      check(await picker.count() === 1, 'a resource picker when narrow');
      await picker.selectOption(c.chair);
      await page.waitForSelector(`${CAL} [role="gridcell"][data-resource-id="${c.chair}"]`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${view} ${width}px: the page scrolls sideways by ${overflow}px`);
    // Columns past the edge are shaded on that side, and only then.
    const frame = page.locator(`${CAL} .frame`);
    const more = async () => (await frame.getAttribute('data-more')) ?? '';
    const wider = await page.locator(`${CAL} .scroller`).evaluate((s) => s.scrollWidth > s.clientWidth + 1);
    check((await more()) === (wider ? 'right' : ''), `${view} ${width}px: data-more "${await more()}", wider ${wider}`);
    await page.screenshot({ path: `${SHOTS}/calendar-${view}-${width < 700 ? 'narrow' : 'wide'}.png` });
    if (wider) {
      await page.locator(`${CAL} .scroller`).evaluate((s) => { s.scrollLeft = s.scrollWidth; });
      await page.waitForFunction(
        (sel) => document.querySelector(sel)?.shadowRoot?.querySelector('.frame')?.dataset.more === 'left',
        CAL, { timeout: 2000 });
      // The times stay at the left edge however far the columns scroll.
      const times = await page.locator(`${CAL} .scroller`).evaluate((s) => {
        const t = s.querySelector('.times');
        return t ? Math.round(t.getBoundingClientRect().left - s.getBoundingClientRect().left) : null;
      });
      check(times !== null && Math.abs(times) <= 2, `${view} ${width}px scrolled to the end: the times column is ${times}px from the left edge`);
      await page.screenshot({ path: `${SHOTS}/calendar-${view}-${width < 700 ? 'narrow' : 'wide'}-end.png` });
    }
    pages = pages.filter((p) => p !== page);
    await context.close();
  }
});

// ---- embedded in another site's page -------------------------------------

function embedder(port, key, branch) {
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>Clinic intranet</title></head>
<body><h1>Clinic intranet</h1>
<booking-calendar branch-id="${branch}" date="${DATE}" view="day" base-url="${BASE}"></booking-calendar>
<script type="module">
  import '${BASE}/ui/booking-calendar.js';
  const calendar = document.querySelector('booking-calendar');
  window.seen = [];
  for (const name of ['hold-placed', 'booking-created', 'error']) {
    calendar.addEventListener(name, (e) => window.seen.push(name));
  }
  calendar.apiKey = '${key}';
</script></body></html>`;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.env.EMBED_PORT) {
  await test('embedded in a page on an allowed origin: live, and books through its form', async () => {
    const server = await embedder(Number(process.env.EMBED_PORT), c.keyA, c.branch);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    pages.push(page);
    try {
      await page.goto(`http://127.0.0.1:${process.env.EMBED_PORT}/`);
      await page.waitForSelector(`${CAL}[data-connection="live"]`, { timeout: 10000 });
      await page.click(slot(c.dentist, at('13:00')));
      await page.click(`${CAL} [data-action="confirm"]`);
      await page.waitForSelector(`${blockAt(c.dentist, at('13:00'))}[data-status="confirmed"]`, { timeout: 3000 });
      await b.waitForSelector(`${blockAt(c.dentist, at('13:00'))}[data-status="confirmed"]`, { timeout: 2000 });
      const seen = await page.evaluate(() => window.seen);
      check(seen.join() === 'hold-placed,booking-created', `events for the host page: ${seen}`);
    } finally {
      pages = pages.filter((p) => p !== page);
      await context.close();
      server.close();
    }
  });

  await test('embedded on an origin that is not allowed: the browser refuses to load it', async () => {
    const server = await embedder(0, c.keyA, c.branch);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      await page.waitForTimeout(1500);
      const defined = await page.evaluate(() => !!customElements.get('booking-calendar'));
      check(!defined, 'the module must not load cross-origin without permission');
    } finally {
      await context.close();
      server.close();
    }
  });
}

await test('nothing was double-booked, and every block matches the server', async () => {
  const active = await activeOn(c);
  for (const p of [a, b]) {
    const shown = await p.evaluate((sel) => [...document.querySelector(sel).shadowRoot.querySelectorAll('[data-reservation-id]')]
      .map((n) => `${n.dataset.reservationId} ${n.dataset.resourceId} ${n.dataset.startsAt} ${n.dataset.status}`).sort(), CAL);
    const truth = active.map((r) => `${r.id} ${r.resource_id} ${r.starts_at} ${r.status}`).sort();
    check(JSON.stringify(shown) === JSON.stringify(truth), `shown ${JSON.stringify(shown)}\nserver ${JSON.stringify(truth)}`);
  }
});

// ---- the render benchmark: week view, 20 resources, 1,000 reservations -----

async function bench() {
  const branch = (await api('POST', '/v1/branches', ADMIN, { name: 'Bench', time_zone: 'Europe/Madrid' })).id;
  const resources = [];
  for (let i = 0; i < 20; i++) {
    const id = (await api('POST', '/v1/resources', ADMIN, { name: `Chair ${i + 1}`, kind: 'room' })).id;
    await api('PUT', `/v1/resources/${id}/branches/${branch}`, ADMIN, { working_hours: hours('08:00', '20:00') });
    resources.push(id);
  }
  // 1,000 bookings over the week of DATE: 50 per resource, 7 or 8 a day, 30 minutes each.
  const jobs = [];
  for (let n = 0; n < 1000; n++) {
    const r = resources[n % 20];
    const k = Math.floor(n / 20); // 0..49
    const day = k % 7;
    const slotOfDay = Math.floor(k / 7); // 0..7
    const start = Date.parse(`${DATE}T07:00:00Z`) + day * 86400000 + slotOfDay * 90 * 60000;
    jobs.push({ branch_id: branch, resource_id: r, starts_at: new Date(start).toISOString(), ends_at: new Date(start + 30 * 60000).toISOString() });
  }
  const t0 = Date.now();
  for (let i = 0; i < jobs.length; i += 16) {
    await Promise.all(jobs.slice(i, i + 16).map((j) => api('POST', '/v1/reservations', ADMIN, j, { 'Idempotency-Key': randomUUID() })));
  }
  console.log(`  bench data: 20 resources, 1000 reservations in ${Date.now() - t0} ms`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/ui/`);
  const runs = [];
  for (let i = 0; i < 5; i++) {
    runs.push(await page.evaluate(async ({ branch, key, date }) => {
      document.querySelector('booking-calendar')?.remove();
      const t0 = performance.now();
      const el = document.createElement('booking-calendar');
      el.setAttribute('branch-id', branch);
      el.setAttribute('date', date);
      el.setAttribute('view', 'week');
      const rendered = new Promise((resolve) => el.addEventListener('calendar-rendered', (e) => resolve(e.detail.ms), { once: true }));
      el.apiKey = key;
      document.body.append(el);
      const renderMs = await rendered;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const live = new Promise((resolve) => {
        const check = () => (el.dataset.connection === 'live' ? resolve() : setTimeout(check, 20));
        check();
      });
      await live;
      return { paint: performance.now() - t0, render: renderMs, blocks: el.shadowRoot.querySelectorAll('[data-reservation-id]').length, slots: el.shadowRoot.querySelectorAll('[data-slot-start]').length };
    }, { branch, key: ADMIN, date: DATE }));
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const r = runs[runs.length - 1];
  console.log(`  week view, 20 resources, ${r.blocks} blocks, ${r.slots} slot buttons: first paint median ${med(runs.map((x) => x.paint)).toFixed(0)} ms `
    + `(runs ${runs.map((x) => x.paint.toFixed(0)).join(', ')}), of which DOM build ${med(runs.map((x) => x.render)).toFixed(0)} ms`);

  // Live events: apply time in the page, and end to end (API answer → block in the DOM).
  await page.evaluate(() => {
    window.applied = [];
    document.querySelector('booking-calendar').addEventListener('live-event', (e) => window.applied.push(e.detail.ms));
  });
  const e2e = [];
  for (let i = 0; i < 40; i++) {
    const j = jobs[i * 25];
    const moved = await api('GET', `/v1/reservations?branch_id=${branch}&resource_id=${j.resource_id}&from=${j.starts_at}&to=${j.ends_at}`, ADMIN);
    const target = moved.items[0];
    const start = Date.parse(target.starts_at) + 30 * 60000;
    const t0 = Date.now();
    await api('PATCH', `/v1/reservations/${target.id}`, ADMIN, { starts_at: new Date(start).toISOString(), ends_at: new Date(start + 30 * 60000).toISOString() }, { 'If-Match': `"${target.version}"` });
    const iso = new Date(start).toISOString().replace('.000Z', 'Z');
    await page.waitForSelector(`${CAL} [data-reservation-id="${target.id}"][data-starts-at="${iso}"]`, { timeout: 5000 });
    e2e.push(Date.now() - t0);
  }
  const applied = await page.evaluate(() => window.applied);
  const pct = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  console.log(`  per live event (${applied.length} moves): applied in the page p50 ${pct(applied, 0.5).toFixed(2)} ms, p99 ${pct(applied, 0.99).toFixed(2)} ms; `
    + `API answer → block moved on screen p50 ${pct(e2e, 0.5)} ms, p99 ${pct(e2e, 0.99)} ms`);
  await page.screenshot({ path: `${SHOTS}/calendar-week-bench.png` });
  await context.close();
}

if (BENCH) await test('render benchmark', bench);

await browser.close();
const failed = results.filter((r) => !r.ok);
console.log(`${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${SHOTS}`);
process.exit(failed.length ? 1 : 0);

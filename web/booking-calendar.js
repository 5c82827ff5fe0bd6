// <booking-calendar>: one branch's day or week, live.
//
//   <booking-calendar branch-id="…" date="2031-03-10" view="day|week"></booking-calendar>
//   el.apiKey = 'bk_…'          // or the api-key attribute; base-url defaults to this origin
//
// Resources are columns, time runs down the side in the branch's zone.
// Free slots (from /v1/availability) are buttons: a click holds the slot at
// once, then a small form confirms it. Blocks (bookings and holds) move by
// drag or by keyboard (Enter picks one up, arrows move it, Enter drops,
// Escape puts it back) and open their actions on click. Events from
// /v1/stream are applied in place; the connection state is on the host as
// data-connection="live|reconnecting|offline".
//
// Markup contract (tests and embedders rely on it; open shadow DOM):
//   free slot:   button[data-slot-start][data-resource-id]
//   block:       [data-reservation-id][data-resource-id][data-starts-at][data-status]
//   form:        [data-action="confirm"], [data-action="cancel"]
//   errors:      [role="alert"]
// DOM events (bubbling, composed): booking-created, booking-moved,
// booking-cancelled, booking-completed, hold-placed, hold-released, error.

import { Api, ApiError, idempotencyKey } from './api.js';
import { LiveFeed } from './live.js';
import {
  addDays, dateOf, dateText, dayLabel, hhmm, instantOf, iso, minutesOf, mondayOf,
  offsetMinutes, parseDate, startOfDay, weekday,
} from './time.js';

const PX_PER_MIN = 1.2;
/** The slot grid, in minutes: asked of /v1/availability and used to move blocks. */
const STEP = 15;
const NARROW = 700;
const ACTIVE = new Set(['held', 'confirmed', 'completed']);

const CSS = `
:host { display: block; font: 14px/1.3 system-ui, sans-serif; color: #1d2430; --line: #d8dde6;
  --slot: #eef6ee; --slot-hover: #c9e8c9; --held: #fff4d6; --booked: #dce8ff; --done: #eceff3; }
* { box-sizing: border-box; }
.bar { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; padding: .4rem 0; }
.bar h2 { font-size: 1rem; margin: 0 .4rem; min-width: 9rem; }
.bar .tz { color: #5a6472; font-size: .85rem; }
.legend { display: flex; gap: .6rem; font-size: .75rem; color: #5a6472; }
.legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: -.1rem; margin-right: .2rem; }
.legend .free { background: var(--slot); border: 1px solid #b7dcb7; }
.legend .held { background: var(--held); border: 1px dashed #d2a227; }
.legend .booked { background: var(--booked); border: 1px solid #8fb0ee; }
.legend .done { background: var(--done); border: 1px solid #b8bec8; }
.bar .conn { margin-left: auto; font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #eee; }
:host([data-connection="live"]) .conn { background: #d9f2dd; color: #14551f; }
:host([data-connection="reconnecting"]) .conn { background: #fff1c2; color: #6b4e00; }
:host([data-connection="offline"]) .conn { background: #f9d6d6; color: #7a1010; }
button, select, input, textarea { font: inherit; }
.error { background: #fde8e8; color: #7a1010; border: 1px solid #f2b8b8; padding: .4rem .6rem; border-radius: 4px; margin: .2rem 0; }
.error:empty { display: none; }
.frame { position: relative; --times-width: 3.5rem; }
.scroller { overflow: auto; max-height: var(--calendar-height, 75vh); border: 1px solid var(--line); border-radius: 4px; }
/* More columns than fit: a shade on the side that scrolls, so that the
   days past the edge are not taken for the end of the week. */
.frame::before, .frame::after { content: ''; position: absolute; top: 1px; bottom: 1px; width: 1.6rem; z-index: 6;
  pointer-events: none; opacity: 0; }
.frame::before { left: calc(var(--times-width) + 1px); background: linear-gradient(to left, rgb(20 30 50 / 0%), rgb(20 30 50 / 18%)); }
.frame::after { right: 1px; background: linear-gradient(to right, rgb(20 30 50 / 0%), rgb(20 30 50 / 18%)); }
.frame[data-more~="left"]::before, .frame[data-more~="right"]::after { opacity: 1; }
/* As wide as its columns, so the sticky times stay in view however far
   the columns scroll (a narrower grid box lets them go with it). */
.grid { display: grid; position: relative; min-width: max-content; }
.row { display: contents; }
.corner, .colhead { position: sticky; top: 0; z-index: 3; background: #f7f8fa; border-bottom: 1px solid var(--line);
  padding: .3rem; font-size: .8rem; font-weight: 600; }
.corner { left: 0; z-index: 4; font-weight: 400; color: #5a6472; }
.colhead small { display: block; font-weight: 400; color: #5a6472; }
.times { position: sticky; left: 0; z-index: 2; background: #fff; border-right: 1px solid var(--line); }
.times span { position: absolute; right: .3rem; font-size: .75rem; color: #5a6472; transform: translateY(-50%); }
.col { position: relative; border-right: 1px solid var(--line); min-width: 7rem; }
.col.today { background: #fcfcf4; }
.col.day-start, .colhead.day-start { border-left: 2px solid #aab3c2; }
.hour { position: absolute; left: 0; right: 0; border-top: 1px solid #eef0f4; pointer-events: none; }
.off { position: absolute; left: 0; right: 0; background: repeating-linear-gradient(135deg, #f3f4f7 0 6px, #eceef2 6px 12px); pointer-events: none; }
.slot { position: absolute; left: 2px; right: 2px; border: 0; border-radius: 3px; background: var(--slot); color: #2b6a2b;
  font-size: .7rem; text-align: left; padding: 0 .3rem; cursor: pointer; }
.slot:hover, .slot:focus { background: var(--slot-hover); }
.block { position: absolute; left: 4px; right: 4px; z-index: 1; overflow: hidden; border-radius: 4px; padding: .15rem .3rem;
  font-size: .75rem; background: var(--booked); border: 1px solid #8fb0ee; cursor: grab; touch-action: none; user-select: none; }
.block[data-status="held"] { background: var(--held); border: 1px dashed #d2a227; }
.block[data-status="completed"] { background: var(--done); border-color: #b8bec8; color: #4b5360; }
.block .t { font-weight: 600; }
.block.moving { outline: 2px solid #1f5fd1; z-index: 5; box-shadow: 0 4px 12px rgb(0 0 0 / 20%); }
.block.pending { opacity: .6; }
[tabindex="0"]:focus-visible, .slot:focus-visible, .block:focus-visible { outline: 2px solid #1f5fd1; outline-offset: 1px; }
.panel { position: fixed; z-index: 10; inset: auto 1rem 1rem auto; width: min(22rem, calc(100vw - 2rem)); background: #fff;
  border: 1px solid var(--line); border-radius: 6px; box-shadow: 0 8px 30px rgb(0 0 0 / 20%); padding: .8rem; }
.panel[hidden] { display: none; }
.panel h3 { margin: 0 0 .4rem; font-size: 1rem; }
.panel label { display: block; margin: .4rem 0 .1rem; font-size: .85rem; }
.panel .products label { display: flex; justify-content: space-between; gap: .5rem; margin: .2rem 0; }
.panel .products input { width: 4rem; }
.panel textarea, .panel select { width: 100%; }
.panel .actions { display: flex; gap: .4rem; justify-content: flex-end; margin-top: .6rem; flex-wrap: wrap; }
.panel .countdown { font-size: .8rem; color: #6b4e00; }
.primary { background: #1f5fd1; color: #fff; border: 0; border-radius: 4px; padding: .3rem .8rem; }
.empty { padding: 2rem; color: #5a6472; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

let sheet = null;
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

/** A reservation as the API or an event's snapshot gives it, in one shape. */
function fromView(r) {
  return {
    id: r.id, branch_id: r.branch_id, resource_id: r.resource_id, service_id: r.service_id,
    start: Date.parse(r.starts_at), end: Date.parse(r.ends_at), status: r.status,
    version: r.version, note: r.note, products: r.products || [],
    hold_expires_at: r.hold_expires_at ? Date.parse(r.hold_expires_at) : null,
  };
}
function fromSnapshot(s) {
  return {
    id: s.id, branch_id: s.branch_id, resource_id: s.resource_id, service_id: s.service_id,
    start: Date.parse(s.range.start), end: Date.parse(s.range.end), status: s.status,
    version: s.version, note: s.note, products: s.lines || [],
    hold_expires_at: s.hold_expires_at ? Date.parse(s.hold_expires_at) : null,
  };
}

const CATALOG_EVENTS = /^(Branch|Resource|Service|Product|WorkingHours|Settings)/;

export class BookingCalendar extends HTMLElement {
  static observedAttributes = ['branch-id', 'date', 'view', 'api-key', 'base-url', 'service-id'];

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.adoptedStyleSheets = [styles()];
    this._apiKey = null;
    this.reservations = new Map();
    this.blocks = new Map();
    this.slots = [];
    this.offer = null;
    this.zone = 'UTC';
    this.feed = null;
    this.narrow = false;
    this.pickedResource = null;
    this.serviceId = null;
    this.moving = null;
    this.hold = null;
    this.focusKey = null;
    this.loadToken = 0;
    this.inflight = 0;
    this.slotTimer = null;
    this.catalogTimer = null;
    this.offsets = new Map();
    this.resizer = new ResizeObserver(() => this.onResize());
    // Closing the tab or leaving the page lets a half-filled booking's hold
    // go at once instead of when it runs out.
    this.onPageHide = () => this.abandonHold();
  }

  abandonHold() {
    const hold = this.hold;
    if (!hold) return;
    clearInterval(hold.timer);
    this.hold = null;
    this.api.request('DELETE', `/v1/holds/${hold.id}`, { keepalive: true }).catch(() => {});
  }

  // ---- public API -------------------------------------------------------

  get apiKey() { return this._apiKey ?? this.getAttribute('api-key'); }
  set apiKey(key) { this._apiKey = key; this.restart(); }

  get view() { return this.getAttribute('view') === 'week' ? 'week' : 'day'; }

  /** The local date shown (the first day of a week), as YYYY-MM-DD. */
  get date() { return dateText(this.currentDate()); }

  /** Re-reads everything (catalog, bookings, slots) without dropping the stream. */
  refresh() { return this.load(); }

  /** Resolves once no read is pending or scheduled: what is shown is what
   * the server said last (for tests and host pages that take pictures). */
  async settled() {
    while (this.inflight > 0 || this.slotTimer || this.catalogTimer) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  connectedCallback() {
    this.resizer.observe(this);
    window.addEventListener('pagehide', this.onPageHide);
    this.restart();
  }

  disconnectedCallback() {
    this.resizer.disconnect();
    window.removeEventListener('pagehide', this.onPageHide);
    this.stopFeed();
    this.abandonHold();
  }

  attributeChangedCallback(name, before, after) {
    if (before === after || !this.isConnected) return;
    if (name === 'date' || name === 'view') this.load();
    else if (name === 'service-id') { this.serviceId = after; this.load(); }
    else this.restart();
  }

  // ---- loading ----------------------------------------------------------

  get api() { return new Api(this.getAttribute('base-url') || '', this.apiKey); }

  restart() {
    if (!this.isConnected) return;
    this.stopFeed();
    this.reservations.clear();
    this.offer = null;
    if (!this.apiKey || !this.getAttribute('branch-id')) {
      this.dataset.connection = 'offline';
      this.renderShell();
      this.setMessage(!this.apiKey ? 'Set an API key to see the calendar.' : 'Set branch-id to a branch.');
      return;
    }
    this.serviceId = this.getAttribute('service-id');
    this.dataset.connection = 'reconnecting';
    this.load(true);
  }

  stopFeed() {
    if (this.feed) this.feed.stop();
    this.feed = null;
  }

  currentDate() {
    return parseDate(this.getAttribute('date')) || dateOf(Date.now(), this.zone);
  }

  days() {
    const first = this.currentDate();
    if (this.view === 'day') return [first];
    const monday = mondayOf(first);
    return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
  }

  async load(startFeed = false) {
    this.inflight++;
    try {
      await this.loadNow(startFeed);
    } finally {
      this.inflight--;
    }
  }

  async loadNow(startFeed) {
    const token = ++this.loadToken;
    const api = this.api;
    const branch = this.getAttribute('branch-id');
    try {
      // The head first: state read after it, then the log followed from it,
      // misses nothing (events already reflected are skipped by version).
      const head = startFeed || !this.feed ? (await api.get('/v1/events', { limit: 1 })).head_seq : null;
      const offer = await api.get(`/v1/branches/${branch}/catalog`);
      if (token !== this.loadToken) return;
      this.offer = offer;
      this.zone = offer.branch.time_zone;
      this.offsets.clear();
      if (!this.serviceId || !offer.services.some((s) => s.service.id === this.serviceId)) {
        this.serviceId = offer.services[0]?.service.id ?? null;
      }
      if (!this.pickedResource || !offer.resources.some((r) => r.resource.id === this.pickedResource)) {
        this.pickedResource = offer.resources[0]?.resource.id ?? null;
      }
      const days = this.days();
      const from = startOfDay(days[0], this.zone);
      const to = startOfDay(addDays(days[days.length - 1], 1), this.zone);
      const [items, slots] = await Promise.all([
        api.all('/v1/reservations', { branch_id: branch, from: iso(from), to: iso(to), limit: 500 }),
        this.fetchSlots(api, branch, from, to),
      ]);
      if (token !== this.loadToken) return;
      if (this.moving) {
        // A block is in someone's hand: redraw once it is dropped.
        this.refreshCatalog();
        return;
      }
      this.range = { from, to };
      this.reservations.clear();
      for (const r of items) if (ACTIVE.has(r.status)) this.reservations.set(r.id, fromView(r));
      this.slots = slots;
      this.render();
      if (head != null && !this.feed) this.startFeed(head);
    } catch (e) {
      if (token !== this.loadToken) return;
      if (!this.offer) this.renderShell();
      this.fail(e);
      if (startFeed && !this.feed && e.status !== 401 && e.status !== 404) {
        setTimeout(() => { if (!this.feed && token === this.loadToken) this.load(true); }, 2000);
      }
    }
  }

  async fetchSlots(api, branch, from, to) {
    if (!this.offer.resources.length) return [];
    const query = { branch_id: branch, from: iso(from), to: iso(to), step_minutes: STEP };
    if (this.serviceId) query.service_id = this.serviceId;
    else query.duration_minutes = 30;
    // A long window of many resources comes a page at a time (by time).
    const slots = [];
    for (let page = 0; page < 20; page++) {
      const answer = await api.get('/v1/availability', query);
      for (const s of answer.slots) slots.push({ resource_id: s.resource_id, start: Date.parse(s.starts_at), end: Date.parse(s.ends_at) });
      if (!answer.next_from) break;
      query.from = answer.next_from;
    }
    return slots;
  }

  /** Re-reads the free slots soon (several changes in a burst, one read). */
  refreshSlots() {
    clearTimeout(this.slotTimer);
    this.slotTimer = setTimeout(async () => {
      this.slotTimer = null;
      if (!this.offer || !this.range) return;
      const token = this.loadToken;
      this.inflight++;
      try {
        const slots = await this.fetchSlots(this.api, this.getAttribute('branch-id'), this.range.from, this.range.to);
        if (token !== this.loadToken) return;
        this.slots = slots;
        this.renderSlots();
      } catch (e) {
        this.fail(e);
      } finally {
        this.inflight--;
      }
    }, 120);
  }

  refreshCatalog() {
    clearTimeout(this.catalogTimer);
    this.catalogTimer = setTimeout(() => { this.catalogTimer = null; this.load(); }, 150);
  }

  startFeed(head) {
    this.feed = new LiveFeed({
      base: this.getAttribute('base-url') || '',
      key: this.apiKey,
      branchId: this.getAttribute('branch-id'),
      onEvent: (event) => this.apply(event),
      // Too far behind to replay (a laptop back from a long sleep): read
      // everything shown again; the feed resumes from the new head.
      onResync: () => this.load(),
      onState: (state) => {
        const was = this.dataset.connection;
        this.dataset.connection = state;
        this.root.querySelector('.conn')?.replaceChildren(state);
        // Back after a drop: the feed replays what was missed; slots are
        // recomputed once more in case the replay was all elsewhere.
        if (state === 'live' && was === 'reconnecting') this.refreshSlots();
      },
    });
    this.feed.start(head);
  }

  // ---- live events ------------------------------------------------------

  apply(event) {
    const t0 = performance.now();
    const data = event.data || {};
    if (event.type.startsWith('Reservation') && data.after) {
      const r = fromSnapshot(data.after);
      if (r.branch_id !== this.getAttribute('branch-id')) return;
      const known = this.reservations.get(r.id);
      if (known && known.version >= r.version) return;
      if (ACTIVE.has(r.status) && this.range && r.end > this.range.from && r.start < this.range.to) {
        this.reservations.set(r.id, r);
      } else {
        this.reservations.delete(r.id);
      }
      this.renderBlock(r.id);
      this.refreshSlots();
      if (this.hold?.id === r.id && !ACTIVE.has(r.status)) this.closePanel();
    } else if (event.type === 'StockChanged') {
      // Every booking with products moves stock: keep the level the form
      // offers up to date in place, without re-reading the calendar.
      const level = this.offer?.products.find((p) => p.product.id === data.product_id);
      if (data.branch_id !== this.getAttribute('branch-id') || !level) return;
      level.stock = data.after;
    } else if (CATALOG_EVENTS.test(event.type)) {
      this.refreshCatalog();
    } else {
      return;
    }
    this.lastApplyMs = performance.now() - t0;
    this.dispatchEvent(new CustomEvent('live-event', { detail: { event, ms: this.lastApplyMs } }));
  }

  // ---- geometry -----------------------------------------------------------

  /** The zone's offset at `ms`, cached per quarter hour (every zone's
   * transitions fall on one). */
  offsetAt(ms) {
    const bucket = Math.floor(ms / 900000);
    let o = this.offsets.get(bucket);
    if (o === undefined) {
      o = offsetMinutes(bucket * 900000, this.zone);
      this.offsets.set(bucket, o);
    }
    return o;
  }

  /** Local {date text, minute of day} of instant `ms`. */
  local(ms) {
    const wall = ms + this.offsetAt(ms) * 60000;
    const day = Math.floor(wall / 86400000);
    const t = new Date(day * 86400000);
    const date = `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
    return { date, minute: Math.floor((wall - day * 86400000) / 60000) };
  }

  clock(ms) { return hhmm(this.local(ms).minute); }

  /** The working intervals (local minutes) of a resource on a date; null: any time. */
  hours(resource, date) {
    const schedule = resource.schedule || {};
    const exceptions = schedule.exceptions || {};
    const text = dateText(date);
    let list;
    if (Object.prototype.hasOwnProperty.call(exceptions, text)) list = exceptions[text];
    else if (schedule.working_hours == null) return null;
    else list = schedule.working_hours[weekday(date)] || [];
    return list.map(([a, b]) => [minutesOf(a), b === '24:00' ? 1440 : minutesOf(b)]);
  }

  columns() {
    const resources = this.offer ? this.offer.resources : [];
    const shown = this.narrow ? resources.filter((r) => r.resource.id === this.pickedResource) : resources;
    const cols = [];
    for (const date of this.days()) for (const r of shown) cols.push({ date, dateText: dateText(date), resource: r });
    return cols;
  }

  window(cols) {
    let from = Infinity;
    let to = -Infinity;
    for (const c of cols) {
      const hours = this.hours(c.resource, c.date);
      if (hours === null) { from = Math.min(from, 7 * 60); to = Math.max(to, 20 * 60); continue; }
      for (const [a, b] of hours) { from = Math.min(from, a); to = Math.max(to, b); }
    }
    const days = new Set(cols.map((c) => c.dateText));
    for (const r of this.reservations.values()) {
      const a = this.local(r.start);
      if (!days.has(a.date)) continue;
      from = Math.min(from, a.minute);
      to = Math.max(to, Math.min(1440, a.minute + (r.end - r.start) / 60000));
    }
    if (!Number.isFinite(from)) { from = 8 * 60; to = 18 * 60; }
    return { from: Math.max(0, Math.floor(from / 60) * 60), to: Math.min(1440, Math.ceil(to / 60) * 60) };
  }

  y(minute) { return (minute - this.win.from) * PX_PER_MIN; }

  // ---- rendering ----------------------------------------------------------

  renderShell() {
    this.alertEl = el('div', { class: 'error', role: 'alert' });
    this.root.replaceChildren(
      el('div', { class: 'bar' }, el('span', { class: 'conn', text: this.dataset.connection || 'offline' })),
      this.alertEl,
    );
  }

  setMessage(text) {
    this.root.append(el('div', { class: 'empty', text }));
  }

  render() {
    const t0 = performance.now();
    const offer = this.offer;
    const days = this.days();
    const cols = this.columns();
    this.cols = cols;
    this.win = this.window(cols);
    const height = this.y(this.win.to);
    const title = this.view === 'day' ? dayLabel(days[0]) : `${dayLabel(days[0])} – ${dayLabel(days[6])}`;

    const bar = el('div', { class: 'bar' },
      el('button', { type: 'button', 'aria-label': `Previous ${this.view}`, onclick: () => this.shift(-1) }, '‹'),
      el('button', { type: 'button', onclick: () => this.goTo(dateOf(Date.now(), this.zone)) }, 'Today'),
      el('button', { type: 'button', 'aria-label': `Next ${this.view}`, onclick: () => this.shift(1) }, '›'),
      el('h2', { text: `${offer.branch.name} · ${title}` }),
      this.select('View', [['day', 'Day'], ['week', 'Week']], this.view, (v) => this.setAttribute('view', v)),
      offer.services.length
        ? this.select('Service', offer.services.map((s) => [s.service.id, `${s.service.name} (${s.service.duration_minutes} min)`]),
          this.serviceId, (v) => this.setAttribute('service-id', v))
        : null,
      this.narrow && offer.resources.length
        ? this.select('Resource', offer.resources.map((r) => [r.resource.id, r.resource.name]), this.pickedResource,
          (v) => { this.pickedResource = v; this.render(); })
        : null,
      el('span', { class: 'tz', text: `Times in ${this.zone}` }),
      // What the colours mean (a block too short for its status line still
      // shows it by colour).
      el('span', { class: 'legend', 'aria-hidden': 'true' },
        ...[['free', 'free'], ['held', 'held'], ['booked', 'booked'], ['done', 'completed']]
          .map(([c, text]) => el('span', {}, el('i', { class: c }), text))),
      el('span', { class: 'conn', 'aria-live': 'polite', text: this.dataset.connection || 'reconnecting' }),
    );
    const alert = el('div', { class: 'error', role: 'alert' });
    // A message stays across re-renders until something succeeds.
    alert.textContent = this.pendingError ?? this.alertEl?.textContent ?? '';
    this.pendingError = null;
    this.alertEl = alert;

    if (!cols.length) {
      this.root.replaceChildren(bar, alert, el('div', { class: 'empty', text: 'No resource works at this branch.' }));
      return;
    }

    const grid = el('div', { class: 'grid', role: 'grid', 'aria-label': `${offer.branch.name}, ${title}, times in ${this.zone}`,
      'aria-rowcount': 2, 'aria-colcount': cols.length + 1 });
    grid.style.gridTemplateColumns = `var(--times-width) repeat(${cols.length}, minmax(${this.narrow ? 10 : 7}rem, 1fr))`;
    const head = el('div', { class: 'row', role: 'row', 'aria-rowindex': 1 },
      el('div', { class: 'corner', role: 'columnheader', 'aria-colindex': 1, text: this.zone.split('/').pop().replace(/_/g, ' ') }));
    const body = el('div', { class: 'row', role: 'row', 'aria-rowindex': 2 });
    const times = el('div', { class: 'times', role: 'rowheader', 'aria-colindex': 1, 'aria-label': `Times in ${this.zone}` });
    times.style.height = `${height}px`;
    for (let m = this.win.from; m < this.win.to; m += 60) {
      const label = el('span', { text: hhmm(m) });
      label.style.top = `${this.y(m) + (m === this.win.from ? 8 : 0)}px`;
      times.append(label);
    }
    body.append(times);
    const today = dateText(dateOf(Date.now(), this.zone));
    this.colEls = new Map();
    cols.forEach((c, i) => {
      const name = c.resource.resource.name;
      const dayStart = this.view === 'week' && i > 0 && cols[i - 1].dateText !== c.dateText ? ' day-start' : '';
      head.append(el('div', { class: `colhead${dayStart}`, role: 'columnheader', 'aria-colindex': i + 2 },
        name, this.view === 'week' ? el('small', { text: dayLabel(c.date) }) : null));
      const col = el('div', {
        class: `col${c.dateText === today ? ' today' : ''}${dayStart}`, role: 'gridcell', 'aria-colindex': i + 2,
        'aria-label': `${name}, ${dayLabel(c.date)}`,
        dataset: { resourceId: c.resource.resource.id, date: c.dateText, col: String(i) },
      });
      col.style.height = `${height}px`;
      for (let m = this.win.from + 60; m < this.win.to; m += 60) {
        const line = el('div', { class: 'hour' });
        line.style.top = `${this.y(m)}px`;
        col.append(line);
      }
      const hours = this.hours(c.resource, c.date);
      if (hours !== null) {
        let at = this.win.from;
        for (const [a, b] of [...hours].sort((x, y) => x[0] - y[0]).concat([[this.win.to, this.win.to]])) {
          if (a > at) {
            const off = el('div', { class: 'off' });
            off.style.top = `${this.y(at)}px`;
            off.style.height = `${(Math.min(a, this.win.to) - at) * PX_PER_MIN}px`;
            col.append(off);
          }
          at = Math.max(at, b);
        }
      }
      body.append(col);
      this.colEls.set(`${c.resource.resource.id}|${c.dateText}`, col);
    });
    grid.append(head, body);
    grid.addEventListener('keydown', (e) => this.onKey(e));
    grid.addEventListener('focusin', (e) => this.onFocus(e));
    const scroller = el('div', { class: 'scroller' }, grid);
    const frame = el('div', { class: 'frame' }, scroller);
    // Which sides have columns scrolled out of sight (`data-more`: left,
    // right), kept as the grid scrolls or the element is resized.
    this.edges = () => {
      const more = [];
      if (scroller.scrollLeft > 1) more.push('left');
      if (scroller.scrollLeft + scroller.clientWidth < scroller.scrollWidth - 1) more.push('right');
      frame.dataset.more = more.join(' ');
    };
    scroller.addEventListener('scroll', this.edges, { passive: true });
    const panel = this.panel && !this.panel.hidden ? this.panel : el('div', { class: 'panel', hidden: true });
    this.panel = panel;
    this.root.replaceChildren(bar, alert, frame, panel);
    this.edges();
    this.blocks.clear();
    for (const id of this.reservations.keys()) this.renderBlock(id);
    this.renderSlots();
    this.lastRenderMs = performance.now() - t0;
    this.dispatchEvent(new CustomEvent('calendar-rendered', { detail: { ms: this.lastRenderMs } }));
  }

  select(label, options, value, onChange) {
    const s = el('select', { 'aria-label': label, onchange: (e) => onChange(e.target.value) },
      ...options.map(([v, text]) => el('option', { value: v, text })));
    s.value = value ?? '';
    return s;
  }

  columnOf(resourceId, ms) {
    return this.colEls?.get(`${resourceId}|${this.local(ms).date}`) ?? null;
  }

  renderSlots() {
    if (!this.colEls) return;
    for (const old of this.root.querySelectorAll('.slot')) old.remove();
    const names = new Map(this.offer.resources.map((r) => [r.resource.id, r.resource.name]));
    for (const s of this.slots) {
      const col = this.columnOf(s.resource_id, s.start);
      if (!col) continue;
      const minute = this.local(s.start).minute;
      if (minute < this.win.from || minute >= this.win.to) continue;
      const label = `${this.clock(s.start)}–${this.clock(s.end)}`;
      const button = el('button', {
        type: 'button', class: 'slot', tabindex: '-1', text: this.clock(s.start),
        'aria-label': `Free ${label}, ${names.get(s.resource_id) ?? ''}: hold it`,
        dataset: { slotStart: iso(s.start), slotEnd: iso(s.end), resourceId: s.resource_id },
      });
      button.style.top = `${this.y(minute)}px`;
      button.style.height = `${Math.max(12, STEP * PX_PER_MIN - 1)}px`;
      button.addEventListener('click', () => this.placeHold(s));
      col.append(button);
    }
    this.rove();
  }

  describe(r) {
    const offer = this.offer;
    const service = offer.services.find((s) => s.service.id === r.service_id)?.service.name;
    const products = r.products.map((l) => {
      const name = offer.products.find((p) => p.product.id === l.product_id)?.product.name ?? 'product';
      return `${l.quantity}× ${name}`;
    });
    return { service, products, when: `${this.clock(r.start)}–${this.clock(r.end)}` };
  }

  renderBlock(id) {
    const old = this.blocks.get(id);
    const wasFocused = old && this.root.activeElement === old;
    if (old) old.remove();
    this.blocks.delete(id);
    const r = this.reservations.get(id);
    if (!r || !this.colEls) return;
    const col = this.columnOf(r.resource_id, r.start);
    if (!col) return;
    const { service, products, when } = this.describe(r);
    const minute = this.local(r.start).minute;
    const block = el('div', {
      class: 'block', role: 'button', tabindex: '-1',
      'aria-label': `${r.status === 'held' ? 'Held' : 'Booked'} ${when}${service ? `, ${service}` : ''}${r.note ? `, ${r.note}` : ''}. Enter to move, click for actions.`,
      dataset: { reservationId: r.id, resourceId: r.resource_id, startsAt: iso(r.start), status: r.status },
    },
    el('div', { class: 't', text: when }),
    service ? el('div', { text: service }) : null,
    r.note ? el('div', { text: r.note }) : null,
    products.length ? el('div', { text: products.join(', ') }) : null,
    el('div', { text: r.status }));
    block.style.top = `${this.y(minute)}px`;
    block.style.height = `${Math.max(14, ((r.end - r.start) / 60000) * PX_PER_MIN - 2)}px`;
    block.addEventListener('pointerdown', (e) => this.onPointerDown(e, r.id));
    col.append(block);
    this.blocks.set(id, block);
    if (wasFocused) { block.tabIndex = 0; block.focus(); }
  }

  // ---- roving focus and keyboard -----------------------------------------

  items(col) {
    return [...col.querySelectorAll('.slot, .block')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
  }

  rove() {
    const all = [...this.root.querySelectorAll('.slot, .block')];
    if (!all.length) return;
    let current = all.find((n) => this.keyOf(n) === this.focusKey) || all.find((n) => n.tabIndex === 0);
    if (!current) {
      const cols = [...this.colEls.values()];
      current = cols.map((c) => this.items(c)[0]).find(Boolean) || all[0];
    }
    for (const n of all) n.tabIndex = n === current ? 0 : -1;
  }

  keyOf(node) {
    return node.dataset.reservationId || `${node.dataset.resourceId}|${node.dataset.slotStart}`;
  }

  onFocus(e) {
    const node = e.target.closest?.('.slot, .block');
    if (!node) return;
    for (const n of this.root.querySelectorAll('.slot[tabindex="0"], .block[tabindex="0"]')) if (n !== node) n.tabIndex = -1;
    node.tabIndex = 0;
    this.focusKey = this.keyOf(node);
  }

  focusNode(node) {
    if (!node) return;
    node.tabIndex = 0;
    node.focus();
    node.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  onKey(e) {
    if (this.moving) { this.onMoveKey(e); return; }
    const node = e.target.closest?.('.slot, .block');
    if (!node) return;
    const col = node.closest('.col');
    const list = this.items(col);
    const at = list.indexOf(node);
    const cols = [...this.colEls.values()];
    const ci = cols.indexOf(col);
    const nearest = (other) => {
      const top = parseFloat(node.style.top);
      return this.items(other).reduce((best, n) => (!best || Math.abs(parseFloat(n.style.top) - top)
        < Math.abs(parseFloat(best.style.top) - top) ? n : best), null);
    };
    let target = null;
    switch (e.key) {
      case 'ArrowDown': target = list[at + 1]; break;
      case 'ArrowUp': target = list[at - 1]; break;
      case 'Home': target = list[0]; break;
      case 'End': target = list[list.length - 1]; break;
      case 'ArrowRight': for (let i = ci + 1; i < cols.length && !target; i++) target = nearest(cols[i]); break;
      case 'ArrowLeft': for (let i = ci - 1; i >= 0 && !target; i--) target = nearest(cols[i]); break;
      case 'Enter':
      case ' ':
        if (node.classList.contains('block')) { e.preventDefault(); this.pickUp(node.dataset.reservationId); }
        return;
      default: return;
    }
    e.preventDefault();
    this.focusNode(target);
  }

  // ---- moving: keyboard and drag ------------------------------------------

  pickUp(id) {
    const r = this.reservations.get(id);
    const block = this.blocks.get(id);
    if (!r || !block || r.status === 'completed') return;
    const col = block.closest('.col');
    this.moving = { id, colIndex: Number(col.dataset.col), minute: this.local(r.start).minute, origin: { col, top: block.style.top } };
    block.classList.add('moving');
    block.setAttribute('aria-pressed', 'true');
    this.announce(`Moving ${this.describe(r).when}. Arrows move, Enter drops, Escape cancels.`);
  }

  onMoveKey(e) {
    const m = this.moving;
    switch (e.key) {
      case 'ArrowDown': m.minute = Math.min(this.win.to - STEP, m.minute + STEP); break;
      case 'ArrowUp': m.minute = Math.max(this.win.from, m.minute - STEP); break;
      case 'ArrowRight': m.colIndex = Math.min(this.cols.length - 1, m.colIndex + 1); break;
      case 'ArrowLeft': m.colIndex = Math.max(0, m.colIndex - 1); break;
      case 'Enter': case ' ': e.preventDefault(); this.drop(); return;
      case 'Escape': e.preventDefault(); this.putBack(); return;
      case 'Tab': this.putBack(); return;
      default: return;
    }
    e.preventDefault();
    this.placeGhost();
  }

  placeGhost() {
    const m = this.moving;
    const block = this.blocks.get(m.id);
    const col = [...this.colEls.values()][m.colIndex];
    if (block.parentNode !== col) col.append(block);
    block.style.top = `${this.y(m.minute)}px`;
    block.focus({ preventScroll: true });
    block.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    this.announce(`${this.cols[m.colIndex].resource.resource.name} ${hhmm(m.minute)}`);
  }

  putBack() {
    const m = this.moving;
    this.moving = null;
    if (!m) return;
    const block = this.blocks.get(m.id);
    if (!block) return;
    block.classList.remove('moving');
    block.removeAttribute('aria-pressed');
    if (block.parentNode !== m.origin.col) m.origin.col.append(block);
    block.style.top = m.origin.top;
    block.focus();
  }

  async drop() {
    const m = this.moving;
    this.moving = null;
    const r = this.reservations.get(m.id);
    const block = this.blocks.get(m.id);
    if (!r || !block) return;
    block.classList.remove('moving');
    block.removeAttribute('aria-pressed');
    const c = this.cols[m.colIndex];
    const start = instantOf(c.date, m.minute, this.zone);
    const resourceId = c.resource.resource.id;
    if (start === r.start && resourceId === r.resource_id) { this.putBackTo(m); return; }
    const end = start + (r.end - r.start);
    block.classList.add('pending');
    try {
      const moved = await this.api.patch(`/v1/reservations/${r.id}`,
        { starts_at: iso(start), ends_at: iso(end), resource_id: resourceId }, { 'If-Match': `"${r.version}"` });
      this.upsert(fromView(moved));
      this.focusKey = r.id;
      this.blocks.get(r.id)?.focus();
      this.emit('booking-moved', { reservation: moved, from: { starts_at: iso(r.start), resource_id: r.resource_id } });
      this.refreshSlots();
    } catch (e) {
      this.putBackTo(m);
      this.fail(e);
      this.load();
    }
  }

  putBackTo(m) {
    this.moving = { ...m };
    this.putBack();
    this.blocks.get(m.id)?.classList.remove('pending');
  }

  onPointerDown(e, id) {
    if (e.button !== 0 || this.moving) return;
    const block = this.blocks.get(id);
    const r = this.reservations.get(id);
    const startX = e.clientX;
    const startY = e.clientY;
    const grabOffset = e.clientY - block.getBoundingClientRect().top;
    let dragging = false;
    block.setPointerCapture(e.pointerId);
    const move = (ev) => {
      if (!dragging && Math.hypot(ev.clientX - startX, ev.clientY - startY) < 5) return;
      if (!dragging) {
        if (r.status === 'completed') return;
        dragging = true;
        this.pickUp(id);
      }
      const col = this.root.elementsFromPoint(ev.clientX, ev.clientY).map((n) => n.closest?.('.col')).find(Boolean);
      if (!col) return;
      const top = ev.clientY - grabOffset - col.getBoundingClientRect().top;
      const minute = Math.round((top / PX_PER_MIN + this.win.from) / STEP) * STEP;
      this.moving.colIndex = Number(col.dataset.col);
      this.moving.minute = Math.max(this.win.from, Math.min(this.win.to - STEP, minute));
      this.placeGhost();
    };
    const up = () => {
      block.removeEventListener('pointermove', move);
      block.removeEventListener('pointerup', up);
      block.removeEventListener('pointercancel', cancel);
      if (dragging) this.drop();
      else this.openDetails(id);
    };
    const cancel = () => {
      block.removeEventListener('pointermove', move);
      block.removeEventListener('pointerup', up);
      block.removeEventListener('pointercancel', cancel);
      if (dragging) this.putBack();
    };
    block.addEventListener('pointermove', move);
    block.addEventListener('pointerup', up);
    block.addEventListener('pointercancel', cancel);
  }

  // ---- holds and the booking form -----------------------------------------

  async placeHold(slot) {
    if (this.hold) await this.releaseHold('replaced');
    const body = {
      branch_id: this.getAttribute('branch-id'), resource_id: slot.resource_id,
      starts_at: iso(slot.start), ends_at: iso(slot.end), service_id: this.serviceId ?? undefined,
    };
    try {
      const held = await this.api.post('/v1/holds', body, { 'Idempotency-Key': idempotencyKey() });
      const r = fromView(held);
      this.upsert(r);
      this.clearError();
      this.emit('hold-placed', { reservation: held });
      this.openForm(r, Date.parse(held.expires_at));
      this.refreshSlots();
    } catch (e) {
      // The grid was behind: say why, then show what is there now.
      this.fail(e);
      this.load();
    }
  }

  openForm(r, expiresAt) {
    const offer = this.offer;
    const products = offer.products.filter((p) => p.stock > 0);
    const service = el('select', { name: 'service', 'aria-label': 'Service' },
      el('option', { value: '', text: 'No service' }),
      ...offer.services.map((s) => el('option', { value: s.service.id, text: `${s.service.name} · ${money(s.price)}` })));
    service.value = r.service_id ?? '';
    const note = el('textarea', { name: 'note', rows: 2, maxlength: 500 });
    const countdown = el('div', { class: 'countdown', 'aria-live': 'off' });
    const form = el('form', { 'aria-label': 'New booking' },
      el('h3', { text: `Book ${this.describe(r).when}` }),
      el('div', { text: `${offer.resources.find((x) => x.resource.id === r.resource_id)?.resource.name ?? ''} · ${dayLabel(dateOf(r.start, this.zone))}` }),
      countdown,
      el('label', {}, 'Service', service),
      products.length ? el('fieldset', { class: 'products' }, el('legend', { text: 'Products' }),
        ...products.map((p) => el('label', {}, `${p.product.name} · ${money(p.price)} (${p.stock} left)`,
          el('input', { type: 'number', min: 0, max: p.stock, value: 0, 'data-product-id': p.product.id, 'aria-label': `${p.product.name} quantity` })))) : null,
      el('label', {}, 'Note', note),
      el('div', { class: 'error', role: 'alert' }),
      el('div', { class: 'actions' },
        el('button', { type: 'button', 'data-action': 'cancel', onclick: () => this.releaseHold('cancelled') }, 'Cancel'),
        el('button', { type: 'submit', class: 'primary', 'data-action': 'confirm' }, 'Confirm')));
    form.addEventListener('submit', (e) => { e.preventDefault(); this.confirmHold(form); });
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.releaseHold('cancelled'); });
    const tick = () => {
      const left = Math.max(0, expiresAt - Date.now());
      countdown.textContent = `Held for you until ${this.clock(expiresAt)} (${Math.floor(left / 60000)}:${String(Math.floor(left / 1000) % 60).padStart(2, '0')})`;
      if (left <= 0) this.releaseHold('timed out', 'The hold ran out; pick the slot again.');
    };
    clearInterval(this.hold?.timer);
    this.hold = { id: r.id, service_id: r.service_id, timer: setInterval(tick, 1000) };
    tick();
    this.panel.replaceChildren(form);
    this.panel.hidden = false;
    service.focus();
  }

  async confirmHold(form) {
    const hold = this.hold;
    if (!hold) return;
    const r = this.reservations.get(hold.id);
    const serviceId = form.elements.service.value || null;
    const note = form.elements.note.value.trim();
    const lines = [...form.querySelectorAll('input[data-product-id]')]
      .map((i) => ({ product_id: i.dataset.productId, quantity: Number(i.value) }))
      .filter((l) => l.quantity > 0);
    const button = form.querySelector('[data-action="confirm"]');
    button.disabled = true;
    try {
      let booked;
      if (serviceId === hold.service_id && !note && !lines.length) {
        booked = await this.api.post(`/v1/holds/${hold.id}/confirm`);
      } else {
        // Other details than the hold's: the hold makes way for the booking
        // with them (a service changes the length, products take stock).
        const duration = serviceId ? this.offer.services.find((s) => s.service.id === serviceId).service.duration_minutes * 60000 : r.end - r.start;
        await this.api.delete(`/v1/holds/${hold.id}`);
        booked = await this.api.post('/v1/reservations', {
          branch_id: r.branch_id, resource_id: r.resource_id, starts_at: iso(r.start), ends_at: iso(r.start + duration),
          service_id: serviceId ?? undefined, products: lines, note: note || undefined,
        }, { 'Idempotency-Key': idempotencyKey() });
      }
      clearInterval(hold.timer);
      this.hold = null;
      this.panel.hidden = true;
      this.panel.replaceChildren();
      this.upsert(fromView(booked));
      this.clearError();
      this.emit('booking-created', { reservation: booked });
      this.refreshSlots();
    } catch (e) {
      button.disabled = false;
      const alert = form.querySelector('[role="alert"]');
      alert.textContent = this.reason(e);
      this.emit('error', { message: alert.textContent, status: e.status, problem: e.problem });
      if (e.type === 'hold-expired' || e.status === 404) { this.closePanel(); this.fail(e); }
      this.load();
    }
  }

  async releaseHold(why, message) {
    const hold = this.hold;
    if (!hold) return;
    clearInterval(hold.timer);
    this.hold = null;
    this.closePanel();
    const r = this.reservations.get(hold.id);
    if (r && r.status === 'held') { this.reservations.delete(hold.id); this.renderBlock(hold.id); }
    if (message) this.showError(message);
    try {
      await this.api.delete(`/v1/holds/${hold.id}`);
    } catch (e) {
      if (e.status !== 409) this.fail(e);
    }
    this.emit('hold-released', { id: hold.id, why });
    this.refreshSlots();
  }

  closePanel() {
    if (this.hold && this.panel.querySelector('form[aria-label="New booking"]')) {
      clearInterval(this.hold.timer);
      this.hold = null;
    }
    this.panel.hidden = true;
    this.panel.replaceChildren();
  }

  openDetails(id) {
    const r = this.reservations.get(id);
    if (!r) return;
    if (this.hold?.id === id) return;
    const { service, products, when } = this.describe(r);
    const act = (label, action, run) => el('button', { type: 'button', 'data-action': action, onclick: run }, label);
    const box = el('div', { role: 'dialog', 'aria-label': `Booking ${when}` },
      el('h3', { text: `${r.status === 'held' ? 'Hold' : 'Booking'} ${when}` }),
      service ? el('div', { text: service }) : null,
      products.length ? el('div', { text: products.join(', ') }) : null,
      r.note ? el('div', { text: r.note }) : null,
      el('div', { text: `Status: ${r.status}` }),
      el('div', { class: 'error', role: 'alert' }),
      el('div', { class: 'actions' },
        r.status === 'confirmed' ? act('Complete', 'complete', () => this.change(r, 'complete')) : null,
        r.status !== 'completed' ? act(r.status === 'held' ? 'Release' : 'Cancel booking', 'cancel-booking', () => this.change(r, 'cancel')) : null,
        r.status !== 'completed' ? act('Move…', 'move', () => { this.closePanel(); this.blocks.get(id)?.focus(); this.pickUp(id); }) : null,
        act('Close', 'close', () => { this.closePanel(); this.blocks.get(id)?.focus(); })));
    box.addEventListener('keydown', (e) => { if (e.key === 'Escape') { this.closePanel(); this.blocks.get(id)?.focus(); } });
    this.panel.replaceChildren(box);
    this.panel.hidden = false;
    box.querySelector('button')?.focus();
  }

  async change(r, what) {
    try {
      if (r.status === 'held') {
        await this.api.delete(`/v1/holds/${r.id}`);
        this.reservations.delete(r.id);
        this.renderBlock(r.id);
        this.emit('hold-released', { id: r.id, why: 'released' });
      } else {
        const after = await this.api.post(`/v1/reservations/${r.id}/${what}`, undefined, { 'If-Match': `"${r.version}"` });
        this.upsert(fromView(after));
        this.emit(what === 'cancel' ? 'booking-cancelled' : 'booking-completed', { reservation: after });
      }
      this.closePanel();
      this.clearError();
      this.refreshSlots();
    } catch (e) {
      const alert = this.panel.querySelector('[role="alert"]');
      if (alert) alert.textContent = this.reason(e);
      this.fail(e, !!alert);
      this.load();
    }
  }

  // ---- state and messages -------------------------------------------------

  upsert(r) {
    const known = this.reservations.get(r.id);
    if (known && known.version > r.version) return;
    if (ACTIVE.has(r.status)) this.reservations.set(r.id, r);
    else this.reservations.delete(r.id);
    this.renderBlock(r.id);
  }

  /** What to tell a person about a refusal, from the problem body. */
  reason(e) {
    if (!(e instanceof ApiError)) return String(e.message || e);
    const p = e.problem || {};
    const range = p.conflicting_range;
    switch (e.type) {
      case 'slot-taken':
        return range
          ? `Slot taken ${this.clock(Date.parse(range.start))}–${this.clock(Date.parse(range.end))} by another booking.`
          : 'Slot taken by another booking.';
      case 'out-of-stock': return `Not enough stock: ${p.detail}`;
      case 'hold-expired': return 'The hold ran out; pick the slot again.';
      case 'stale-version': return 'Someone changed this booking meanwhile; the calendar has been refreshed.';
      case 'unauthorized': return 'The API key was refused (unknown, revoked or expired).';
      case 'forbidden': return `This key may not do that: ${p.detail}`;
      default: return p.detail || p.title || e.message;
    }
  }

  fail(e, shownInPanel = false) {
    const message = this.reason(e);
    if (!shownInPanel) this.showError(message);
    this.emit('error', { message, status: e.status, problem: e.problem });
  }

  showError(message) {
    if (this.alertEl?.isConnected) this.alertEl.textContent = message;
    else this.pendingError = message;
  }

  clearError() {
    if (this.alertEl) this.alertEl.textContent = '';
  }

  announce(text) {
    let live = this.root.querySelector('.sr');
    if (!live) { live = el('div', { class: 'sr', 'aria-live': 'assertive' }); this.root.append(live); }
    live.textContent = text;
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  shift(n) {
    this.goTo(addDays(this.currentDate(), n * (this.view === 'week' ? 7 : 1)));
  }

  goTo(date) { this.setAttribute('date', dateText(date)); }

  onResize() {
    const narrow = this.getBoundingClientRect().width < NARROW;
    if (narrow !== this.narrow) {
      this.narrow = narrow;
      if (this.offer) this.render();
    }
    this.edges?.();
  }
}

function money(m) {
  if (!m) return '';
  try {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency });
    return f.format(m.amount_minor / 10 ** f.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(m.amount_minor / 100).toFixed(2)} ${m.currency}`;
  }
}

if (!customElements.get('booking-calendar')) customElements.define('booking-calendar', BookingCalendar);

// Wall-clock time in an IANA zone, with nothing but Intl.
//
// The calendar shows a branch's day in the branch's zone whatever zone the
// browser is in. Instants are milliseconds since the epoch (UTC); a local
// date is {y, m, d} and a local time minutes from local midnight.

const formats = new Map();

function format(zone) {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formats.set(zone, f);
  }
  return f;
}

/** The local date and time of instant `ms` in `zone`. */
export function parts(ms, zone) {
  const p = {};
  for (const { type, value } of format(zone).formatToParts(new Date(ms))) p[type] = value;
  return { y: +p.year, m: +p.month, d: +p.day, h: +p.hour % 24, min: +p.minute, s: +p.second };
}

/** Minutes the zone is ahead of UTC at instant `ms`. */
export function offsetMinutes(ms, zone) {
  const p = parts(ms, zone);
  const wall = Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

/**
 * The instant a local wall time names in `zone`: the earlier one when the
 * time repeats (fall back); when it does not exist (spring forward), the
 * time as far past the gap as it was into it (02:30 on a 02:00→03:00 day
 * is 03:30), as Temporal's "compatible" does.
 */
export function instantOf(date, minutes, zone) {
  const wall = Date.UTC(date.y, date.m - 1, date.d) + minutes * 60000;
  // The offsets a day either side straddle any one change on this day
  // (changes are months apart, and no offset exceeds 14 hours).
  const early = offsetMinutes(wall - 86400000, zone);
  const late = offsetMinutes(wall + 86400000, zone);
  const fits = (t) => wall === t + offsetMinutes(t, zone) * 60000;
  const fitting = [wall - early * 60000, wall - late * 60000].filter(fits);
  if (fitting.length) return Math.min(...fitting);
  // In a gap: read with the offset before it, which lands past it.
  return wall - early * 60000;
}

/** Local midnight of `date` in `zone`, as an instant. */
export function startOfDay(date, zone) {
  return instantOf(date, 0, zone);
}

/** The local date `n` days after `date` (calendar arithmetic, no zone). */
export function addDays(date, n) {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** `YYYY-MM-DD` → {y, m, d}, or null. */
export function parseDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return null;
  const date = { y: +m[1], m: +m[2], d: +m[3] };
  const back = addDays(date, 0);
  return back.y === date.y && back.m === date.m && back.d === date.d ? date : null;
}

export function dateText(date) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(date.y, 4)}-${p(date.m)}-${p(date.d)}`;
}

/** The local date of instant `ms` in `zone`. */
export function dateOf(ms, zone) {
  const p = parts(ms, zone);
  return { y: p.y, m: p.m, d: p.d };
}

/** Minutes since local midnight of instant `ms` in `zone`. */
export function minuteOfDay(ms, zone) {
  const p = parts(ms, zone);
  return p.h * 60 + p.min;
}

/** `monday` … `sunday` for a local date. */
export function weekday(date) {
  const names = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
  return names[new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay()];
}

/** The Monday on or before `date`. */
export function mondayOf(date) {
  const day = new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
  return addDays(date, -((day + 6) % 7));
}

/** `HH:MM` for minutes from midnight. */
export function hhmm(minutes) {
  const h = Math.floor(minutes / 60) % 24;
  return `${String(h).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** `HH:MM` → minutes, or null. */
export function minutesOf(text) {
  const m = /^(\d{2}):(\d{2})$/.exec(text || '');
  return m ? +m[1] * 60 + +m[2] : null;
}

/** A short label for a local date, e.g. "Mon 10 Mar". */
export function dayLabel(date) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short',
  }).format(new Date(Date.UTC(date.y, date.m - 1, date.d)));
}

/** RFC 3339 in UTC, as the API writes it (no milliseconds when zero). */
export function iso(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

// The calendar's wall-clock arithmetic (web/time.js) on DST days, in Node's
// Intl (the same ICU time zone data a browser has): run by
// tests/api/calendar.rs as `node --test time.test.mjs`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addDays, dateOf, instantOf, minuteOfDay, mondayOf, offsetMinutes, parseDate, startOfDay, weekday,
} from '../../web/time.js';

const d = (text) => parseDate(text);
const at = (iso) => Date.parse(iso);
const hm = (text) => { const [h, m] = text.split(':').map(Number); return h * 60 + m; };
const local = (date, time, zone) => new Date(instantOf(d(date), hm(time), zone)).toISOString();

test('Berlin springs forward: 02:30 does not exist and reads as 03:30', () => {
  const zone = 'Europe/Berlin';
  assert.equal(local('2031-03-30', '01:59', zone), '2031-03-30T00:59:00.000Z');
  assert.equal(local('2031-03-30', '02:30', zone), '2031-03-30T01:30:00.000Z');
  assert.equal(local('2031-03-30', '03:00', zone), '2031-03-30T01:00:00.000Z');
  assert.equal(new Date(startOfDay(d('2031-03-30'), zone)).toISOString(), '2031-03-29T23:00:00.000Z');
  assert.equal(startOfDay(d('2031-03-31'), zone) - startOfDay(d('2031-03-30'), zone), 23 * 3600000, 'a 23-hour day');
});

test('Berlin falls back: 02:30 happens twice; the earlier is chosen, both read back as 02:30', () => {
  const zone = 'Europe/Berlin';
  assert.equal(local('2031-10-26', '02:30', zone), '2031-10-26T00:30:00.000Z');
  assert.equal(offsetMinutes(at('2031-10-26T00:30:00Z'), zone), 120);
  assert.equal(offsetMinutes(at('2031-10-26T01:30:00Z'), zone), 60);
  assert.equal(minuteOfDay(at('2031-10-26T00:30:00Z'), zone), hm('02:30'));
  assert.equal(minuteOfDay(at('2031-10-26T01:30:00Z'), zone), hm('02:30'));
  assert.equal(startOfDay(d('2031-10-27'), zone) - startOfDay(d('2031-10-26'), zone), 25 * 3600000, 'a 25-hour day');
});

test('New York in both directions', () => {
  const zone = 'America/New_York';
  assert.equal(local('2031-03-09', '02:30', zone), '2031-03-09T07:30:00.000Z');
  assert.equal(local('2031-03-09', '03:00', zone), '2031-03-09T07:00:00.000Z');
  assert.equal(local('2031-11-02', '01:30', zone), '2031-11-02T05:30:00.000Z');
  assert.equal(minuteOfDay(at('2031-11-02T06:30:00Z'), zone), hm('01:30'));
});

test('Lord Howe shifts by 30 minutes: a half-hour gap and a repeated half hour', () => {
  const zone = 'Australia/Lord_Howe';
  // Summer time ends on 6 April 2031: 02:00 (+11:00) becomes 01:30 (+10:30).
  assert.equal(local('2031-04-06', '01:45', zone), '2031-04-05T14:45:00.000Z');
  assert.equal(minuteOfDay(at('2031-04-05T15:15:00Z'), zone), hm('01:45'));
  assert.equal(offsetMinutes(at('2031-04-05T16:00:00Z'), zone), 630);
  // It starts on 5 October 2031: 02:00 (+10:30) becomes 02:30 (+11:00).
  assert.equal(local('2031-10-05', '02:15', zone), '2031-10-04T15:45:00.000Z');
  assert.equal(local('2031-10-05', '02:30', zone), '2031-10-04T15:30:00.000Z');
  assert.equal(startOfDay(d('2031-10-06'), zone) - startOfDay(d('2031-10-05'), zone), 23.5 * 3600000);
});

test('dates: months, leap days, weeks', () => {
  assert.deepEqual(addDays(d('2031-02-28'), 1), d('2031-03-01'));
  assert.deepEqual(addDays(d('2032-02-28'), 1), d('2032-02-29'));
  assert.deepEqual(addDays(d('2031-12-31'), 1), d('2032-01-01'));
  assert.equal(parseDate('2031-02-30'), null);
  assert.equal(parseDate('31-03-10'), null);
  assert.deepEqual(mondayOf(d('2031-03-16')), d('2031-03-10'));
  assert.deepEqual(mondayOf(d('2031-03-10')), d('2031-03-10'));
  assert.equal(weekday(d('2031-03-10')), 'monday');
  // A UTC instant late in the evening is already tomorrow in Tokyo.
  assert.deepEqual(dateOf(at('2031-03-10T20:00:00Z'), 'Asia/Tokyo'), d('2031-03-11'));
});

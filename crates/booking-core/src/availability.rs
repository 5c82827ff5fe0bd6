//! Free slots: a pure function of working hours, what is already booked,
//! the tenant's notice and horizon, and a time zone.
//!
//! A slot is a start on the step grid **in the branch's local wall-clock
//! time** (the minute of the local day is a multiple of the step, counted
//! from local midnight) where the service's elapsed duration, widened by its
//! buffers, lies inside the resource's working time and overlaps nothing
//! active of that resource at any branch. Around DST changes: a local time
//! that does not exist (spring forward) starts no slot; a local time that
//! happens twice (fall back) starts two, one per instant; durations are
//! elapsed time, so a 60-minute slot is 60 minutes long whatever the clock
//! on the wall says. Zones with 30-minute shifts (Australia/Lord_Howe)
//! follow the same rules.
//!
//! Cost: one walk over the grid's starts in order, each resource keeping a
//! cursor into its working and busy intervals (both only move forward), so
//! starts × resources plus intervals; hours shared by several resources are
//! worked out once. [`free_slots_page`] stops the walk at a page's end.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{Minutes, RangeLimits, ResourceId, Schedule, TimeRange};

/// What slot is asked for: its length, the buffers around it, the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotShape {
    /// The appointment's elapsed length (at least a minute).
    pub duration: Minutes,
    /// Time blocked before it (the service's preparation).
    pub buffer_before: Minutes,
    /// Time blocked after it (cleaning).
    pub buffer_after: Minutes,
    /// The grid: starts at local minutes of the day divisible by this
    /// (at least a minute).
    pub step: Minutes,
}

/// When slots may start: inside `[from, to)` and between `earliest` (now
/// plus the minimum notice) and `latest` (now plus the horizon), both
/// included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotWindow {
    /// The first start asked for.
    pub from: DateTime<Utc>,
    /// Starts before this.
    pub to: DateTime<Utc>,
    /// The earliest bookable start.
    pub earliest: DateTime<Utc>,
    /// The latest bookable start.
    pub latest: DateTime<Utc>,
}

/// One resource's calendar at the branch: when it works there and what it
/// has booked anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceCalendar<'a> {
    /// The resource.
    pub resource_id: ResourceId,
    /// Its working hours at the branch.
    pub schedule: &'a Schedule,
    /// The time its active reservations and unexpired holds occupy, at any
    /// branch, buffers included (in any order).
    pub busy: Vec<TimeRange>,
}

/// A free slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// When it starts and ends (the appointment, without buffers).
    pub range: TimeRange,
    /// Which resource is free.
    pub resource_id: ResourceId,
}

/// The grid's starts in `window`: every instant in `[from, to)`, within
/// `[earliest, latest]`, whose local time in `tz` is a minute of the day
/// divisible by `step`. Sorted; both instants of a repeated local time are
/// there, a skipped one is not.
#[must_use]
pub fn grid_starts(tz: Tz, step: Minutes, window: &SlotWindow) -> Vec<DateTime<Utc>> {
    let lo = window.from.max(window.earliest);
    let hi_exclusive = window.to;
    if lo >= hi_exclusive || lo > window.latest {
        return Vec::new();
    }
    let step = usize::try_from(step.get().max(1)).unwrap_or(1440);
    // Local dates the window can touch (offsets are under a day).
    let first = lo.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = hi_exclusive.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut starts = Vec::new();
    for date in first.iter_days().take_while(|d| *d <= last) {
        for minute in (0..1440).step_by(step) {
            for instant in local_instants(tz, date, minute) {
                if lo <= instant && instant < hi_exclusive && instant <= window.latest {
                    starts.push(instant);
                }
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The instants at which the wall clock in `tz` shows `minute` past
/// midnight on `date`: none in a gap, two in a fold.
fn local_instants(tz: Tz, date: NaiveDate, minute: usize) -> Vec<DateTime<Utc>> {
    let wall = date.and_time(chrono::NaiveTime::MIN)
        + Duration::minutes(i64::try_from(minute).unwrap_or(0));
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(early, late) => {
            vec![early.with_timezone(&Utc), late.with_timezone(&Utc)]
        }
        LocalResult::None => Vec::new(),
    }
}

/// The free slots of `calendars` in `window`, sorted by start, then by
/// resource (all of them: see [`free_slots_page`] for a bounded answer).
#[must_use]
pub fn free_slots(
    tz: Tz,
    shape: &SlotShape,
    window: &SlotWindow,
    calendars: &[ResourceCalendar<'_>],
) -> Vec<Slot> {
    free_slots_page(tz, shape, window, calendars, usize::MAX).slots
}

/// The first free slots of a window, and where the rest begin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotPage {
    /// By start, then by resource.
    pub slots: Vec<Slot>,
    /// The first start left out (ask again from there), or `None` when
    /// the page holds every slot of the window.
    pub next_from: Option<DateTime<Utc>>,
}

/// The free slots of `calendars` in `window`, by start, then by resource,
/// stopping before `limit` would be passed: a page ends between two starts
/// (the slots of one start are never split), so it holds at most `limit`
/// slots unless the first start alone has more. Walking the pages by
/// `next_from` gives exactly [`free_slots`].
///
/// Work and memory are bounded by the page: the starts are walked in
/// order, each resource keeping a cursor into its working and busy time
/// (both only move forward), and the walk stops at the page's end.
#[must_use]
pub fn free_slots_page(
    tz: Tz,
    shape: &SlotShape,
    window: &SlotWindow,
    calendars: &[ResourceCalendar<'_>],
    limit: usize,
) -> SlotPage {
    let starts = grid_starts(tz, shape.step, window);
    let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
        return SlotPage {
            slots: Vec::new(),
            next_from: None,
        };
    };
    let need = Need::of(shape);
    let mut resources = prepare(
        tz,
        calendars,
        *first - need.before,
        *last + need.after_start,
    );
    let mut slots = Vec::new();
    let mut here = Vec::with_capacity(resources.len());
    for &start in &starts {
        here.clear();
        let (from, to) = need.around(micros(start));
        here.extend(
            resources
                .iter_mut()
                .filter_map(|r| r.free(from, to).then_some(r.resource_id)),
        );
        if !slots.is_empty() && slots.len() + here.len() > limit {
            return SlotPage {
                slots,
                next_from: Some(start),
            };
        }
        let Ok(range) = TimeRange::new(start, start + need.duration, &RangeLimits::stored()) else {
            continue;
        };
        slots.extend(here.iter().map(|&resource_id| Slot { range, resource_id }));
    }
    SlotPage {
        slots,
        next_from: None,
    }
}

/// What a slot starting at an instant needs: its elapsed length, and the
/// buffers on either side.
struct Need {
    duration: Duration,
    before: Duration,
    /// From the start to the end of the after-buffer.
    after_start: Duration,
}

impl Need {
    fn of(shape: &SlotShape) -> Self {
        let duration = shape.duration.duration().max(Duration::minutes(1));
        Self {
            duration,
            before: shape.buffer_before.duration(),
            after_start: duration + shape.buffer_after.duration(),
        }
    }

    /// The time, in microseconds, a slot starting at `start` occupies.
    fn around(&self, start: i64) -> (i64, i64) {
        let us = |d: Duration| d.num_microseconds().unwrap_or(i64::MAX / 4);
        (start - us(self.before), start + us(self.after_start))
    }
}

/// The calendars made ready for the walk, in resource order; resources
/// usually share their hours, so each schedule is worked out once.
fn prepare(
    tz: Tz,
    calendars: &[ResourceCalendar<'_>],
    reach_from: DateTime<Utc>,
    reach_to: DateTime<Utc>,
) -> Vec<Prepared> {
    let mut hours: Vec<(&Schedule, Vec<(i64, i64)>)> = Vec::new();
    let mut resources: Vec<Prepared> = calendars
        .iter()
        .map(|c| {
            let open = if let Some((_, open)) = hours.iter().find(|(s, _)| *s == c.schedule) {
                open.clone()
            } else {
                let open: Vec<(i64, i64)> = c
                    .schedule
                    .open_intervals(tz, reach_from, reach_to)
                    .into_iter()
                    .map(|(a, b)| (micros(a), micros(b)))
                    .collect();
                hours.push((c.schedule, open.clone()));
                open
            };
            Prepared::new(c, open, micros(reach_from), micros(reach_to))
        })
        .collect();
    resources.sort_by_key(|r| r.resource_id);
    resources
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A calendar made ready for the walk: working and busy time as sorted,
/// disjoint intervals in microseconds, with a cursor into each (the starts
/// come in order, so both only move forward).
struct Prepared {
    resource_id: ResourceId,
    open: Vec<(i64, i64)>,
    busy: Vec<(i64, i64)>,
    open_at: usize,
    busy_at: usize,
}

impl Prepared {
    fn new(c: &ResourceCalendar<'_>, open: Vec<(i64, i64)>, from: i64, to: i64) -> Self {
        let mut busy: Vec<(i64, i64)> = c
            .busy
            .iter()
            .map(|b| (micros(b.start()), micros(b.end())))
            .filter(|(a, b)| *a < to && from < *b)
            .collect();
        busy.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(busy.len());
        for (a, b) in busy {
            match merged.last_mut() {
                Some(last) if a < last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Self {
            resource_id: c.resource_id,
            open,
            busy: merged,
            open_at: 0,
            busy_at: 0,
        }
    }

    /// Whether `[from, to)` lies inside working time and overlaps nothing
    /// busy; `from` never goes back between calls.
    fn free(&mut self, from: i64, to: i64) -> bool {
        while self.open_at + 1 < self.open.len() && self.open[self.open_at + 1].0 <= from {
            self.open_at += 1;
        }
        let works = self
            .open
            .get(self.open_at)
            .is_some_and(|(a, b)| *a <= from && to <= *b);
        while self.busy_at < self.busy.len() && self.busy[self.busy_at].1 <= from {
            self.busy_at += 1;
        }
        works && self.busy.get(self.busy_at).is_none_or(|(a, _)| *a >= to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DayInterval, WeeklyHours};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn m(n: u32) -> Minutes {
        Minutes::new(n).unwrap()
    }

    fn day_window(from: DateTime<Utc>, to: DateTime<Utc>) -> SlotWindow {
        SlotWindow {
            from,
            to,
            earliest: from,
            latest: to,
        }
    }

    #[test]
    fn a_skipped_local_time_starts_no_slot_and_a_repeated_one_starts_two() {
        let berlin = chrono_tz::Europe::Berlin;
        // 2026-03-29: 02:00 local jumps to 03:00 (01:00 UTC).
        let spring = grid_starts(
            berlin,
            m(30),
            &day_window(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0)),
        );
        assert_eq!(
            spring,
            [
                utc(2026, 3, 29, 0, 0),
                utc(2026, 3, 29, 0, 30),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 3, 29, 1, 30)
            ],
            "01:00, 01:30 CET, then 03:00, 03:30 CEST: no 02:00 or 02:30"
        );
        // 2026-10-25: 03:00 local goes back to 02:00 (01:00 UTC).
        let autumn = grid_starts(
            berlin,
            m(30),
            &day_window(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 30)),
        );
        assert_eq!(
            autumn,
            [
                utc(2026, 10, 25, 0, 0),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 1, 0)
            ],
            "02:00 and 02:30 CEST (00:00, 00:30 UTC), then 02:00 CET (01:00 UTC)"
        );
    }

    #[test]
    fn a_slot_needs_its_buffers_inside_hours_and_free() {
        let tz = chrono_tz::UTC;
        let schedule =
            Schedule::weekly(WeeklyHours::weekdays(DayInterval::hm(9, 0, 12, 0).unwrap()));
        let booked = TimeRange::new(
            utc(2026, 1, 5, 10, 0),
            utc(2026, 1, 5, 10, 30),
            &RangeLimits::stored(),
        )
        .unwrap();
        let shape = SlotShape {
            duration: m(30),
            buffer_before: m(0),
            buffer_after: m(15),
            step: m(30),
        };
        let r = ResourceId::generate();
        let slots = free_slots(
            tz,
            &shape,
            &day_window(utc(2026, 1, 5, 0, 0), utc(2026, 1, 6, 0, 0)),
            &[ResourceCalendar {
                resource_id: r,
                schedule: &schedule,
                busy: vec![booked],
            }],
        );
        let starts: Vec<_> = slots.iter().map(|s| s.range.start()).collect();
        // 09:00 (ends 09:30, buffer to 09:45) fits; 09:30's buffer runs into
        // 10:00's booking; 10:30 and 11:00 fit; 11:30's buffer passes noon.
        assert_eq!(
            starts,
            [
                utc(2026, 1, 5, 9, 0),
                utc(2026, 1, 5, 10, 30),
                utc(2026, 1, 5, 11, 0)
            ]
        );
    }

    #[test]
    fn notice_and_horizon_bound_the_starts() {
        let starts = grid_starts(
            chrono_tz::UTC,
            m(60),
            &SlotWindow {
                from: utc(2026, 1, 5, 0, 0),
                to: utc(2026, 1, 6, 0, 0),
                earliest: utc(2026, 1, 5, 9, 30),
                latest: utc(2026, 1, 5, 12, 0),
            },
        );
        assert_eq!(
            starts,
            [
                utc(2026, 1, 5, 10, 0),
                utc(2026, 1, 5, 11, 0),
                utc(2026, 1, 5, 12, 0)
            ]
        );
    }
}

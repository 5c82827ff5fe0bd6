//! Free slots: exact lists on the DST days of Berlin, New York and Lord
//! Howe (a 30-minute shift), and a property test against brute force: on
//! random small calendars, the slots are exactly the grid starts that the
//! booking rules allow, found by walking every minute of the window.

use booking_core::availability::{
    ResourceCalendar, SlotShape, SlotWindow, free_slots, free_slots_page,
};
use booking_core::{DayInterval, Minutes, RangeLimits, ResourceId, Schedule, TimeRange};
use booking_testkit::strategies::weekly_hours;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn m(n: u32) -> Minutes {
    Minutes::new(n).unwrap()
}

/// The local day `date` in `tz`, from its midnight to the next.
fn local_day(tz: Tz, date: NaiveDate) -> SlotWindow {
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    let (from, to) = (midnight(date), midnight(date.succ_opt().unwrap()));
    SlotWindow {
        from,
        to,
        earliest: from,
        latest: to,
    }
}

/// Slots of `minutes` on a grid of `step` on `date`, for one resource
/// working `open`..`close` local time that day only.
fn starts_on(
    tz: Tz,
    date: NaiveDate,
    (open, close): ((u16, u16), (u16, u16)),
    minutes: u32,
    step: u32,
) -> Vec<DateTime<Utc>> {
    let hours = DayInterval::hm(open.0, open.1, close.0, close.1).unwrap();
    let schedule = Schedule::weekly(booking_core::WeeklyHours::default())
        .with_exception(date, vec![hours])
        .unwrap();
    let shape = SlotShape {
        duration: m(minutes),
        buffer_before: Minutes::ZERO,
        buffer_after: Minutes::ZERO,
        step: m(step),
    };
    let calendar = ResourceCalendar {
        resource_id: ResourceId::generate(),
        schedule: &schedule,
        busy: Vec::new(),
    };
    free_slots(tz, &shape, &local_day(tz, date), &[calendar])
        .iter()
        .map(|s| {
            assert_eq!(
                s.range.end() - s.range.start(),
                Duration::minutes(i64::from(minutes))
            );
            s.range.start()
        })
        .collect()
}

fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

#[test]
fn berlin_spring_forward_skips_two_oclock() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST. Hours 00:00–06:00 local.
    assert_eq!(
        starts_on(
            chrono_tz::Europe::Berlin,
            date(2026, 3, 29),
            ((0, 0), (6, 0)),
            60,
            60
        ),
        [
            utc(2026, 3, 28, 23, 0), // 00:00 CET
            utc(2026, 3, 29, 0, 0),  // 01:00 CET
            utc(2026, 3, 29, 1, 0),  // 03:00 CEST: no 02:00
            utc(2026, 3, 29, 2, 0),  // 04:00
            utc(2026, 3, 29, 3, 0),  // 05:00, ending at 06:00
        ]
    );
}

#[test]
fn berlin_fall_back_starts_two_slots_at_two_oclock() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET. Hours 00:00–05:00 local.
    assert_eq!(
        starts_on(
            chrono_tz::Europe::Berlin,
            date(2026, 10, 25),
            ((0, 0), (5, 0)),
            60,
            60
        ),
        [
            utc(2026, 10, 24, 22, 0), // 00:00 CEST
            utc(2026, 10, 24, 23, 0), // 01:00 CEST
            utc(2026, 10, 25, 0, 0),  // 02:00 CEST
            utc(2026, 10, 25, 1, 0),  // 02:00 CET, the second time
            utc(2026, 10, 25, 2, 0),  // 03:00 CET
            utc(2026, 10, 25, 3, 0),  // 04:00, ending at 05:00
        ]
    );
}

#[test]
fn new_york_spring_forward_skips_the_lost_half_hours() {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT. Hours 01:00–04:00 local.
    assert_eq!(
        starts_on(
            chrono_tz::America::New_York,
            date(2026, 3, 8),
            ((1, 0), (4, 0)),
            30,
            30
        ),
        [
            utc(2026, 3, 8, 6, 0),  // 01:00 EST
            utc(2026, 3, 8, 6, 30), // 01:30 EST
            utc(2026, 3, 8, 7, 0),  // 03:00 EDT: no 02:00, 02:30
            utc(2026, 3, 8, 7, 30), // 03:30, ending at 04:00
        ]
    );
}

#[test]
fn new_york_fall_back_repeats_the_one_oclock_hour() {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST. Hours 00:00–03:00 local.
    assert_eq!(
        starts_on(
            chrono_tz::America::New_York,
            date(2026, 11, 1),
            ((0, 0), (3, 0)),
            30,
            30
        ),
        [
            utc(2026, 11, 1, 4, 0),  // 00:00 EDT
            utc(2026, 11, 1, 4, 30), // 00:30 EDT
            utc(2026, 11, 1, 5, 0),  // 01:00 EDT
            utc(2026, 11, 1, 5, 30), // 01:30 EDT
            utc(2026, 11, 1, 6, 0),  // 01:00 EST, again
            utc(2026, 11, 1, 6, 30), // 01:30 EST, again
            utc(2026, 11, 1, 7, 0),  // 02:00 EST
            utc(2026, 11, 1, 7, 30), // 02:30, ending at 03:00
        ]
    );
}

#[test]
fn lord_howe_spring_forward_loses_half_an_hour_between_grid_hours() {
    // 2026-10-04: 02:00 LHST (+10:30) becomes 02:30 LHDT (+11). Hours
    // 00:00–05:00 local, a 60-minute grid: 01:00 and 03:00 local are 90
    // minutes apart, and no slot starts at 02:00, which does not exist.
    assert_eq!(
        starts_on(
            chrono_tz::Australia::Lord_Howe,
            date(2026, 10, 4),
            ((0, 0), (5, 0)),
            60,
            60
        ),
        [
            utc(2026, 10, 3, 13, 30), // 00:00 LHST
            utc(2026, 10, 3, 14, 30), // 01:00 LHST
            utc(2026, 10, 3, 16, 0),  // 03:00 LHDT
            utc(2026, 10, 3, 17, 0),  // 04:00 LHDT, ending at 05:00
        ]
    );
}

#[test]
fn lord_howe_fall_back_repeats_half_an_hour() {
    // 2026-04-05: 02:00 LHDT (+11) becomes 01:30 LHST (+10:30). Hours
    // 00:00–03:00 local.
    let tz = chrono_tz::Australia::Lord_Howe;
    assert_eq!(
        starts_on(tz, date(2026, 4, 5), ((0, 0), (3, 0)), 30, 30),
        [
            utc(2026, 4, 4, 13, 0),  // 00:00 LHDT
            utc(2026, 4, 4, 13, 30), // 00:30
            utc(2026, 4, 4, 14, 0),  // 01:00
            utc(2026, 4, 4, 14, 30), // 01:30 LHDT
            utc(2026, 4, 4, 15, 0),  // 01:30 LHST, again
            utc(2026, 4, 4, 15, 30), // 02:00 LHST
            utc(2026, 4, 4, 16, 0),  // 02:30, ending at 03:00
        ]
    );
    // On a 60-minute grid, 01:00 and 02:00 local are 90 minutes apart.
    assert_eq!(
        starts_on(tz, date(2026, 4, 5), ((0, 0), (3, 0)), 60, 60),
        [
            utc(2026, 4, 4, 13, 0),  // 00:00 LHDT
            utc(2026, 4, 4, 14, 0),  // 01:00 LHDT
            utc(2026, 4, 4, 15, 30), // 02:00 LHST, ending at 03:00
        ]
    );
}

/// Zones with DST, half-hour offsets and a half-hour shift.
fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kolkata,
        chrono_tz::America::St_Johns,
    ])
}

/// A window of one to three days around a DST change of some zone.
fn window_start() -> impl Strategy<Value = DateTime<Utc>> {
    (
        prop::sample::select(vec![
            utc(2026, 3, 7, 12, 0),
            utc(2026, 3, 28, 12, 0),
            utc(2026, 4, 4, 0, 0),
            utc(2026, 10, 3, 0, 0),
            utc(2026, 10, 24, 12, 0),
            utc(2026, 10, 31, 12, 0),
            utc(2026, 1, 12, 0, 0),
        ]),
        0i64..24 * 60,
    )
        .prop_map(|(base, shift)| base + Duration::minutes(shift))
}

#[derive(Clone, Debug)]
struct Case {
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    shape: SlotShape,
    calendars: Vec<(Schedule, Vec<TimeRange>)>,
}

fn calendar(from: DateTime<Utc>) -> impl Strategy<Value = (Schedule, Vec<TimeRange>)> {
    let day = from.date_naive();
    (
        prop::option::of(weekly_hours()),
        prop::collection::vec(
            (0i64..4, prop::collection::vec((0u16..48, 1u16..16), 0..3)),
            0..2,
        ),
        prop::collection::vec((0i64..72 * 4, 1i64..12), 0..6),
    )
        .prop_map(move |(weekly, exceptions, busy)| {
            let mut schedule = weekly.map_or_else(Schedule::unrestricted, Schedule::weekly);
            for (offset, spans) in exceptions {
                let hours: Vec<DayInterval> = spans
                    .into_iter()
                    .filter_map(|(start, len)| {
                        let open = start * 30;
                        DayInterval::new(open, (open + len * 30).min(1440)).ok()
                    })
                    .collect();
                if let Ok(s) = schedule
                    .clone()
                    .with_exception(day + Duration::days(offset), hours)
                {
                    schedule = s;
                }
            }
            let busy = busy
                .into_iter()
                .filter_map(|(quarter, len)| {
                    let start = from - Duration::hours(6) + Duration::minutes(quarter * 15);
                    TimeRange::new(
                        start,
                        start + Duration::minutes(len * 15),
                        &RangeLimits::stored(),
                    )
                    .ok()
                })
                .collect();
            (schedule, busy)
        })
}

fn case() -> impl Strategy<Value = Case> {
    (zone(), window_start(), 1i64..=3).prop_flat_map(|(tz, from, days)| {
        let to = from + Duration::days(days);
        (
            Just(tz),
            Just(from),
            Just(to),
            0i64..days * 24 * 60,
            0i64..=days * 24 * 60,
            (
                prop::sample::select(vec![15u32, 20, 30, 45, 60, 90]),
                1u32..=120,
                prop::sample::select(vec![0u32, 5, 10, 30]),
                prop::sample::select(vec![0u32, 10, 15]),
            ),
            prop::collection::vec(calendar(from), 1..=3),
        )
            .prop_map(
                |(tz, from, to, notice, horizon, (step, minutes, before, after), calendars)| Case {
                    tz,
                    from,
                    to,
                    earliest: from + Duration::minutes(notice),
                    latest: from + Duration::minutes(horizon),
                    shape: SlotShape {
                        duration: m(minutes),
                        buffer_before: m(before),
                        buffer_after: m(after),
                        step: m(step),
                    },
                    calendars,
                },
            )
    })
}

/// The slots by brute force: every minute of the window whose local time
/// is on the grid, checked with the booking rules themselves (working
/// hours by `Schedule::permits`, overlap by `TimeRange::overlaps`).
fn brute_force(c: &Case, ids: &[ResourceId]) -> Vec<(DateTime<Utc>, ResourceId)> {
    let step = c.shape.step.get();
    let duration = c.shape.duration.duration();
    let mut out = Vec::new();
    let mut minute = c.from;
    while minute < c.to {
        let local = minute.with_timezone(&c.tz);
        let of_day = local.hour() * 60 + local.minute();
        if local.second() == 0
            && of_day.is_multiple_of(step)
            && c.earliest <= minute
            && minute <= c.latest
        {
            let occupied = TimeRange::new(
                minute - c.shape.buffer_before.duration(),
                minute + duration + c.shape.buffer_after.duration(),
                &RangeLimits::stored(),
            )
            .unwrap();
            let mut free: Vec<ResourceId> = c
                .calendars
                .iter()
                .zip(ids)
                .filter(|((schedule, busy), _)| {
                    schedule.permits(c.tz, &occupied) && !busy.iter().any(|b| b.overlaps(&occupied))
                })
                .map(|(_, id)| *id)
                .collect();
            free.sort();
            out.extend(free.into_iter().map(|id| (minute, id)));
        }
        minute += Duration::minutes(1);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_AVAILABILITY_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
        ..ProptestConfig::default()
    })]

    /// Every slot returned can be booked by the rules, and every grid start
    /// the rules allow is returned.
    #[test]
    fn free_slots_are_exactly_the_bookable_grid_starts(c in case()) {
        let ids: Vec<ResourceId> = c.calendars.iter().map(|_| ResourceId::generate()).collect();
        let calendars: Vec<ResourceCalendar<'_>> = c
            .calendars
            .iter()
            .zip(&ids)
            .map(|((schedule, busy), id)| ResourceCalendar {
                resource_id: *id,
                schedule,
                busy: busy.clone(),
            })
            .collect();
        let window = SlotWindow { from: c.from, to: c.to, earliest: c.earliest, latest: c.latest };
        let got: Vec<(DateTime<Utc>, ResourceId)> = free_slots(c.tz, &c.shape, &window, &calendars)
            .iter()
            .map(|s| (s.range.start(), s.resource_id))
            .collect();
        prop_assert_eq!(got, brute_force(&c, &ids));
    }

    /// Pages walked by `next_from` give exactly the whole list; a page
    /// holds at most `limit` slots unless its first start alone has more,
    /// and never splits a start.
    #[test]
    fn pages_of_free_slots_add_up_to_the_whole(c in case(), limit in 1usize..12) {
        let ids: Vec<ResourceId> = c.calendars.iter().map(|_| ResourceId::generate()).collect();
        let calendars: Vec<ResourceCalendar<'_>> = c
            .calendars
            .iter()
            .zip(&ids)
            .map(|((schedule, busy), id)| ResourceCalendar {
                resource_id: *id,
                schedule,
                busy: busy.clone(),
            })
            .collect();
        let mut window = SlotWindow { from: c.from, to: c.to, earliest: c.earliest, latest: c.latest };
        let whole = free_slots(c.tz, &c.shape, &window, &calendars);
        let mut walked = Vec::new();
        for _ in 0..=whole.len() {
            let page = free_slots_page(c.tz, &c.shape, &window, &calendars, limit);
            let first = page.slots.first().map(|s| s.range.start());
            let at_first = page.slots.iter().filter(|s| Some(s.range.start()) == first).count();
            prop_assert!(page.slots.len() <= limit.max(at_first));
            if let Some(next) = page.next_from {
                prop_assert!(page.slots.iter().all(|s| s.range.start() < next));
            }
            walked.extend(page.slots);
            match page.next_from {
                Some(next) => window.from = next,
                None => break,
            }
        }
        prop_assert_eq!(walked, whole);
    }
}

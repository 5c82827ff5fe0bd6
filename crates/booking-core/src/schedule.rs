//! Working hours in branch-local time, and the rule that a booking must fall
//! inside them. Hours are wall-clock times in the branch's IANA zone, so
//! "09:00–17:00" stays 09:00–17:00 local on both sides of a DST change.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::TimeRange;

/// Why a schedule was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An interval does not satisfy `open < close <= 1440`.
    #[error(
        "an interval must open before it closes, within one day (0..=1440 minutes): got {open}..{close}"
    )]
    BadInterval {
        /// Opening minute of day.
        open: u16,
        /// Closing minute of day.
        close: u16,
    },
    /// Two intervals of one day overlap.
    #[error("intervals of one day must not overlap")]
    Overlapping,
}

/// `[open, close)` in minutes after local midnight; `close` may be 1440.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u16, u16)", into = "(u16, u16)")]
pub struct DayInterval {
    open: u16,
    close: u16,
}

impl DayInterval {
    /// Builds an interval of one day.
    ///
    /// # Errors
    /// [`ScheduleError::BadInterval`] unless `open < close <= 1440`.
    pub fn new(open: u16, close: u16) -> Result<Self, ScheduleError> {
        if open < close && close <= 1440 {
            Ok(Self { open, close })
        } else {
            Err(ScheduleError::BadInterval { open, close })
        }
    }

    /// Builds an interval from hours and minutes, e.g. `hm(9, 0, 17, 30)`.
    ///
    /// # Errors
    /// As [`DayInterval::new`].
    pub fn hm(open_h: u16, open_m: u16, close_h: u16, close_m: u16) -> Result<Self, ScheduleError> {
        Self::new(open_h * 60 + open_m, close_h * 60 + close_m)
    }

    /// Opening minute of day.
    #[must_use]
    pub const fn open(&self) -> u16 {
        self.open
    }

    /// Closing minute of day (exclusive).
    #[must_use]
    pub const fn close(&self) -> u16 {
        self.close
    }
}

impl DayInterval {
    /// The interval as wall-clock times, `("09:00", "17:30")`; the close
    /// of a whole day is `"24:00"`.
    #[must_use]
    pub fn clock(&self) -> (String, String) {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        (hm(self.open), hm(self.close))
    }

    /// Parses a wall-clock time `HH:MM` (`00:00` to `24:00`) into minutes
    /// after midnight.
    #[must_use]
    pub fn minute_of(clock: &str) -> Option<u16> {
        clock
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u16>().ok()?, m.parse::<u16>().ok()?)))
            .filter(|(h, m)| *m < 60 && (*h < 24 || (*h == 24 && *m == 0)))
            .map(|(h, m)| h * 60 + m)
    }
}

/// Weekday names as the API and the event log spell them, Monday first
/// (the order of [`WeeklyHours::day`]).
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl TryFrom<(u16, u16)> for DayInterval {
    type Error = ScheduleError;
    fn try_from((open, close): (u16, u16)) -> Result<Self, Self::Error> {
        Self::new(open, close)
    }
}

impl From<DayInterval> for (u16, u16) {
    fn from(i: DayInterval) -> Self {
        (i.open, i.close)
    }
}

fn normalized(mut intervals: Vec<DayInterval>) -> Result<Vec<DayInterval>, ScheduleError> {
    intervals.sort();
    if intervals.windows(2).any(|w| w[0].close > w[1].open) {
        return Err(ScheduleError::Overlapping);
    }
    Ok(intervals)
}

/// Opening intervals for each weekday, Monday first. An empty day is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[Vec<DayInterval>; 7]", into = "[Vec<DayInterval>; 7]")]
pub struct WeeklyHours([Vec<DayInterval>; 7]);

impl WeeklyHours {
    /// Builds weekly hours, Monday first.
    ///
    /// # Errors
    /// [`ScheduleError::Overlapping`] if two intervals of a day overlap.
    pub fn new(days: [Vec<DayInterval>; 7]) -> Result<Self, ScheduleError> {
        let mut out: [Vec<DayInterval>; 7] = Default::default();
        for (slot, day) in out.iter_mut().zip(days) {
            *slot = normalized(day)?;
        }
        Ok(Self(out))
    }

    /// The same hours Monday to Friday, closed at weekends.
    #[must_use]
    pub fn weekdays(hours: DayInterval) -> Self {
        let mut days: [Vec<DayInterval>; 7] = Default::default();
        for day in days.iter_mut().take(5) {
            day.push(hours);
        }
        Self(days)
    }

    /// The intervals of a weekday (0 = Monday).
    #[must_use]
    pub fn day(&self, index_from_monday: usize) -> &[DayInterval] {
        self.0.get(index_from_monday).map_or(&[], Vec::as_slice)
    }
}

impl TryFrom<[Vec<DayInterval>; 7]> for WeeklyHours {
    type Error = ScheduleError;
    fn try_from(days: [Vec<DayInterval>; 7]) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<WeeklyHours> for [Vec<DayInterval>; 7] {
    fn from(w: WeeklyHours) -> Self {
        w.0
    }
}

/// When a resource works at a branch: weekly hours (none = any time) and
/// dated exceptions that replace a day's hours (an empty list = day off).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Regular hours; `None` means no restriction.
    pub weekly: Option<WeeklyHours>,
    /// Per-date replacement hours (time off, extra shifts).
    pub exceptions: BTreeMap<NaiveDate, Vec<DayInterval>>,
}

impl Schedule {
    /// No working hours configured: any time is bookable.
    #[must_use]
    pub fn unrestricted() -> Self {
        Self::default()
    }

    /// Regular weekly hours, no exceptions.
    #[must_use]
    pub fn weekly(hours: WeeklyHours) -> Self {
        Self {
            weekly: Some(hours),
            exceptions: BTreeMap::new(),
        }
    }

    /// Adds a dated exception (an empty list closes the day).
    ///
    /// # Errors
    /// [`ScheduleError::Overlapping`] if the intervals overlap.
    pub fn with_exception(
        mut self,
        date: NaiveDate,
        hours: Vec<DayInterval>,
    ) -> Result<Self, ScheduleError> {
        self.exceptions.insert(date, normalized(hours)?);
        Ok(self)
    }

    fn intervals_on(&self, date: NaiveDate) -> Vec<DayInterval> {
        const WHOLE_DAY: DayInterval = DayInterval {
            open: 0,
            close: 1440,
        };
        if let Some(hours) = self.exceptions.get(&date) {
            return hours.clone();
        }
        match &self.weekly {
            Some(weekly) => weekly
                .day(date.weekday().num_days_from_monday() as usize)
                .to_vec(),
            None => vec![WHOLE_DAY],
        }
    }

    /// Whether `range` lies entirely inside working time, reading the hours
    /// in `tz`. Adjacent intervals (09–12 and 12–17, or a shift ending at
    /// midnight and the next starting at midnight) join up.
    #[must_use]
    pub fn permits(&self, tz: Tz, range: &TimeRange) -> bool {
        if self.is_unrestricted() {
            return true;
        }
        self.open_intervals(tz, range.start(), range.end())
            .iter()
            .any(|(a, b)| *a <= range.start() && range.end() <= *b)
    }

    /// Whether no hours are set: any time is working time.
    #[must_use]
    pub fn is_unrestricted(&self) -> bool {
        self.weekly.is_none() && self.exceptions.is_empty()
    }

    /// Working time around `[from, to)` as sorted, disjoint UTC intervals,
    /// touching and overlapping ones merged (09–12 and 12–17 are one, as is
    /// a shift ending at midnight with the next starting at midnight). Every
    /// local date the window touches is read, with a day of slack on each
    /// side, so intervals may reach past the window. Unrestricted: the
    /// window and its slack.
    #[must_use]
    pub fn open_intervals(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.is_unrestricted() {
            return vec![(from - Duration::days(2), to + Duration::days(2))];
        }
        // Every local date the window can touch, with a day of slack on
        // each side so offsets of up to ±24 h are covered.
        let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
        let last = to.with_timezone(&tz).date_naive() + Duration::days(1);
        let mut open: Vec<(DateTime<Utc>, DateTime<Utc>)> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .flat_map(|date| {
                self.intervals_on(date).into_iter().map(move |i| {
                    (
                        local_to_utc(tz, date, i.open, false),
                        local_to_utc(tz, date, i.close, true),
                    )
                })
            })
            .filter(|(a, b)| a < b)
            .collect();
        open.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(open.len());
        for (a, b) in open {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }
}

/// The UTC instant of a local wall-clock time. In a DST gap (the clock jumps
/// forward) the time does not exist, so the first instant after the gap is
/// used; in a fold (the clock goes back) the earlier instant is used for an
/// opening and the later for a closing, which never shortens a shift.
fn local_to_utc(tz: Tz, date: NaiveDate, minute: u16, prefer_late: bool) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let wall = midnight + Duration::minutes(i64::from(minute));
    for skip in 0..=180 {
        match tz.from_local_datetime(&(wall + Duration::minutes(skip))) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, late) => {
                return if prefer_late { late } else { early }.with_timezone(&Utc);
            }
            LocalResult::None => {}
        }
    }
    // No zone has a gap longer than three hours; fall back to reading the
    // wall time as UTC rather than panicking.
    Utc.from_utc_datetime(&wall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RangeLimits;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn range(a: DateTime<Utc>, b: DateTime<Utc>) -> TimeRange {
        TimeRange::new(a, b, &RangeLimits::bookings()).unwrap()
    }

    fn nine_to_five() -> Schedule {
        Schedule::weekly(WeeklyHours::weekdays(DayInterval::hm(9, 0, 17, 0).unwrap()))
    }

    #[test]
    fn no_hours_configured_means_any_time_is_bookable() {
        let sunday_night = range(utc(2026, 3, 1, 23, 0), utc(2026, 3, 2, 1, 0));
        assert!(Schedule::unrestricted().permits(chrono_tz::Europe::Berlin, &sunday_night));
    }

    #[test]
    fn hours_are_read_in_branch_local_time() {
        // Madrid is UTC+1 in winter: 09:00 local is 08:00 UTC.
        let tz = chrono_tz::Europe::Madrid;
        let s = nine_to_five();
        assert!(s.permits(tz, &range(utc(2026, 1, 12, 8, 0), utc(2026, 1, 12, 9, 0))));
        assert!(!s.permits(tz, &range(utc(2026, 1, 12, 7, 30), utc(2026, 1, 12, 8, 30))));
        assert!(!s.permits(
            tz,
            &range(utc(2026, 1, 12, 15, 30), utc(2026, 1, 12, 16, 30))
        ));
    }

    #[test]
    fn working_hours_stay_right_across_the_spring_dst_change() {
        // Berlin moves from UTC+1 to UTC+2 on 2026-03-29 (a Sunday), so use
        // a schedule open every day. 09:00 local is 08:00 UTC on the 28th
        // and 07:00 UTC on the 29th.
        let tz = chrono_tz::Europe::Berlin;
        let every_day = DayInterval::hm(9, 0, 17, 0).unwrap();
        let s =
            Schedule::weekly(WeeklyHours::new(std::array::from_fn(|_| vec![every_day])).unwrap());
        assert!(s.permits(tz, &range(utc(2026, 3, 28, 8, 0), utc(2026, 3, 28, 9, 0))));
        assert!(!s.permits(tz, &range(utc(2026, 3, 28, 7, 0), utc(2026, 3, 28, 8, 0))));
        assert!(s.permits(tz, &range(utc(2026, 3, 29, 7, 0), utc(2026, 3, 29, 8, 0))));
        assert!(!s.permits(tz, &range(utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 7, 0))));
        // Closing: 17:00 local is 15:00 UTC after the change.
        assert!(!s.permits(
            tz,
            &range(utc(2026, 3, 29, 14, 30), utc(2026, 3, 29, 15, 30))
        ));
    }

    #[test]
    fn working_hours_stay_right_across_the_autumn_dst_change() {
        // New York returns to UTC-5 on 2026-11-01 (a Sunday).
        let tz = chrono_tz::America::New_York;
        let every_day = DayInterval::hm(9, 0, 17, 0).unwrap();
        let s =
            Schedule::weekly(WeeklyHours::new(std::array::from_fn(|_| vec![every_day])).unwrap());
        // 09:00 local: 13:00 UTC on Oct 31, 14:00 UTC on Nov 1.
        assert!(s.permits(
            tz,
            &range(utc(2026, 10, 31, 13, 0), utc(2026, 10, 31, 14, 0))
        ));
        assert!(!s.permits(tz, &range(utc(2026, 11, 1, 13, 0), utc(2026, 11, 1, 14, 0))));
        assert!(s.permits(tz, &range(utc(2026, 11, 1, 14, 0), utc(2026, 11, 1, 15, 0))));
    }

    #[test]
    fn a_day_off_exception_closes_a_working_day() {
        let tz = chrono_tz::UTC;
        let s = nine_to_five()
            .with_exception(NaiveDate::from_ymd_opt(2026, 1, 12).unwrap(), vec![])
            .unwrap();
        assert!(!s.permits(tz, &range(utc(2026, 1, 12, 10, 0), utc(2026, 1, 12, 11, 0))));
        assert!(s.permits(tz, &range(utc(2026, 1, 13, 10, 0), utc(2026, 1, 13, 11, 0))));
    }

    #[test]
    fn an_exception_can_open_a_closed_day() {
        let tz = chrono_tz::UTC;
        let saturday = NaiveDate::from_ymd_opt(2026, 1, 17).unwrap();
        let s = nine_to_five()
            .with_exception(saturday, vec![DayInterval::hm(10, 0, 14, 0).unwrap()])
            .unwrap();
        assert!(s.permits(tz, &range(utc(2026, 1, 17, 10, 0), utc(2026, 1, 17, 12, 0))));
        assert!(!s.permits(tz, &range(utc(2026, 1, 17, 13, 0), utc(2026, 1, 17, 15, 0))));
    }

    #[test]
    fn adjacent_shifts_join_but_a_lunch_break_splits_the_day() {
        let tz = chrono_tz::UTC;
        let day = vec![
            DayInterval::hm(9, 0, 12, 0).unwrap(),
            DayInterval::hm(12, 0, 13, 0).unwrap(),
            DayInterval::hm(14, 0, 18, 0).unwrap(),
        ];
        let s = Schedule::weekly(WeeklyHours::new(std::array::from_fn(|_| day.clone())).unwrap());
        assert!(s.permits(
            tz,
            &range(utc(2026, 1, 12, 11, 0), utc(2026, 1, 12, 12, 30))
        ));
        assert!(!s.permits(
            tz,
            &range(utc(2026, 1, 12, 12, 30), utc(2026, 1, 12, 14, 30))
        ));
    }

    #[test]
    fn overlapping_intervals_and_inverted_intervals_are_refused() {
        assert!(DayInterval::new(600, 540).is_err());
        assert!(DayInterval::new(0, 1441).is_err());
        let mut days: [Vec<DayInterval>; 7] = Default::default();
        days[0] = vec![
            DayInterval::hm(9, 0, 12, 0).unwrap(),
            DayInterval::hm(11, 0, 13, 0).unwrap(),
        ];
        assert_eq!(WeeklyHours::new(days), Err(ScheduleError::Overlapping));
    }
}

//! proptest strategies for the domain types. Values are always valid (they
//! come through the public constructors), so properties exercise rules, not
//! parsing.

use booking_core::{
    Currency, DayInterval, Minutes, Money, Name, Quantity, RangeLimits, TimeRange, WeeklyHours,
};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::fixture::day;

/// An instant on a 5-minute grid within a week of the fixture's reference day.
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..7 * 24 * 12).prop_map(|slot| day() + Duration::minutes(slot * 5))
}

/// A booking range: starts on a 5-minute grid in the reference week and
/// lasts 5 minutes to 4 hours.
pub fn time_range() -> impl Strategy<Value = TimeRange> {
    (instant(), 1i64..=48).prop_map(|(start, len)| {
        TimeRange::new(
            start,
            start + Duration::minutes(len * 5),
            &RangeLimits::bookings(),
        )
        .unwrap_or_else(|e| unreachable!("generated ranges are valid: {e}"))
    })
}

/// A valid quantity, biased towards small numbers.
pub fn quantity() -> impl Strategy<Value = Quantity> {
    prop_oneof![4 => 1i64..=5, 1 => 1i64..=i64::from(Quantity::MAX)]
        .prop_map(|q| Quantity::new(q).unwrap_or_else(|e| unreachable!("{e}")))
}

/// A few common currencies.
pub fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::EUR),
        Just(Currency::USD),
        Just(Currency::GBP),
        Just(Currency::JPY)
    ]
}

/// A price in the given currency, up to 10 000.00.
pub fn money_in(currency: Currency) -> impl Strategy<Value = Money> {
    (0i64..=1_000_000)
        .prop_map(move |m| Money::new(m, currency).unwrap_or_else(|e| unreachable!("{e}")))
}

/// Any valid amount, including extremes that overflow when added.
pub fn money() -> impl Strategy<Value = Money> {
    (
        currency(),
        prop_oneof![0i64..=1_000_000, (i64::MAX - 1000)..=i64::MAX],
    )
        .prop_map(|(c, m)| Money::new(m, c).unwrap_or_else(|e| unreachable!("{e}")))
}

/// Buffers and durations: 0 to 60 minutes on a 5-minute grid.
pub fn minutes() -> impl Strategy<Value = Minutes> {
    (0u32..=12).prop_map(|m| Minutes::new(m * 5).unwrap_or_else(|e| unreachable!("{e}")))
}

/// A short printable name.
pub fn name() -> impl Strategy<Value = Name> {
    "[A-Za-z][A-Za-z0-9 .-]{0,30}"
        .prop_map(|s| Name::new(&s).unwrap_or_else(|e| unreachable!("{e}")))
}

/// An interval of one day on a 15-minute grid.
pub fn day_interval() -> impl Strategy<Value = DayInterval> {
    (0u16..96)
        .prop_flat_map(|open| (Just(open), open + 1..=96))
        .prop_map(|(o, c)| DayInterval::new(o * 15, c * 15).unwrap_or_else(|e| unreachable!("{e}")))
}

/// Weekly hours: per day, up to two non-overlapping intervals.
pub fn weekly_hours() -> impl Strategy<Value = WeeklyHours> {
    let day = prop::collection::vec(day_interval(), 0..=2).prop_map(|mut v| {
        v.sort();
        v.dedup_by(|b, a| b.open() < a.close());
        v
    });
    prop::array::uniform7(day)
        .prop_map(|days| WeeklyHours::new(days).unwrap_or_else(|e| unreachable!("{e}")))
}

//! Request bodies, and their conversion into domain types at the edge.
//! Unknown fields are refused (a typo must not be silently ignored); every
//! refusal names the field to fix.

use std::collections::BTreeMap;

use booking_core::{
    DayInterval, Minutes, Money, Name, Note, ProductLine, Quantity, RangeLimits, ResourceKind,
    Role, Schedule, TimeRange, WeeklyHours, schedule::WEEKDAYS,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::problem::Problem;

pub(crate) fn name(field: &str, value: &str) -> Result<Name, Problem> {
    Name::new(value).map_err(|e| Problem::invalid(field, e))
}

pub(crate) fn minutes(field: &str, value: u32) -> Result<Minutes, Problem> {
    Minutes::new(value).map_err(|e| Problem::invalid(field, e))
}

/// `{"amount_minor": 4500, "currency": "EUR"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoneyBody {
    /// Minor units of the currency (cents for EUR), 0 to 100000000000.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    amount_minor: i64,
    /// An ISO 4217 code such as `EUR`.
    currency: String,
}

impl MoneyBody {
    pub(crate) fn parse(&self, field: &str) -> Result<Money, Problem> {
        Money::price(self.amount_minor, &self.currency).map_err(|e| Problem::invalid(field, e))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BranchBody {
    pub(crate) name: String,
    pub(crate) time_zone: String,
}

impl BranchBody {
    pub(crate) fn time_zone(&self) -> Result<chrono_tz::Tz, Problem> {
        self.time_zone.parse().map_err(|_| {
            Problem::invalid(
                "time_zone",
                "use an IANA time zone name such as Europe/Madrid",
            )
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceBody {
    pub(crate) name: String,
    /// staff, room or equipment (default staff).
    #[schema(value_type = Option<String>)]
    pub(crate) kind: Option<ResourceKind>,
}

/// Working hours per weekday (`"monday": [["09:00", "17:00"]]`; a missing
/// day is closed) and dated exceptions (`"2026-12-24": []` closes the day).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleBody {
    /// `{"monday": [["09:00", "17:00"]], …}`; a missing day is closed.
    #[schema(value_type = Option<Object>)]
    working_hours: Option<BTreeMap<String, Vec<(String, String)>>>,
    /// `{"2026-12-24": []}` closes a day; a list replaces its hours.
    #[schema(value_type = Option<Object>)]
    exceptions: Option<BTreeMap<NaiveDate, Vec<(String, String)>>>,
}

fn clock(field: &str, value: &str) -> Result<u16, Problem> {
    DayInterval::minute_of(value)
        .ok_or_else(|| Problem::invalid(field, "use HH:MM between 00:00 and 24:00"))
}

fn intervals(field: &str, list: &[(String, String)]) -> Result<Vec<DayInterval>, Problem> {
    list.iter()
        .enumerate()
        .map(|(i, (open, close))| {
            let f = format!("{field}[{i}]");
            DayInterval::new(clock(&f, open)?, clock(&f, close)?)
                .map_err(|e| Problem::invalid(&f, e))
        })
        .collect()
}

impl ScheduleBody {
    pub(crate) fn parse(&self) -> Result<Schedule, Problem> {
        let weekly = match &self.working_hours {
            None => None,
            Some(days) => {
                if let Some(unknown) = days.keys().find(|d| !WEEKDAYS.contains(&d.as_str())) {
                    return Err(Problem::invalid(
                        format!("working_hours.{unknown}"),
                        "use a weekday name such as monday",
                    ));
                }
                let mut week: [Vec<DayInterval>; 7] = Default::default();
                for (i, day) in WEEKDAYS.iter().enumerate() {
                    if let Some(list) = days.get(*day) {
                        week[i] = intervals(&format!("working_hours.{day}"), list)?;
                    }
                }
                Some(WeeklyHours::new(week).map_err(|e| Problem::invalid("working_hours", e))?)
            }
        };
        let mut schedule = Schedule {
            weekly,
            exceptions: BTreeMap::new(),
        };
        for (date, list) in self.exceptions.iter().flatten() {
            let field = format!("exceptions.{date}");
            schedule = schedule
                .with_exception(*date, intervals(&field, list)?)
                .map_err(|e| Problem::invalid(&field, e))?;
        }
        Ok(schedule)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceBody {
    pub(crate) name: String,
    pub(crate) duration_minutes: u32,
    pub(crate) price: MoneyBody,
    pub(crate) buffer_before_minutes: Option<u32>,
    pub(crate) buffer_after_minutes: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceBody {
    pub(crate) price: MoneyBody,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductBody {
    pub(crate) name: String,
    pub(crate) price: MoneyBody,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StockBody {
    pub(crate) stock: i64,
    pub(crate) price: Option<MoneyBody>,
}

impl StockBody {
    pub(crate) fn stock(&self) -> Result<u32, Problem> {
        u32::try_from(self.stock)
            .ok()
            .filter(|s| *s <= booking_core::ProductBranch::MAX_STOCK)
            .ok_or_else(|| {
                Problem::invalid(
                    "stock",
                    format!("use 0 to {}", booking_core::ProductBranch::MAX_STOCK),
                )
            })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestockBody {
    pub(crate) quantity: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineBody {
    product_id: Uuid,
    quantity: i64,
}

/// `POST /v1/reservations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReservationBody {
    pub(crate) branch_id: Uuid,
    pub(crate) resource_id: Uuid,
    pub(crate) starts_at: DateTime<Utc>,
    pub(crate) ends_at: DateTime<Utc>,
    pub(crate) service_id: Option<Uuid>,
    pub(crate) products: Option<Vec<LineBody>>,
    pub(crate) note: Option<String>,
    /// Create a hold that expires after this many minutes.
    pub(crate) hold_minutes: Option<u32>,
    /// Book outside working hours (admin keys only).
    pub(crate) allow_outside_hours: Option<bool>,
}

pub(crate) fn range(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limits: &RangeLimits,
) -> Result<TimeRange, Problem> {
    TimeRange::new(start, end, limits).map_err(|e| {
        let field = match e {
            booking_core::RangeError::OutOfWindow { instant, .. } if instant == start => {
                "starts_at"
            }
            _ => "ends_at",
        };
        Problem::invalid(field, e)
    })
}

impl ReservationBody {
    pub(crate) fn lines(&self) -> Result<Vec<ProductLine>, Problem> {
        self.products
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, l)| {
                Ok(ProductLine {
                    product_id: booking_core::ProductId::from_uuid(l.product_id),
                    quantity: Quantity::new(l.quantity)
                        .map_err(|e| Problem::invalid(format!("products[{i}].quantity"), e))?,
                })
            })
            .collect()
    }

    pub(crate) fn note(&self) -> Result<Option<Note>, Problem> {
        self.note
            .as_deref()
            .map(Note::new)
            .transpose()
            .map_err(|e| Problem::invalid("note", e))
    }
}

/// `PATCH /v1/reservations/{id}`: a new time (both ends) and/or resource.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveBody {
    pub(crate) starts_at: Option<DateTime<Utc>>,
    pub(crate) ends_at: Option<DateTime<Utc>>,
    pub(crate) resource_id: Option<Uuid>,
    /// Move outside working hours (admin keys only).
    pub(crate) allow_outside_hours: Option<bool>,
}

/// `POST /v1/keys`: a new API key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyBody {
    /// `admin`, `staff` or `viewer`.
    #[schema(value_type = String)]
    pub(crate) role: Role,
    /// The name recorded on the key's events, e.g. `front desk Madrid`.
    pub(crate) actor: String,
    /// When the key stops working by itself (in the future); absent: never.
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// `PATCH /v1/keys/{id}`: another role for a key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyRoleBody {
    /// `admin`, `staff` or `viewer`.
    #[schema(value_type = String)]
    pub(crate) role: Role,
}

/// `PUT /v1/settings`: every setting (the body replaces them all).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    /// How long before its start a booking must be made (0 to 43200).
    pub(crate) min_notice_minutes: u32,
    /// How many days ahead bookings may start (1 to 3650).
    pub(crate) horizon_days: u32,
    /// How long a hold lasts (1 to 1440).
    pub(crate) hold_minutes: u32,
    /// How many unexpired holds one key may keep (1 to 10000).
    pub(crate) max_active_holds_per_key: u32,
}

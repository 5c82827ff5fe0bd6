//! The row reader each store implements, the arguments it binds, and the
//! one difference in SQL text the shared queries care about.

use booking_core::StoreError;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// A row, read by column name. Each store implements it for its driver's
/// row type; integers of any width come back as `i64`.
pub trait Columns {
    /// A UUID column (`NULL` is an error).
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    /// A nullable UUID column.
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    /// A text column.
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn text(&self, column: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    /// An integer column of any width.
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    /// A nullable integer column of any width.
    ///
    /// # Errors
    /// A missing column or a value of another type.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    /// An instant (however the store keeps it).
    ///
    /// # Errors
    /// A missing column or a value that is no instant.
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError>;
    /// A nullable instant.
    ///
    /// # Errors
    /// A missing column or a value that is no instant.
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// A JSON document.
    ///
    /// # Errors
    /// A missing column or a document that does not decode.
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError>;
}

/// A value to bind, in the width the column has (PostgreSQL's `integer`
/// is [`Arg::I32`], `bigint` is [`Arg::I64`]; SQLite takes either).
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A UUID.
    Uuid(Uuid),
    /// Text.
    Text(String),
    /// A 32-bit integer column.
    I32(i32),
    /// A 64-bit integer column.
    I64(i64),
    /// A nullable 64-bit integer column.
    OptI64(Option<i64>),
    /// Nullable text.
    OptText(Option<String>),
    /// A JSON document.
    Json(serde_json::Value),
}

/// How a store spells the parts of SQL the shared queries vary in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, row locks with `FOR UPDATE`.
    Postgres,
    /// `?1`; no row locks (a write holds the whole database).
    Sqlite,
}

impl Dialect {
    /// The `n`th placeholder (from 1).
    #[must_use]
    pub fn param(self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            Self::Sqlite => format!("?{n}"),
        }
    }

    /// What ends a `SELECT` that locks the rows it reads, if asked to.
    #[must_use]
    pub fn lock(self, lock: bool) -> &'static str {
        match self {
            Self::Postgres if lock => " FOR UPDATE",
            _ => "",
        }
    }
}

/// A stored value that does not decode into a domain type.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in the database: {e}"))
}

/// A number converted for the database or back, or an error naming it: a
/// value that does not fit is never silently replaced.
///
/// # Errors
/// [`StoreError::Internal`] if it does not fit.
pub fn int<T, U>(value: T, what: &str) -> Result<U, StoreError>
where
    T: Copy + std::fmt::Display,
    U: TryFrom<T>,
{
    U::try_from(value).map_err(|_| StoreError::Internal(format!("{what} {value} does not fit")))
}

/// A row as a JSON object (what PostgreSQL's `to_jsonb(row)` makes of
/// it), read by column name like a driver's row: several tables' rows can
/// then come back from one statement.
#[derive(Clone, Copy, Debug)]
pub struct JsonRow<'a>(pub &'a serde_json::Map<String, serde_json::Value>);

impl JsonRow<'_> {
    fn value(&self, column: &str) -> Result<&serde_json::Value, StoreError> {
        self.0
            .get(column)
            .ok_or_else(|| corrupt(column, "no such column"))
    }

    /// The column's value, `None` for `NULL`, or what `read` makes of it.
    fn opt<T>(
        &self,
        column: &str,
        read: impl FnOnce(&serde_json::Value) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            v => read(v).map(Some).ok_or_else(|| corrupt(column, v)),
        }
    }

    fn required<T>(&self, column: &str, value: Option<T>) -> Result<T, StoreError> {
        value.ok_or_else(|| corrupt(column, "NULL"))
    }
}

impl Columns for JsonRow<'_> {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        self.required(column, self.opt_uuid(column)?)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt(column, |v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.required(column, self.opt_text(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.opt(column, |v| v.as_str().map(str::to_owned))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.required(column, self.opt_int(column)?)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.opt(column, serde_json::Value::as_i64)
    }
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.required(column, self.opt_instant(column)?)
    }
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt(column, |v| {
            v.as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
        })
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        T::deserialize(self.value(column)?).map_err(|e| corrupt(column, e))
    }
}

#[cfg(test)]
mod tests {
    use super::{Columns, JsonRow};

    fn row() -> serde_json::Map<String, serde_json::Value> {
        serde_json::json!({
            "id": "01a2396c-d717-75f9-8d8f-d572a18c0f59",
            "name": "Madrid",
            "stock": 7,
            "big": 9_007_199_254_740_993_i64,
            "at": "2026-12-03T01:30:00.123456+01:00",
            "note": null,
            "schedule": {"weekly": []}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn columns_read_as_a_driver_row_reads_them() {
        let fields = row();
        let r = JsonRow(&fields);
        assert_eq!(
            r.uuid("id").unwrap().to_string(),
            "01a2396c-d717-75f9-8d8f-d572a18c0f59"
        );
        assert_eq!(r.text("name").unwrap(), "Madrid");
        assert_eq!(r.int("stock").unwrap(), 7);
        assert_eq!(
            r.int("big").unwrap(),
            9_007_199_254_740_993,
            "exact past 2^53"
        );
        assert_eq!(
            r.instant("at").unwrap().to_rfc3339(),
            "2026-12-03T00:30:00.123456+00:00"
        );
        assert_eq!(r.opt_text("note").unwrap(), None);
        let schedule: serde_json::Value = r.json("schedule").unwrap();
        assert_eq!(schedule["weekly"], serde_json::json!([]));
    }

    #[test]
    fn a_missing_null_or_mistyped_value_is_an_error_not_a_default() {
        let fields = row();
        let r = JsonRow(&fields);
        assert!(r.text("absent").is_err(), "a missing column");
        assert!(r.text("note").is_err(), "NULL where a value is required");
        assert!(r.int("name").is_err(), "text where a number is");
        assert!(r.uuid("name").is_err(), "text that is no UUID");
        assert!(r.instant("stock").is_err(), "a number where an instant is");
    }
}

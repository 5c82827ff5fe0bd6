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

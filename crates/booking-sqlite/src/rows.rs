//! Rows as `booking-sql` reads them ([`booking_sql::Columns`] for a
//! `SqliteRow`: instants are microseconds since the epoch, JSON is text),
//! and arguments bound the same way. Decoding into domain types is
//! `booking_sql::decode`, shared with PostgreSQL.

use booking_core::StoreError;
use booking_sql::{Arg, Columns, corrupt};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{Decode, Row as _, Sqlite, Type};
use uuid::Uuid;

use crate::error::store_error;

pub(crate) use booking_sql::{RESERVATION_COLUMNS, int};

/// An instant as stored: microseconds since the epoch.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn instant(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt("instant", us))
}

/// A row, read by column name.
pub(crate) struct Row<'r>(pub(crate) &'r SqliteRow);

impl Row<'_> {
    pub(crate) fn get<'r, T>(&'r self, column: &str) -> Result<T, StoreError>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite>,
    {
        self.0.try_get(column).map_err(store_error)
    }
}

impl Columns for Row<'_> {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        self.get(column)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.get(column)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        instant(self.get(column)?)
    }
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.get::<Option<i64>>(column)?.map(instant).transpose()
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let Json(value) = self.get::<Json<T>>(column)?;
        Ok(value)
    }
}

/// Decodes every row with `decode`.
pub(crate) fn all<T>(
    rows: &[SqliteRow],
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|row| decode(&Row(row))).collect()
}

/// Binds `args` in order.
pub(crate) fn bind<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments<'q>>,
    args: Vec<Arg>,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Uuid(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::I32(v) => query.bind(i64::from(v)),
            Arg::I64(v) => query.bind(v),
            Arg::OptI64(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Json(v) => query.bind(Json(v)),
        };
    }
    query
}

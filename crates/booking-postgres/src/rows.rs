//! Rows as `booking-sql` reads them ([`booking_sql::Columns`] for a
//! `PgRow`), arguments bound the same way, and `tstzrange`. Decoding into
//! domain types is `booking_sql::decode`, shared with SQLite.

use std::ops::Bound;

use booking_core::{StoreError, TimeRange};
use booking_sql::{Arg, Columns};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgArguments, PgRow, types::PgRange};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Column as _, Row as _, TypeInfo as _};
use sqlx::{Decode, Postgres, Type};
use uuid::Uuid;

use crate::error::store_error;

pub(crate) use booking_sql::{RESERVATION_COLUMNS, int};

/// `[start, end)` as a `tstzrange`.
pub(crate) fn pg_range(r: &TimeRange) -> PgRange<DateTime<Utc>> {
    PgRange {
        start: Bound::Included(r.start()),
        end: Bound::Excluded(r.end()),
    }
}

/// A row, read by column name.
pub(crate) struct Row<'r>(pub(crate) &'r PgRow);

impl Row<'_> {
    fn get<'r, T>(&'r self, column: &str) -> Result<T, StoreError>
    where
        T: Decode<'r, Postgres> + Type<Postgres>,
    {
        self.0.try_get(column).map_err(store_error)
    }

    /// `integer` or `bigint`, whichever the column is.
    fn any_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        let kind = self.0.try_column(column).map_err(store_error)?;
        match kind.type_info().name() {
            "INT2" => Ok(self.get::<Option<i16>>(column)?.map(i64::from)),
            "INT4" => Ok(self.get::<Option<i32>>(column)?.map(i64::from)),
            _ => self.get(column),
        }
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
        self.any_int(column)?
            .ok_or_else(|| booking_sql::corrupt(column, "NULL"))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.any_int(column)
    }
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.get(column)
    }
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.get(column)
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let Json(value) = self.get::<Json<T>>(column)?;
        Ok(value)
    }
}

/// Decodes every row with `decode`.
pub(crate) fn all<T>(
    rows: &[PgRow],
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|row| decode(&Row(row))).collect()
}

/// Binds `args` in order.
pub(crate) fn bind(
    mut query: Query<'_, Postgres, PgArguments>,
    args: Vec<Arg>,
) -> Query<'_, Postgres, PgArguments> {
    for arg in args {
        query = match arg {
            Arg::Uuid(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::I32(v) => query.bind(v),
            Arg::I64(v) => query.bind(v),
            Arg::OptI64(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Json(v) => query.bind(Json(v)),
        };
    }
    query
}

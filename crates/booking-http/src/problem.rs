//! Every refusal as RFC 9457 problem+json, in one place. 4xx bodies say
//! what to fix; 5xx bodies say nothing internal. The request id is added
//! to every problem body by the `request_id` middleware.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booking_core::{
    Busy, CatalogError, CreateError, Entity, InvalidInput, KeyError, MoveError, StoreError,
    TransitionError,
};
use serde_json::{Map, Value, json};

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem response.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` (its stable `type` is `/problems/{kind}`).
    #[must_use]
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// Adds an extension member.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.extra.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Asks the client to retry after `seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The field a 422 names, if any.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        self.extra.get("field").and_then(Value::as_str)
    }

    /// 422 naming the field and what is wrong with it.
    #[must_use]
    pub fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        let (field, reason) = (field.into(), reason.to_string());
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "The request is not acceptable",
            format!("{field}: {reason}"),
        )
        .with("field", &field)
        .with("reason", &reason)
    }

    /// 404 for a record that does not exist for the caller's tenant.
    #[must_use]
    pub fn not_found(entity: Entity) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{entity} does not exist"),
        )
        .with("entity", entity)
    }

    /// 401: no valid API key.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            "send a valid API key as `Authorization: Bearer <key>`",
        )
    }

    /// 403: the key's role may not do this.
    #[must_use]
    pub fn forbidden(role: booking_core::Role, needs: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this role",
            format!("a {} key cannot {needs}", role.as_str()),
        )
        .with("role", role.as_str())
    }

    /// 413: the body is larger than [`crate::BODY_LIMIT`].
    #[must_use]
    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Body too large",
            format!(
                "the body is larger than this server accepts ({} bytes)",
                crate::BODY_LIMIT
            ),
        )
        .with("limit_bytes", crate::BODY_LIMIT)
    }

    /// 503: the store or lock is unavailable or busy; retry soon.
    #[must_use]
    pub fn unavailable(detail: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
            detail,
        )
        .retry_after(1)
    }

    /// 500 that reveals nothing; the cause goes to the log.
    #[must_use]
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed; quote the request id when reporting this",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("type".into(), json!(format!("/problems/{}", self.kind)));
        body.insert("title".into(), json!(self.title));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        body.extend(self.extra);
        let mut response = (self.status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<InvalidInput> for Problem {
    fn from(e: InvalidInput) -> Self {
        Self::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Self::not_found(entity),
            StoreError::Unavailable(_) => {
                Self::unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Internal(cause) => Self::internal(&cause),
        }
    }
}

impl From<CatalogError> for Problem {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(entity) => Self::not_found(entity),
            CatalogError::TooMuch { max } => {
                Self::invalid("stock", format!("at most {max} units per branch"))
            }
            CatalogError::InUse(entity) => Self::new(
                StatusCode::CONFLICT,
                "in-use",
                "Still used by reservations",
                format!(
                    "{entity} is used by reservations, whose history keeps it; it cannot be deleted"
                ),
            )
            .with("entity", entity),
            CatalogError::Busy(b) => busy(b),
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<KeyError> for Problem {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound(entity) => Self::not_found(entity),
            KeyError::LastAdmin(id) => Self::new(
                StatusCode::CONFLICT,
                "last-admin-key",
                "The tenant's last admin key",
                format!(
                    "key {id} is the tenant's last active admin key: revoking or demoting it \
                     would lock the tenant out; create another admin key first"
                ),
            )
            .with("key_id", id),
            KeyError::Revoked(id) => Self::new(
                StatusCode::CONFLICT,
                "key-revoked",
                "The key is revoked",
                format!("key {id} is revoked and cannot be changed; create a new key"),
            )
            .with("key_id", id),
            KeyError::Invalid(e) => e.into(),
            KeyError::Busy(b) => busy(b),
            KeyError::Store(e) => e.into(),
        }
    }
}

fn busy(b: Busy) -> Problem {
    match b {
        Busy::Lock { waited } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "another booking of the same resource or stock is in progress; retry shortly",
        )
        .with(
            "waited_ms",
            u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        ),
        Busy::Store => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "the database is busy with concurrent writes; retry shortly",
        ),
    }
    .retry_after(1)
}

fn slot_taken(s: booking_core::SlotTaken) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "slot-taken",
        "The slot is taken",
        s.to_string(),
    )
    .with("conflicting_reservation_id", s.conflicting)
    .with("conflicting_range", s.range)
}

fn out_of_stock(o: booking_core::OutOfStock) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "out-of-stock",
        "Not enough stock",
        o.to_string(),
    )
    .with("product_id", o.product_id)
    .with("branch_id", o.branch_id)
    .with("requested", o.requested)
    .with("available", o.available)
}

fn not_at_branch(e: booking_core::ResourceNotAtBranch) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "resource-not-at-branch",
        "The resource does not work at this branch",
        e.to_string(),
    )
    .with("resource_id", e.resource_id)
    .with("branch_id", e.branch_id)
}

fn outside_hours(e: booking_core::OutsideWorkingHours) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside-working-hours",
        "Outside working hours",
        e.to_string(),
    )
    .with("resource_id", e.resource_id)
    .with("branch_id", e.branch_id)
}

fn stale(e: booking_core::StaleVersion) -> Problem {
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "stale-version",
        "The reservation has changed",
        e.to_string(),
    )
    .with("expected_version", e.expected)
    .with("current_version", e.actual)
}

fn transition(e: booking_core::InvalidTransition) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "invalid-transition",
        "Not possible in this state",
        e.to_string(),
    )
    .with("status", e.from.as_str())
    .with("action", e.action)
}

impl From<CreateError> for Problem {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Invalid(i) => i.into(),
            CreateError::NotFound(entity) => Self::not_found(entity),
            CreateError::ResourceNotAtBranch(x) => not_at_branch(x),
            CreateError::OutsideWorkingHours(x) => outside_hours(x),
            CreateError::SlotTaken(x) => slot_taken(x),
            CreateError::OutOfStock(x) => out_of_stock(x),
            CreateError::HoldOutOfRange { max } => Self::invalid(
                "hold_minutes",
                format!("use 1 to {} minutes", max.num_minutes()),
            ),
            CreateError::Busy(x) => busy(x),
            CreateError::Store(x) => x.into(),
        }
    }
}

impl From<MoveError> for Problem {
    fn from(e: MoveError) -> Self {
        match e {
            MoveError::Invalid(i) => i.into(),
            MoveError::NotFound(entity) => Self::not_found(entity),
            MoveError::StaleVersion(x) => stale(x),
            MoveError::InvalidTransition(x) => transition(x),
            MoveError::ResourceNotAtBranch(x) => not_at_branch(x),
            MoveError::OutsideWorkingHours(x) => outside_hours(x),
            MoveError::SlotTaken(x) => slot_taken(x),
            MoveError::Busy(x) => busy(x),
            MoveError::Store(x) => x.into(),
        }
    }
}

impl From<TransitionError> for Problem {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotFound(entity) => Self::not_found(entity),
            TransitionError::StaleVersion(x) => stale(x),
            TransitionError::InvalidTransition(x) => transition(x),
            TransitionError::Busy(x) => busy(x),
            TransitionError::Store(x) => x.into(),
        }
    }
}

//! Every refusal as RFC 9457 problem+json, in one place. 4xx bodies say
//! what to fix; 5xx bodies say nothing internal. The request id is added
//! to every problem body by the `request_id` middleware.

mod refusals;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booking_core::Entity;
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

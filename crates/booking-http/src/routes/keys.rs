//! API keys (admin keys only): `POST /v1/keys` makes one and shows its
//! secret once; `GET /v1/keys` lists them (never a secret);
//! `PATCH /v1/keys/{id}` gives one another role; `DELETE /v1/keys/{id}`
//! revokes one at once, on every node. Each change is an audited event.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booking_core::{Actor, ApiKeyId, Entity, KeySpec};
use uuid::Uuid;

use super::id;
use crate::auth::Caller;
use crate::dto::{KeyBody, KeyRoleBody};
use crate::json::Body;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{Items, KeyView, NewKeyView};

fn key_id(raw: &str) -> Result<ApiKeyId, Problem> {
    id(raw, Entity::ApiKey, ApiKeyId::from_uuid(Uuid::nil()))
}

fn must_manage_keys(caller: &Caller) -> Result<(), Problem> {
    if caller.role().may_administer() {
        Ok(())
    } else {
        Err(Problem::forbidden(caller.role(), "manage API keys"))
    }
}

#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    summary = "Create an API key (its secret is shown once)",
    request_body = KeyBody,
    responses(
        (status = 201, description = "Created; `api_key` is the secret, never shown again", body = NewKeyView),
        crate::views::Problems,
    )
)]
pub(crate) async fn create_key(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<KeyBody>,
) -> Result<Response, Problem> {
    must_manage_keys(&caller)?;
    let spec = KeySpec {
        role: b.role,
        actor: Actor::new(&b.actor).map_err(|e| Problem::invalid("actor", e))?,
        expires_at: b.expires_at,
    };
    let access = s.services.access();
    let made = access
        .create_key(caller.tenant(), spec, &caller.by())
        .await?;
    let body = NewKeyView {
        key: KeyView::new(&made.key, s.services.catalog().now()),
        api_key: made.secret,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/keys/{}", made.key.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "keys",
    summary = "List the tenant's API keys (revoked and expired ones too; never a secret)",
    responses(
        (status = 200, description = "Success", body = Items<KeyView>),
        crate::views::Problems,
    )
)]
pub(crate) async fn list_keys(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<KeyView>>, Problem> {
    must_manage_keys(&caller)?;
    let now = s.services.catalog().now();
    let keys = s.services.access().keys(caller.tenant()).await?;
    Ok(Json(Items {
        items: keys.iter().map(|k| KeyView::new(k, now)).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/keys/{id}",
    tag = "keys",
    summary = "Get an API key (never its secret)",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Success", body = KeyView),
        crate::views::Problems,
    )
)]
pub(crate) async fn get_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<KeyView>, Problem> {
    must_manage_keys(&caller)?;
    let key = s
        .services
        .access()
        .key(caller.tenant(), key_id(&raw)?)
        .await?;
    Ok(Json(KeyView::new(&key, s.services.catalog().now())))
}

#[utoipa::path(
    patch,
    path = "/v1/keys/{id}",
    tag = "keys",
    summary = "Give an API key another role",
    params(("id" = String, Path, description = "The key's id")),
    request_body = KeyRoleBody,
    responses(
        (status = 200, description = "Success", body = KeyView),
        (status = 409, description = "`last-admin-key`: the tenant's last active admin key; `key-revoked`: a revoked key", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn change_role(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<KeyRoleBody>,
) -> Result<Json<KeyView>, Problem> {
    must_manage_keys(&caller)?;
    let key = s
        .services
        .access()
        .change_role(caller.tenant(), key_id(&raw)?, b.role, &caller.by())
        .await?;
    Ok(Json(KeyView::new(&key, s.services.catalog().now())))
}

#[utoipa::path(
    delete,
    path = "/v1/keys/{id}",
    tag = "keys",
    summary = "Revoke an API key at once, on every node (its open streams close)",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 409, description = "`last-admin-key`: the tenant's last active admin key", content_type = "application/problem+json", body = crate::views::ProblemView),
        crate::views::Problems,
    )
)]
pub(crate) async fn revoke_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, Problem> {
    must_manage_keys(&caller)?;
    s.services
        .access()
        .revoke_key(caller.tenant(), key_id(&raw)?, &caller.by())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

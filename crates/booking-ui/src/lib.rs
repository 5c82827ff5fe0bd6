//! # booking-ui
//!
//! The live calendar staff use: `<booking-calendar>`, a web component in
//! plain JavaScript modules (no framework, no build step), and a start page
//! that asks for an API key and a branch. The files live in `web/` at the
//! top of the repository and are embedded in the binary, so a server serves
//! them with no files beside it.
//!
//! - `GET /` the start page (`index.html`);
//! - `GET /ui/{file}` the modules: `booking-calendar.js` (the component,
//!   the one an embedder imports), `time.js` (wall-clock time in a zone),
//!   `api.js` (the HTTP client), `live.js` (the stream with reconnects),
//!   `app.js` and `page.css` (the start page).
//!
//! Every answer is `no-cache` with an `ETag` (a new binary serves new
//! files, an unchanged one answers 304) and `nosniff`; the page gets a
//! strict Content-Security-Policy (scripts and styles from this origin
//! only, connections to this origin only, no frames, no inline script).
//! The component talks to the API under `/v1` with the key it is given
//! (never in a URL); it needs nothing else from this crate.

#![forbid(unsafe_code)]

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../../web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("page.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("booking-calendar.js", JS),
    asset!("time.js", JS),
    asset!("api.js", JS),
    asset!("live.js", JS),
];

/// The start page's policy: everything from this origin only; styles the
/// component builds with constructable stylesheets and the CSS object
/// model are not inline styles, so no `'unsafe-inline'` is needed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// A weak validator from the bytes (FNV-1a): the same binary always
/// answers the same tag for a file.
fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// Each asset's tag, hashed once: the files do not change while the
/// process runs.
fn tag_of(asset: &'static Asset) -> &'static str {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let tags = TAGS.get_or_init(|| ASSETS.iter().map(|a| etag(a.body)).collect());
    ASSETS
        .iter()
        .position(|a| std::ptr::eq(a, asset))
        .map_or("", |i| tags[i].as_str())
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let tag = tag_of(asset);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(tag) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, tag);
    }
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

fn not_found(name: &str) -> Response {
    // Built as JSON, not formatted: a name with control or odd characters
    // (`/ui/%1b%5b31m`) must still give a body a client can parse.
    let body = serde_json::json!({
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": format!(
            "no file {} under /ui/; the component is /ui/booking-calendar.js",
            serde_json::Value::from(name)
        ),
    })
    .to_string();
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}

async fn index(headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(asset) => serve(asset, &headers),
        None => not_found("index.html"),
    }
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match find(&name) {
        Some(asset) => serve(asset, &headers),
        None => not_found(&name),
    }
}

/// `GET /` (the start page) and `GET /ui/{file}` (the component's modules).
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ui/", get(index))
        .route("/ui/{file}", get(file))
}

/// The names of the embedded files, as served under `/ui/`.
#[must_use]
pub fn files() -> Vec<&'static str> {
    ASSETS.iter().map(|a| a.name).collect()
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_start_page_is_served_with_a_strict_policy() {
        let response = get("/", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("/ui/app.js"), "{html}");
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "no inline script or style: the policy would block them"
        );
    }

    #[tokio::test]
    async fn every_module_is_served_as_javascript_and_revalidates() {
        for name in files().into_iter().filter(|n| n.ends_with(".js")) {
            let response = get(&format!("/ui/{name}"), None).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], JS, "{name}");
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
            let tag = response.headers()[header::ETAG]
                .to_str()
                .unwrap()
                .to_owned();
            let again = get(&format!("/ui/{name}"), Some(&tag)).await;
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{name}");
        }
    }

    #[tokio::test]
    async fn an_unknown_file_is_a_problem_not_a_page() {
        for path in [
            "/ui/nope.js",
            "/ui/..%2FCargo.toml",
            "/ui/index.htm",
            "/ui/%1b%5b31m%e2%80%ae\"%5C",
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
            let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
            let problem: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body:?}"));
            assert_eq!(problem["type"], "/problems/not-found", "{path}");
        }
    }

    #[test]
    fn modules_import_only_modules_that_are_served() {
        let served = files();
        let mut imports = 0;
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for (_, rest) in text
                .match_indices("from '")
                .chain(text.match_indices("import '"))
                .map(|(at, m)| text.split_at(at + m.len()))
            {
                let target = rest.split_once('\'').map(|(t, _)| t).unwrap_or(rest);
                let name = target.strip_prefix("./").unwrap_or_else(|| {
                    panic!("{}: imports {target}, not a file beside it", asset.name)
                });
                assert!(served.contains(&name), "{} imports {name}", asset.name);
                imports += 1;
            }
        }
        assert!(imports >= 5, "the modules import each other: {imports}");
    }
}

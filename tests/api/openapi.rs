//! The OpenAPI document is generated from the code and matches the routes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(the_openapi_document_lists_every_route_and_only_real_ones);

async fn the_openapi_document_lists_every_route_and_only_real_ones(app: TestApp) {
    let doc = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    let paths = doc.body["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path
                .replace("{id}", &uuid::Uuid::nil().to_string())
                .replace("{branch_id}", &uuid::Uuid::nil().to_string());
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET).then(|| json!({}));
            let reply = app.call(m.clone(), &concrete, Some(&app.admin), body).await;
            assert!(
                !matches!(
                    reply.problem(),
                    "/problems/no-such-route" | "/problems/method-not-allowed"
                ),
                "{m} {path} is documented but not routed"
            );
        }
    }
    assert_eq!(operations, 34, "every /v1 operation is documented");
    let schemas = &doc.body["components"]["schemas"];
    for name in [
        "ReservationBody",
        "ReservationView",
        "ReservationPage",
        "BranchView",
        "ScheduleLinkView",
        "OfferView",
        "StockChangedView",
        "ProblemView",
    ] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    let created = &doc.body["paths"]["/v1/reservations"]["post"]["responses"]["201"];
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReservationView",
        "a created reservation is documented as the reservation"
    );
    assert!(doc.body["components"]["securitySchemes"]["api_key"].is_object());
}

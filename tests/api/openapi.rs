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
    assert_eq!(operations, 56, "every /v1 operation is documented");
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
        "KeyView",
        "NewKeyView",
        "EventPage",
    ] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    // Every event type is documented with its payload struct, chosen by
    // `type`.
    let mapping = schemas["Event"]["discriminator"]["mapping"]
        .as_object()
        .expect("events are told apart by type");
    for t in booking_core::EventType::ALL {
        let target = mapping[t.as_str()].as_str().expect("a documented type");
        let envelope = &schemas[target.trim_start_matches("#/components/schemas/")];
        assert!(
            envelope["properties"]["type"]["enum"]
                .as_array()
                .is_some_and(|types| types.contains(&json!(t.as_str()))),
            "{t}: {envelope}"
        );
        let payload = envelope["properties"]["data"]["$ref"]
            .as_str()
            .expect("a payload struct");
        assert!(
            schemas[payload.trim_start_matches("#/components/schemas/")]["properties"].is_object(),
            "{t}'s payload {payload} is documented"
        );
    }
    for nested in [
        "ReservationSnapshot",
        "Amount",
        "ScheduleSnapshot",
        "KeySnapshot",
        "StockCause",
    ] {
        assert!(schemas[nested].is_object(), "{nested} is documented");
    }
    let created = &doc.body["paths"]["/v1/reservations"]["post"]["responses"]["201"];
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReservationView",
        "a created reservation is documented as the reservation"
    );
    assert!(doc.body["components"]["securitySchemes"]["api_key"].is_object());
}

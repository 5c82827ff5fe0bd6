//! 200 concurrent HTTP creates for one slot.

use reqwest::StatusCode;

use crate::helpers::{TestApp, on_both_stores};

on_both_stores!(two_hundred_concurrent_http_creates_for_one_slot_make_one_booking);

async fn two_hundred_concurrent_http_creates_for_one_slot_make_one_booking(app: TestApp) {
    let c = app.clinic().await;
    let body = c.booking("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z");
    let requests = (0..200).map(|_| {
        let (client, base, staff, body) = (
            app.client.clone(),
            app.base.clone(),
            app.staff.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            let r = client
                .post(format!("{base}/v1/reservations"))
                .bearer_auth(staff)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::helpers::reply(r).await
        })
    });
    let replies: Vec<_> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let taken = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT && r.problem() == "/problems/slot-taken")
        .count();
    let server_errors: Vec<_> = replies
        .iter()
        .filter(|r| r.status.is_server_error())
        .map(|r| r.body.to_string())
        .collect();
    assert!(server_errors.is_empty(), "5xx: {server_errors:?}");
    assert_eq!((created, taken), (1, 199));
}

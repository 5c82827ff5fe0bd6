//! API keys and idempotency records.

#[allow(clippy::wildcard_imports)]
use super::*;
use booking_core::{
    ApiKey, ApiKeyId, Claim, IdempotencyKey, IdempotencyScope, KeyError, KeyHash, KeyUpdate, Role,
};

fn hash(n: u8) -> KeyHash {
    KeyHash::from_hex(&format!("{n:02x}").repeat(32)).expect("valid hash")
}

/// Keys are found by the hash of their secret only, and only for an
/// existing tenant; a tenant's keys are listed, revoked and given another
/// role, each change recorded with the key (never its hash) and who made
/// it; the last active admin key stays.
pub async fn api_keys_are_found_listed_revoked_and_recorded(store: Store) {
    assert!(
        !store.has_tenants().await.unwrap(),
        "a fresh store has no tenants"
    );
    let c = Clinic::setup(&*store).await;
    let other = Clinic::setup_named(&*store, "Other").await;
    assert!(store.has_tenants().await.unwrap());
    let key = |role, expires_at| ApiKey {
        id: ApiKeyId::generate(),
        tenant_id: c.tenant,
        role,
        actor: c.actor.clone(),
        created_at: t(6, 0),
        expires_at,
        revoked_at: None,
    };
    let admin = key(Role::Admin, None);
    let staff = key(Role::Staff, Some(t(20, 0)));
    for (k, n) in [(&admin, 1), (&staff, 2)] {
        let events = engine::insert_api_key(&*store, k, &hash(n), &c.by)
            .await
            .unwrap();
        let [created] = events.as_slice() else {
            panic!("one event per key: {events:?}")
        };
        let EventPayload::ApiKeyCreated(change) = &created.payload else {
            panic!("ApiKeyCreated: {created:?}")
        };
        assert_eq!(change.after.id, k.id.as_uuid());
        assert_eq!(created.by, c.by, "who made it, with key and request ids");
        assert!(
            !serde_json::to_string(created)
                .unwrap()
                .contains(hash(n).as_str()),
            "an event never carries a key's hash"
        );
    }
    assert_eq!(store.api_key(&hash(2)).await.unwrap(), Some(staff.clone()));
    assert_eq!(store.api_key(&hash(9)).await.unwrap(), None);
    let mut listed = store.api_keys(c.tenant).await.unwrap();
    listed.sort_by_key(|k| k.id);
    let mut expected = vec![admin.clone(), staff.clone()];
    expected.sort_by_key(|k| k.id);
    assert_eq!(listed, expected, "listed by id, expiry kept");
    assert!(store.api_keys(other.tenant).await.unwrap().is_empty());

    let change = |id, update| engine::change_key(&*store, c.tenant, id, update, &c.by, t(9, 0));
    let (demoted, events) = change(staff.id, KeyUpdate::Role(Role::Viewer))
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Viewer);
    assert!(matches!(
        events.as_slice(),
        [e] if matches!(&e.payload, EventPayload::ApiKeyRoleChanged(k)
            if k.before.as_ref().map(|b| b.role) == Some(Role::Staff) && k.after.role == Role::Viewer)
    ));
    let (revoked, _) = change(staff.id, KeyUpdate::Revoke).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(t(9, 0)));
    let stored = store.api_key(&hash(2)).await.unwrap().unwrap();
    assert_eq!(
        (stored.role, stored.revoked_at),
        (Role::Viewer, Some(t(9, 0)))
    );
    let (_, again) = change(staff.id, KeyUpdate::Revoke).await.unwrap();
    assert!(again.is_empty(), "revoking twice records nothing");
    assert_eq!(
        change(admin.id, KeyUpdate::Revoke).await.map(drop),
        Err(KeyError::LastAdmin(admin.id))
    );
    assert_eq!(
        engine::change_key(
            &*store,
            other.tenant,
            admin.id,
            KeyUpdate::Revoke,
            &c.by,
            t(9, 0)
        )
        .await
        .map(drop),
        Err(KeyError::NotFound(Entity::ApiKey(admin.id))),
        "another tenant's key is not found"
    );
    let orphan = ApiKey {
        id: ApiKeyId::generate(),
        tenant_id: booking_core::TenantId::generate(),
        ..admin
    };
    assert!(matches!(
        engine::insert_api_key(&*store, &orphan, &hash(3), &c.by).await,
        Err(StoreError::NotFound(Entity::Tenant(_)))
    ));
}

/// A new API key of the clinic's tenant with `role`, stored; the scope of
/// its idempotency records.
async fn scope_of(store: &Store, c: &Clinic, role: Role, n: u8) -> IdempotencyScope {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        tenant_id: c.tenant,
        role,
        actor: c.actor.clone(),
        created_at: t(6, 0),
        expires_at: None,
        revoked_at: None,
    };
    engine::insert_api_key(&**store, &key, &hash(n), &c.by)
        .await
        .unwrap();
    IdempotencyScope {
        tenant: c.tenant,
        api_key: key.id,
    }
}

/// No lease runs out in these tests unless they say so.
fn never() -> chrono::DateTime<chrono::Utc> {
    t(0, 0)
}

/// A key is claimed once; the same request waits, then replays the stored
/// response; a different request with the key is a mismatch; an abandoned
/// claim frees the key; records are per API key (so per tenant).
pub async fn idempotency_keys_replay_and_refuse_mismatches(store: Store) {
    let a = Clinic::setup_named(&*store, "A").await;
    let b = Clinic::setup_named(&*store, "B").await;
    let staff = scope_of(&store, &a, Role::Staff, 11).await;
    let viewer = scope_of(&store, &a, Role::Viewer, 12).await;
    let other = scope_of(&store, &b, Role::Staff, 13).await;
    let key = IdempotencyKey::new("order-42").unwrap();
    let claim = |scope, fp: &'static str| {
        let store = Arc::clone(&store);
        let key = key.clone();
        async move {
            store
                .claim_idempotency(scope, &key, fp, t(9, 0), never())
                .await
                .unwrap()
        }
    };
    assert_eq!(claim(viewer, "fp1").await, Claim::New);
    assert_eq!(
        claim(staff, "fp1").await,
        Claim::New,
        "another key's claim of the same key and request is its own"
    );
    assert_eq!(claim(staff, "fp1").await, Claim::InProgress);
    assert_eq!(claim(staff, "fp2").await, Claim::Mismatch);
    assert_eq!(claim(other, "fp1").await, Claim::New, "and per tenant");
    store
        .finish_idempotency(staff, &key, t(9, 0), "{\"id\":1}")
        .await
        .unwrap();
    assert_eq!(
        claim(staff, "fp1").await,
        Claim::Replay {
            outcome: "{\"id\":1}".into()
        }
    );
    assert_eq!(
        claim(viewer, "fp1").await,
        Claim::InProgress,
        "one key's outcome is never replayed to another"
    );
    assert_eq!(claim(staff, "fp2").await, Claim::Mismatch);
    store
        .abandon_idempotency(other, &key, t(9, 0))
        .await
        .unwrap();
    assert_eq!(
        claim(other, "fp9").await,
        Claim::New,
        "an abandoned claim frees the key"
    );
    store
        .abandon_idempotency(staff, &key, t(9, 0))
        .await
        .unwrap();
    assert!(
        matches!(claim(staff, "fp1").await, Claim::Replay { .. }),
        "a finished claim is never abandoned"
    );
}

/// A claim is abandoned by the instant it was made at, and only then (as
/// for one whose answer was lost, which its maker cannot know it made):
/// another's claim of the key, or a finished one, stays.
pub async fn a_claim_is_abandoned_by_its_time_only(store: Store) {
    let a = Clinic::setup_named(&*store, "A").await;
    let scope = scope_of(&store, &a, Role::Staff, 21).await;
    let key = IdempotencyKey::new("lost-1").unwrap();
    let claim = |minute| {
        let (store, key) = (Arc::clone(&store), key.clone());
        async move {
            store
                .claim_idempotency(scope, &key, "fp", t(9, minute), never())
                .await
                .unwrap()
        }
    };
    let abandon = |minute| {
        let (store, key) = (Arc::clone(&store), key.clone());
        async move {
            store
                .abandon_idempotency(scope, &key, t(9, minute))
                .await
                .unwrap();
        }
    };
    assert_eq!(claim(0).await, Claim::New);
    abandon(1).await;
    assert_eq!(
        claim(2).await,
        Claim::InProgress,
        "a claim made at another time is someone else's"
    );
    abandon(0).await;
    assert_eq!(claim(3).await, Claim::New, "the claim made at 9:00 is gone");
    store
        .finish_idempotency(scope, &key, t(9, 3), "{}")
        .await
        .unwrap();
    abandon(3).await;
    assert!(
        matches!(claim(4).await, Claim::Replay { .. }),
        "a finished claim is never abandoned"
    );
}

/// An unfinished claim older than the lease (its request died with its
/// node) is taken over by the same request's retry, which runs; the old
/// claim's maker can then neither finish nor abandon it. A finished one,
/// or another request's, is never taken over.
pub async fn a_claim_past_its_lease_is_taken_over_and_its_old_maker_fenced_off(store: Store) {
    let a = Clinic::setup_named(&*store, "A").await;
    let scope = scope_of(&store, &a, Role::Staff, 31).await;
    let key = IdempotencyKey::new("died-1").unwrap();
    let claim = |fp: &'static str, minute, stale_before| {
        let (store, key) = (Arc::clone(&store), key.clone());
        async move {
            store
                .claim_idempotency(scope, &key, fp, t(9, minute), stale_before)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("fp", 0, never()).await, Claim::New);
    assert_eq!(
        claim("fp", 1, t(9, 0)).await,
        Claim::InProgress,
        "a claim made at the cut-off still holds"
    );
    assert_eq!(
        claim("other", 2, t(9, 1)).await,
        Claim::Mismatch,
        "another request never takes it over"
    );
    assert_eq!(
        claim("fp", 2, t(9, 1)).await,
        Claim::New,
        "past its lease, the same request's retry takes it over"
    );
    // The old maker wakes up: its outcome and its release are ignored.
    store
        .finish_idempotency(scope, &key, t(9, 0), "{\"old\":true}")
        .await
        .unwrap();
    store
        .abandon_idempotency(scope, &key, t(9, 0))
        .await
        .unwrap();
    assert_eq!(
        claim("fp", 3, never()).await,
        Claim::InProgress,
        "the new claim holds"
    );
    store
        .finish_idempotency(scope, &key, t(9, 2), "{\"new\":true}")
        .await
        .unwrap();
    assert_eq!(
        claim("fp", 50, t(9, 40)).await,
        Claim::Replay {
            outcome: "{\"new\":true}".into()
        },
        "a finished claim is replayed, never taken over"
    );
}

/// Of many concurrent claims of one key, exactly one is new.
pub async fn concurrent_claims_of_one_key_give_one_new(store: Store) {
    let c = Clinic::setup(&*store).await;
    let scope = scope_of(&store, &c, Role::Staff, 41).await;
    let key = IdempotencyKey::new("same").unwrap();
    let tasks = (0..20).map(|_| {
        let (store, key) = (Arc::clone(&store), key.clone());
        tokio::spawn(async move {
            store
                .claim_idempotency(scope, &key, "fp", t(9, 0), never())
                .await
        })
    });
    let claims: Vec<Claim> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("claim"))
        .collect();
    assert_eq!(
        claims.iter().filter(|c| **c == Claim::New).count(),
        1,
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Claim::New | Claim::InProgress))
    );
}

/// Records claimed before the cut-off are forgotten, finished or not, for
/// every tenant; younger ones stay.
pub async fn old_idempotency_records_are_purged(store: Store) {
    let a = Clinic::setup_named(&*store, "A").await;
    let b = Clinic::setup_named(&*store, "B").await;
    let (sa, sb) = (
        scope_of(&store, &a, Role::Staff, 51).await,
        scope_of(&store, &b, Role::Staff, 52).await,
    );
    let old = IdempotencyKey::new("old").unwrap();
    let pending = IdempotencyKey::new("pending").unwrap();
    let young = IdempotencyKey::new("young").unwrap();
    for (scope, key, at) in [
        (sa, &old, t(8, 0)),
        (sb, &pending, t(8, 30)),
        (sa, &young, t(10, 0)),
    ] {
        assert_eq!(
            store
                .claim_idempotency(scope, key, "fp", at, never())
                .await
                .unwrap(),
            Claim::New
        );
    }
    for (scope, key, at) in [(sa, &old, t(8, 0)), (sa, &young, t(10, 0))] {
        store
            .finish_idempotency(scope, key, at, "{}")
            .await
            .unwrap();
    }
    assert_eq!(store.purge_idempotency(t(9, 0)).await.unwrap(), 2);
    let claim = |scope, key: &IdempotencyKey| {
        let (store, key) = (Arc::clone(&store), key.clone());
        async move {
            store
                .claim_idempotency(scope, &key, "other", t(11, 0), never())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        claim(sa, &old).await,
        Claim::New,
        "a purged record is new again"
    );
    assert_eq!(
        claim(sb, &pending).await,
        Claim::New,
        "unfinished ones are purged too"
    );
    assert_eq!(
        claim(sa, &young).await,
        Claim::Mismatch,
        "a younger record is kept"
    );
    assert_eq!(store.purge_idempotency(t(9, 0)).await.unwrap(), 0);
}

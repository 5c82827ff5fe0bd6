//! Tenants, keys, and the demo clinic a fresh store gets on first run.

use std::net::SocketAddr;

use booking_core::{
    Actor, ApiKey, ApiKeyId, BookingStore, Branch, BranchId, DayInterval, Minutes, Money, Name,
    Product, ProductId, Resource, ResourceBranch, ResourceId, ResourceKind, Role, Schedule,
    ServiceId, ServiceItem, ServiceItemBranch, StockChange, StockOp, SystemClock, Tenant, TenantId,
    WeeklyHours, ports::Clock,
};

type AnyError = Box<dyn std::error::Error>;

/// Creates a key for a tenant; returns its record and the secret (shown
/// once, never stored).
pub(crate) async fn create_key(
    store: &dyn BookingStore,
    tenant: TenantId,
    role: Role,
    actor: &str,
) -> Result<(ApiKey, String), AnyError> {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        tenant_id: tenant,
        role,
        actor: Actor::new(actor)?,
        created_at: SystemClock.now(),
    };
    let secret = booking_http::new_secret();
    store
        .insert_api_key(&key, &booking_http::hash_secret(&secret))
        .await?;
    Ok((key, secret))
}

/// Creates a tenant with an admin key; returns the tenant id and the secret.
pub(crate) async fn create_tenant(
    store: &dyn BookingStore,
    name: &str,
) -> Result<(TenantId, String), AnyError> {
    let tenant = TenantId::generate();
    store
        .insert_tenant(&Tenant {
            id: tenant,
            name: Name::new(name)?,
        })
        .await?;
    let (_, secret) = create_key(store, tenant, Role::Admin, "admin").await?;
    Ok((tenant, secret))
}

/// What the demo created.
pub(crate) struct Demo {
    tenant: TenantId,
    admin_key: String,
    staff_key: String,
    madrid: BranchId,
}

/// A clinic chain with two branches in different time zones, dentists
/// working at both, services with a branch price, products with stock.
pub(crate) async fn seed(store: &dyn BookingStore) -> Result<Demo, AnyError> {
    let (tenant, admin_key) = create_tenant(store, "Demo Dental").await?;
    let (_, staff_key) = create_key(store, tenant, Role::Staff, "reception").await?;
    let eur = |minor| Money::from_code(minor, "EUR");
    let madrid = BranchId::generate();
    let lisbon = BranchId::generate();
    for (id, name, tz) in [
        (madrid, "Madrid Centro", chrono_tz::Europe::Madrid),
        (lisbon, "Lisboa Baixa", chrono_tz::Europe::Lisbon),
    ] {
        store
            .put_branch(&Branch {
                id,
                tenant_id: tenant,
                name: Name::new(name)?,
                time_zone: tz,
            })
            .await?;
    }
    let weekdays = Schedule::weekly(WeeklyHours::weekdays(DayInterval::hm(9, 0, 18, 0)?));
    let dentists = [
        (ResourceId::generate(), "Dr. Ana Vega"),
        (ResourceId::generate(), "Dr. João Costa"),
    ];
    for (id, name) in dentists {
        store
            .put_resource(&Resource {
                id,
                tenant_id: tenant,
                name: Name::new(name)?,
                kind: ResourceKind::Staff,
            })
            .await?;
        for branch in [madrid, lisbon] {
            store
                .put_resource_branch(&ResourceBranch {
                    tenant_id: tenant,
                    resource_id: id,
                    branch_id: branch,
                    schedule: weekdays.clone(),
                })
                .await?;
        }
    }
    let chair = ResourceId::generate();
    store
        .put_resource(&Resource {
            id: chair,
            tenant_id: tenant,
            name: Name::new("Hygiene chair")?,
            kind: ResourceKind::Room,
        })
        .await?;
    store
        .put_resource_branch(&ResourceBranch {
            tenant_id: tenant,
            resource_id: chair,
            branch_id: madrid,
            schedule: Schedule::unrestricted(),
        })
        .await?;
    let cleaning = ServiceId::generate();
    store
        .put_service(&ServiceItem {
            id: cleaning,
            tenant_id: tenant,
            name: Name::new("Cleaning")?,
            duration: Minutes::new(30)?,
            price: eur(6000)?,
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::new(10)?,
        })
        .await?;
    store
        .put_service_branch(&ServiceItemBranch {
            tenant_id: tenant,
            service_id: cleaning,
            branch_id: lisbon,
            price: eur(5500)?,
        })
        .await?;
    store
        .put_service(&ServiceItem {
            id: ServiceId::generate(),
            tenant_id: tenant,
            name: Name::new("Whitening")?,
            duration: Minutes::new(60)?,
            price: eur(20000)?,
            buffer_before: Minutes::new(5)?,
            buffer_after: Minutes::new(15)?,
        })
        .await?;
    let actor = Actor::new("demo")?;
    for (name, price, stock) in [
        ("Whitening kit", 2500, [20, 8]),
        ("Soft toothbrush", 500, [100, 50]),
    ] {
        let id = ProductId::generate();
        store
            .put_product(&Product {
                id,
                tenant_id: tenant,
                name: Name::new(name)?,
                price: eur(price)?,
            })
            .await?;
        for (branch, units) in [madrid, lisbon].into_iter().zip(stock) {
            store
                .adjust_stock(&StockChange {
                    tenant_id: tenant,
                    product_id: id,
                    branch_id: branch,
                    op: StockOp::Set {
                        stock: units,
                        price: None,
                    },
                    actor: actor.clone(),
                    at: SystemClock.now(),
                })
                .await?;
        }
    }
    Ok(Demo {
        tenant,
        admin_key,
        staff_key,
        madrid,
    })
}

/// Prints the first-run banner. A closed stdout (a supervisor that does
/// not read it) must not stop the server, so write errors are ignored.
pub(crate) fn print_banner(address: SocketAddr, demo: &Demo) {
    let banner = format!(
        "booking-server listening on http://{address}\n\n\
         A demo clinic was created (start with --no-demo to skip this):\n\
         \x20 tenant     {}\n\
         \x20 admin key  {}\n\
         \x20 staff key  {}\n\n\
         Try:\n\
         \x20 curl -s -H 'Authorization: Bearer {}' http://{address}/v1/branches/{}/catalog",
        demo.tenant, demo.admin_key, demo.staff_key, demo.staff_key, demo.madrid
    );
    say(&banner);
}

/// One line (or block) on stdout, ignoring a closed pipe.
pub(crate) fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

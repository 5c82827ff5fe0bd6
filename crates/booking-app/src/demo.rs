//! The demo clinic a fresh embedded store gets on first run, written
//! through the use cases like any other client's changes (so it is audited
//! and validated the same way).

use booking_core::{
    Actor, Attribution, Branch, BranchId, CatalogRecord, DayInterval, KeySpec, Minutes, Money,
    Name, Product, ProductId, PutMode, Resource, ResourceBranch, ResourceId, ResourceKind, Role,
    Schedule, ServiceId, ServiceItem, ServiceItemBranch, Services, StockChange, StockOp, TenantId,
    WeeklyHours,
};

/// What the demo created: the ids and the keys to try it with.
#[derive(Clone)]
pub struct Demo {
    /// The demo tenant.
    pub tenant: TenantId,
    /// An admin key's secret.
    pub admin_key: String,
    /// A staff key's secret.
    pub staff_key: String,
    /// The Madrid branch.
    pub madrid: BranchId,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("tenant", &self.tenant)
            .field("madrid", &self.madrid)
            .finish_non_exhaustive()
    }
}

/// Why the demo could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the demo clinic: {0}")]
pub struct DemoError(String);

pub(crate) fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError(e.to_string())
}

/// A clinic chain with two branches in different time zones, dentists
/// working at both, services with a branch price, products with stock.
///
/// # Errors
/// [`DemoError`] if a write fails.
pub(crate) async fn seed(services: &Services) -> Result<Demo, DemoError> {
    let access = services.access();
    let catalog = services.catalog();
    // Recorded as the demo's doing, not any key's.
    let by = Attribution::named(actor("demo")?);
    let by = &by;
    let provisioned = access
        .provision_tenant(Name::new("Demo Dental").map_err(fail)?, actor("admin")?, by)
        .await
        .map_err(fail)?;
    let tenant = provisioned.tenant.id;
    let staff = access
        .create_key(
            tenant,
            KeySpec {
                role: Role::Staff,
                actor: actor("reception")?,
                expires_at: None,
            },
            by,
        )
        .await
        .map_err(fail)?;
    let put = |record: CatalogRecord| async move {
        catalog
            .put(&record, PutMode::Create, by)
            .await
            .map(drop)
            .map_err(fail)
    };
    let name = |n: &str| Name::new(n).map_err(fail);
    let eur = |minor| Money::from_code(minor, "EUR").map_err(fail);
    let minutes = |m| Minutes::new(m).map_err(fail);

    let madrid = BranchId::generate();
    let lisbon = BranchId::generate();
    for (id, branch, tz) in [
        (madrid, "Madrid Centro", chrono_tz::Europe::Madrid),
        (lisbon, "Lisboa Baixa", chrono_tz::Europe::Lisbon),
    ] {
        put(CatalogRecord::Branch(Branch {
            id,
            tenant_id: tenant,
            name: name(branch)?,
            time_zone: tz,
        }))
        .await?;
    }
    let weekdays = Schedule::weekly(WeeklyHours::weekdays(
        DayInterval::hm(9, 0, 18, 0).map_err(fail)?,
    ));
    let chair = ResourceId::generate();
    let resources = [
        (ResourceId::generate(), "Dr. Ana Vega", ResourceKind::Staff),
        (
            ResourceId::generate(),
            "Dr. João Costa",
            ResourceKind::Staff,
        ),
        (chair, "Hygiene chair", ResourceKind::Room),
    ];
    for (id, resource, kind) in resources {
        put(CatalogRecord::Resource(Resource {
            id,
            tenant_id: tenant,
            name: name(resource)?,
            kind,
        }))
        .await?;
        let (branches, schedule) = if id == chair {
            (vec![madrid], Schedule::unrestricted())
        } else {
            (vec![madrid, lisbon], weekdays.clone())
        };
        for branch_id in branches {
            put(CatalogRecord::Schedule(ResourceBranch {
                tenant_id: tenant,
                resource_id: id,
                branch_id,
                schedule: schedule.clone(),
            }))
            .await?;
        }
    }
    let cleaning = ServiceId::generate();
    for (id, service, duration, price, before, after) in [
        (cleaning, "Cleaning", 30, 6000, 0, 10),
        (ServiceId::generate(), "Whitening", 60, 20000, 5, 15),
    ] {
        put(CatalogRecord::Service(ServiceItem {
            id,
            tenant_id: tenant,
            name: name(service)?,
            duration: minutes(duration)?,
            price: eur(price)?,
            buffer_before: minutes(before)?,
            buffer_after: minutes(after)?,
        }))
        .await?;
    }
    put(CatalogRecord::ServicePrice(ServiceItemBranch {
        tenant_id: tenant,
        service_id: cleaning,
        branch_id: lisbon,
        price: eur(5500)?,
    }))
    .await?;
    for (product, price, stock) in [
        ("Whitening kit", 2500, [20, 8]),
        ("Soft toothbrush", 500, [100, 50]),
    ] {
        let id = ProductId::generate();
        put(CatalogRecord::Product(Product {
            id,
            tenant_id: tenant,
            name: name(product)?,
            price: eur(price)?,
        }))
        .await?;
        for (branch_id, units) in [madrid, lisbon].into_iter().zip(stock) {
            catalog
                .adjust_stock(&StockChange {
                    tenant_id: tenant,
                    product_id: id,
                    branch_id,
                    op: StockOp::Set {
                        stock: units,
                        price: None,
                    },
                    by: by.clone(),
                    at: catalog.now(),
                })
                .await
                .map_err(fail)?;
        }
    }
    Ok(Demo {
        tenant,
        admin_key: provisioned.admin.secret,
        staff_key: staff.secret,
        madrid,
    })
}

fn actor(name: &str) -> Result<Actor, DemoError> {
    Actor::new(name).map_err(fail)
}

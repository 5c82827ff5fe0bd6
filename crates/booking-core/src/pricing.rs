//! Price resolution (a branch override, else the base price) and the
//! snapshot a reservation keeps, so later catalog changes never alter what
//! a customer was quoted.

use serde::{Deserialize, Serialize};

use crate::{
    Money, MoneyError, Name, Product, ProductBranch, ProductId, Quantity, ServiceId, ServiceItem,
    ServiceItemBranch,
};

/// The rule for every price: the branch's own price if it set one, else the
/// item's base price.
#[must_use]
pub fn resolve_price(base: Money, branch_override: Option<Money>) -> Money {
    branch_override.unwrap_or(base)
}

/// What a price line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum PricedItem {
    /// The booked service.
    Service(ServiceId),
    /// A product taken with it.
    Product(ProductId),
}

/// One line of a price snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceLine {
    /// What is charged.
    pub item: PricedItem,
    /// The item's name when the snapshot was taken.
    pub description: Name,
    /// Resolved unit price at the reservation's branch.
    pub unit_price: Money,
    /// Units charged.
    pub quantity: Quantity,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// The prices fixed when a reservation was made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSnapshot {
    /// One line for the service (if any) and one per product.
    pub lines: Vec<PriceLine>,
    /// The sum of the lines; `None` when nothing is charged (a bare slot).
    pub total: Option<Money>,
}

/// Builds the snapshot for a service (with the branch's override, if any)
/// and products (with each branch record) at their quantities.
///
/// # Errors
/// [`MoneyError::CurrencyMismatch`] if the items are priced in different
/// currencies; [`MoneyError::Overflow`] if a total does not fit.
pub fn snapshot(
    service: Option<(&ServiceItem, Option<&ServiceItemBranch>)>,
    products: &[(&Product, &ProductBranch, Quantity)],
) -> Result<PriceSnapshot, MoneyError> {
    let one = Quantity::new(1).map_err(|_| MoneyError::Overflow)?;
    let service_line = service.map(|(item, at_branch)| {
        (
            PricedItem::Service(item.id),
            &item.name,
            resolve_price(item.price, at_branch.map(|b| b.price)),
            one,
        )
    });
    let product_lines = products.iter().map(|(product, at_branch, quantity)| {
        (
            PricedItem::Product(product.id),
            &product.name,
            resolve_price(product.price, at_branch.price),
            *quantity,
        )
    });
    let mut lines = Vec::with_capacity(products.len() + 1);
    let mut total: Option<Money> = None;
    for (item, name, unit_price, quantity) in service_line.into_iter().chain(product_lines) {
        let line_total = unit_price.checked_mul(quantity)?;
        total = Some(match total {
            Some(sum) => sum.checked_add(line_total)?,
            None => line_total,
        });
        lines.push(PriceLine {
            item,
            description: name.clone(),
            unit_price,
            quantity,
            line_total,
        });
    }
    Ok(PriceSnapshot { lines, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BranchId, Minutes, TenantId};

    fn eur(n: i64) -> Money {
        Money::from_code(n, "EUR").unwrap()
    }

    fn cleaning(tenant_id: TenantId) -> ServiceItem {
        ServiceItem {
            id: ServiceId::generate(),
            tenant_id,
            name: Name::new("Cleaning").unwrap(),
            duration: Minutes::new(30).unwrap(),
            price: eur(6000),
            buffer_before: Minutes::ZERO,
            buffer_after: Minutes::ZERO,
        }
    }

    fn kit(
        tenant_id: TenantId,
        branch_id: BranchId,
        price: Option<Money>,
    ) -> (Product, ProductBranch) {
        let product = Product {
            id: ProductId::generate(),
            tenant_id,
            name: Name::new("Whitening kit").unwrap(),
            price: eur(2500),
        };
        let at = ProductBranch {
            tenant_id,
            product_id: product.id,
            branch_id,
            stock: 10,
            price,
        };
        (product, at)
    }

    #[test]
    fn the_branch_override_wins_over_the_base_price() {
        assert_eq!(resolve_price(eur(100), Some(eur(80))), eur(80));
        assert_eq!(resolve_price(eur(100), None), eur(100));
    }

    #[test]
    fn the_snapshot_totals_service_and_product_lines() {
        let tenant = TenantId::generate();
        let branch = BranchId::generate();
        let service = cleaning(tenant);
        let over = ServiceItemBranch {
            tenant_id: tenant,
            service_id: service.id,
            branch_id: branch,
            price: eur(5500),
        };
        let (product, at) = kit(tenant, branch, Some(eur(2000)));
        let snap = snapshot(
            Some((&service, Some(&over))),
            &[(&product, &at, Quantity::new(2).unwrap())],
        )
        .unwrap();
        assert_eq!(snap.lines.len(), 2);
        assert_eq!(snap.lines[0].unit_price, eur(5500));
        assert_eq!(snap.lines[1].line_total, eur(4000));
        assert_eq!(snap.total, Some(eur(9500)));
    }

    #[test]
    fn a_bare_slot_has_no_total() {
        assert_eq!(snapshot(None, &[]).unwrap(), PriceSnapshot::default());
    }

    #[test]
    fn mixing_currencies_in_one_snapshot_is_refused() {
        let tenant = TenantId::generate();
        let branch = BranchId::generate();
        let service = cleaning(tenant);
        let (mut product, at) = kit(tenant, branch, None);
        product.price = Money::from_code(2500, "USD").unwrap();
        let result = snapshot(
            Some((&service, None)),
            &[(&product, &at, Quantity::new(1).unwrap())],
        );
        assert!(matches!(result, Err(MoneyError::CurrencyMismatch { .. })));
    }
}

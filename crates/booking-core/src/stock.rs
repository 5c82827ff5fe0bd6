//! Stock rules. Stock moves only with a reservation's state: entering a
//! stock-holding state takes the lines' units from the branch, leaving one
//! gives them back. Every store derives its movements from this one
//! function, so conservation does not depend on the caller.

use serde::{Deserialize, Serialize};

use crate::{BranchId, ProductId, Quantity, Reservation};

/// Which stock a movement touches: one product at one branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockKey {
    /// The product.
    pub product_id: ProductId,
    /// The branch holding the stock.
    pub branch_id: BranchId,
}

/// Units leaving or returning to a branch's stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    /// Which stock.
    pub key: StockKey,
    /// Taken from stock (`true`) or given back (`false`).
    pub take: bool,
    /// How many units.
    pub quantity: Quantity,
}

/// The stock movements a write from `before` to `after` implies, in
/// [`StockKey`] order (the order stores lock rows in, so two writers never
/// deadlock). Lines never change after creation, so only the state matters.
#[must_use]
pub fn movements(before: Option<&Reservation>, after: &Reservation) -> Vec<StockMovement> {
    let held_before = before.is_some_and(|b| b.status.holds_stock());
    let held_after = after.status.holds_stock();
    let take = match (held_before, held_after) {
        (false, true) => true,
        (true, false) => false,
        _ => return Vec::new(),
    };
    let mut out: Vec<StockMovement> = after
        .lines
        .iter()
        .map(|line| StockMovement {
            key: StockKey {
                product_id: line.product_id,
                branch_id: after.branch_id,
            },
            take,
            quantity: line.quantity,
        })
        .collect();
    out.sort_by_key(|m| m.key);
    out
}

/// Applies one movement to a stock level.
///
/// # Errors
/// `Err(available)` when taking more than is available; giving back past
/// [`crate::ProductBranch::MAX_STOCK`] saturates there instead (it cannot
/// happen when stock was taken first).
pub fn apply_movement(stock: u32, movement: &StockMovement) -> Result<u32, u32> {
    let qty = movement.quantity.get();
    if movement.take {
        stock.checked_sub(qty).ok_or(stock)
    } else {
        Ok(stock
            .saturating_add(qty)
            .min(crate::ProductBranch::MAX_STOCK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::reservation_at;
    use crate::{ProductLine, Status};

    fn with_lines(status: Status) -> Reservation {
        let mut r = reservation_at(10, 11);
        r.status = status;
        r.lines = vec![
            ProductLine {
                product_id: ProductId::generate(),
                quantity: Quantity::new(2).unwrap(),
            },
            ProductLine {
                product_id: ProductId::generate(),
                quantity: Quantity::new(1).unwrap(),
            },
        ];
        r
    }

    #[test]
    fn a_new_booking_takes_each_line_from_stock_in_key_order() {
        let r = with_lines(Status::Confirmed);
        let m = movements(None, &r);
        assert_eq!(m.len(), 2);
        assert!(m.iter().all(|m| m.take));
        assert!(m[0].key < m[1].key);
    }

    #[test]
    fn cancelling_gives_the_units_back() {
        let before = with_lines(Status::Confirmed);
        let mut after = before.clone();
        after.status = Status::Cancelled;
        let m = movements(Some(&before), &after);
        assert_eq!(m.len(), 2);
        assert!(m.iter().all(|m| !m.take));
    }

    #[test]
    fn moving_or_completing_leaves_stock_alone() {
        let before = with_lines(Status::Confirmed);
        let mut after = before.clone();
        assert!(movements(Some(&before), &after).is_empty());
        after.status = Status::Completed;
        assert!(movements(Some(&before), &after).is_empty());
    }

    #[test]
    fn taking_more_than_is_available_reports_what_is_available() {
        let r = with_lines(Status::Confirmed);
        let m = movements(None, &r);
        let two = m.iter().find(|m| m.quantity.get() == 2).unwrap();
        assert_eq!(apply_movement(1, two), Err(1));
        assert_eq!(apply_movement(2, two), Ok(0));
    }
}

//! [`Quantity`]: how many units of a product a reservation takes.

use serde::{Deserialize, Serialize};

/// A quantity of product units: at least 1, at most [`Quantity::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Quantity(u32);

/// A quantity outside `1..=Quantity::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quantity {0} is out of range; use 1 to 10000")]
pub struct QuantityError(pub i64);

impl Quantity {
    /// The largest quantity one line may take.
    pub const MAX: u32 = 10_000;

    /// Builds a quantity.
    ///
    /// # Errors
    /// [`QuantityError`] below 1 or above [`Quantity::MAX`].
    pub fn new(value: i64) -> Result<Self, QuantityError> {
        u32::try_from(value)
            .ok()
            .filter(|v| (1..=Self::MAX).contains(v))
            .map(Self)
            .ok_or(QuantityError(value))
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = QuantityError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> Self {
        q.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_negative_and_huge_quantities_are_refused() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-3).is_err());
        assert!(Quantity::new(10_001).is_err());
        assert!(Quantity::new(i64::MAX).is_err());
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
    }
}

//! Money as integer minor units of an ISO 4217 currency. No floats, no
//! silent overflow, no mixing of currencies.

use std::fmt;

pub use iso_currency::Currency;
use serde::{Deserialize, Serialize};

use crate::Quantity;

/// Why an amount of money could not be built or computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Prices and totals are never negative.
    #[error("the amount must not be negative (got {0})")]
    Negative(i64),
    /// The code is not an ISO 4217 currency.
    #[error("unknown currency code; use an ISO 4217 code such as EUR")]
    UnknownCurrency,
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: Currency,
        /// The currency of the right operand.
        right: Currency,
    },
    /// The result does not fit in 64 bits of minor units.
    #[error("the amount is too large")]
    Overflow,
    /// A price above [`Money::MAX_PRICE_MINOR`].
    #[error("a price is at most {max} minor units (got {got})", max = Money::MAX_PRICE_MINOR)]
    PriceTooHigh {
        /// The amount asked for.
        got: i64,
    },
}

/// A non-negative amount of money: `amount_minor` units of the currency's
/// minor unit (cents for EUR), so 45.00 EUR is `4500`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMoney", into = "RawMoney")]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
struct RawMoney {
    amount_minor: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Self, Self::Error> {
        Self::new(raw.amount_minor, raw.currency)
    }
}

impl From<Money> for RawMoney {
    fn from(m: Money) -> Self {
        Self {
            amount_minor: m.amount_minor,
            currency: m.currency,
        }
    }
}

impl Money {
    /// The highest price of one service or product, in minor units (a
    /// billion of the major unit for EUR): with at most 10,000 of each of
    /// 20 lines, every total fits many times over.
    pub const MAX_PRICE_MINOR: i64 = 100_000_000_000;

    /// A price from a currency code: like [`Money::from_code`], and at
    /// most [`Money::MAX_PRICE_MINOR`].
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`], [`MoneyError::Negative`] or
    /// [`MoneyError::PriceTooHigh`].
    pub fn price(amount_minor: i64, code: &str) -> Result<Self, MoneyError> {
        let money = Self::from_code(amount_minor, code)?;
        if amount_minor > Self::MAX_PRICE_MINOR {
            return Err(MoneyError::PriceTooHigh { got: amount_minor });
        }
        Ok(money)
    }

    /// Builds an amount.
    ///
    /// # Errors
    /// [`MoneyError::Negative`] for a negative amount.
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount_minor < 0 {
            return Err(MoneyError::Negative(amount_minor));
        }
        Ok(Self {
            amount_minor,
            currency,
        })
    }

    /// Builds an amount from a currency code such as `"EUR"`.
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] or [`MoneyError::Negative`].
    pub fn from_code(amount_minor: i64, code: &str) -> Result<Self, MoneyError> {
        let currency = Currency::from_code(code).ok_or(MoneyError::UnknownCurrency)?;
        Self::new(amount_minor, currency)
    }

    /// Zero in the given currency.
    #[must_use]
    pub const fn zero(currency: Currency) -> Self {
        Self {
            amount_minor: 0,
            currency,
        }
    }

    /// The amount in minor units.
    #[must_use]
    pub const fn amount_minor(&self) -> i64 {
        self.amount_minor
    }

    /// The currency.
    #[must_use]
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            });
        }
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self {
            amount_minor,
            ..self
        })
    }

    /// `self × quantity`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(self, quantity: Quantity) -> Result<Self, MoneyError> {
        let amount_minor = self
            .amount_minor
            .checked_mul(i64::from(quantity.get()))
            .ok_or(MoneyError::Overflow)?;
        Ok(Self {
            amount_minor,
            ..self
        })
    }
}

impl fmt::Display for Money {
    /// Major units with the currency's decimals: `85.00 EUR`, `1200 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.currency.code();
        match self.currency.exponent().unwrap_or(0) {
            0 => write!(f, "{} {code}", self.amount_minor),
            exp => {
                let scale = 10i64.pow(u32::from(exp));
                let (major, minor) = (self.amount_minor / scale, self.amount_minor % scale);
                write!(
                    f,
                    "{major}.{minor:0width$} {code}",
                    width = usize::from(exp)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(n: i64) -> Money {
        Money::from_code(n, "EUR").unwrap()
    }

    #[test]
    fn adding_amounts_of_one_currency_sums_minor_units() {
        assert_eq!(eur(4500).checked_add(eur(250)), Ok(eur(4750)));
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let usd = Money::from_code(1, "USD").unwrap();
        assert!(matches!(
            eur(1).checked_add(usd),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        let q = Quantity::new(3).unwrap();
        assert_eq!(eur(i64::MAX / 2).checked_mul(q), Err(MoneyError::Overflow));
    }

    #[test]
    fn negative_amounts_and_unknown_currencies_are_refused() {
        assert_eq!(Money::from_code(-1, "EUR"), Err(MoneyError::Negative(-1)));
        assert!(Money::price(Money::MAX_PRICE_MINOR, "EUR").is_ok());
        assert_eq!(
            Money::price(i64::MAX, "EUR"),
            Err(MoneyError::PriceTooHigh { got: i64::MAX })
        );
        assert_eq!(Money::from_code(1, "XYZ"), Err(MoneyError::UnknownCurrency));
    }

    #[test]
    fn money_displays_in_major_units_with_the_currencys_decimals() {
        assert_eq!(eur(8505).to_string(), "85.05 EUR");
        assert_eq!(
            Money::from_code(1200, "JPY").unwrap().to_string(),
            "1200 JPY"
        );
        assert_eq!(
            Money::from_code(1005, "BHD").unwrap().to_string(),
            "1.005 BHD"
        );
    }

    #[test]
    fn money_serializes_as_minor_units_and_code() {
        let json = serde_json::to_string(&eur(4500)).unwrap();
        assert_eq!(json, r#"{"amount_minor":4500,"currency":"EUR"}"#);
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":-5,"currency":"EUR"}"#).is_err());
    }
}

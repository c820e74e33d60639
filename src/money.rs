//! Exact decimal amounts. They are stored as integers in units of 1/10 000, which both SQLite
//! and PostgreSQL hold exactly and sort numerically.

use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

pub const SCALE: u32 = 4;

/// Converts an amount to stored units; more than four decimals or an out-of-range value is
/// BAD_USER_INPUT on `field`.
pub fn to_units(field: &str, amount: Decimal) -> AppResult<i64> {
    let normalized = amount.normalize();
    if normalized.scale() > SCALE {
        return Err(AppError::bad_input(
            field,
            format!("at most {SCALE} decimal places"),
        ));
    }
    let out_of_range = || AppError::bad_input(field, "amount out of range");
    let units = normalized
        .checked_mul(Decimal::from(10_i64.pow(SCALE)))
        .ok_or_else(out_of_range)?;
    i64::try_from(units).map_err(|_| out_of_range())
}

/// Like [`to_units`], for amounts that may not be negative (prices, rates, quantities).
pub fn non_negative_units(field: &str, amount: Decimal) -> AppResult<i64> {
    if amount.is_sign_negative() {
        return Err(AppError::bad_input(field, "must not be negative"));
    }
    to_units(field, amount)
}

pub fn from_units(units: i64) -> Decimal {
    Decimal::new(units, SCALE).normalize()
}

/// An amount as a JSON number, for process expressions (CEL compares numbers, not units).
pub fn to_number(units: i64) -> serde_json::Value {
    use rust_decimal::prelude::ToPrimitive;
    from_units(units)
        .to_f64()
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn amounts_round_trip_exactly() {
        for text in ["0", "0.3", "1234567890123.4567", "-42.5", "100"] {
            let amount = Decimal::from_str(text).unwrap();
            assert_eq!(
                from_units(to_units("x", amount).unwrap()),
                amount.normalize(),
                "{text}"
            );
        }
        let sum = Decimal::from_str("0.1").unwrap() + Decimal::from_str("0.2").unwrap();
        assert_eq!(from_units(to_units("x", sum).unwrap()).to_string(), "0.3");
    }

    #[test]
    fn too_precise_or_too_large_amounts_are_refused() {
        assert!(to_units("x", Decimal::from_str("0.00001").unwrap()).is_err());
        assert!(to_units("x", Decimal::from_str("99999999999999999").unwrap()).is_err());
        // Near Decimal's own limit the scaling itself would overflow.
        assert!(to_units("x", Decimal::MAX).is_err());
        assert!(to_units("x", Decimal::MIN).is_err());
    }
}

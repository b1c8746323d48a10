//! Exact amounts in integer base units (wei, satoshi, token units) held as 256-bit integers,
//! with exact decimal parsing and formatting. There is no floating point on this path.

use std::fmt;
use std::ops::{Add, AddAssign};

use alloy_primitives::U256;

/// An amount in base units of its asset. `Amount` has no unit of its own: the asset's
/// decimals are passed to [`Amount::parse_decimal`] and [`Amount::to_decimal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(pub U256);

/// Why a decimal amount was rejected. The message names the bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain non-negative decimal number.
    #[error("invalid amount '{0}': expected a non-negative decimal number such as 173600 or 0.5")]
    Syntax(String),
    /// More fractional digits than the asset has decimals.
    #[error("invalid amount '{input}': more than {decimals} decimal places")]
    TooPrecise {
        /// The rejected input.
        input: String,
        /// The asset's decimals.
        decimals: u8,
    },
    /// Does not fit in 256 bits of base units.
    #[error("invalid amount '{0}': too large for 256-bit base units")]
    Overflow(String),
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(U256::ZERO);

    /// From a count of base units.
    pub fn from_base_units(v: u128) -> Amount {
        Amount(U256::from(v))
    }

    /// Parse a decimal in whole units (e.g. "173600.5" ETH) into base units with `decimals`.
    /// Exact: more fractional digits than `decimals` is an error, never a rounding.
    pub fn parse_decimal(input: &str, decimals: u8) -> Result<Amount, AmountError> {
        let s = input.trim();
        let syntax = || AmountError::Syntax(input.to_string());
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(syntax());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > decimals as usize {
            return Err(AmountError::TooPrecise {
                input: input.to_string(),
                decimals,
            });
        }
        let overflow = || AmountError::Overflow(input.to_string());
        let mut digits = String::with_capacity(int.len() + decimals as usize);
        digits.push_str(int);
        digits.push_str(frac);
        for _ in frac.len()..decimals as usize {
            digits.push('0');
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Ok(Amount::ZERO);
        }
        U256::from_str_radix(digits, 10)
            .map(Amount)
            .map_err(|_| overflow())
    }

    /// Parse a count of base units written in decimal ("1000000000000000000").
    pub fn parse_base_units(input: &str) -> Result<Amount, AmountError> {
        Amount::parse_decimal(input, 0).map_err(|e| match e {
            AmountError::TooPrecise { input, .. } => AmountError::Syntax(input),
            other => other,
        })
    }

    /// Format in whole units with `decimals`: no trailing zeros, no trailing point
    /// ("173600", "0.5", "0.000000000000000001").
    pub fn to_decimal(&self, decimals: u8) -> String {
        let digits = self.0.to_string();
        let d = decimals as usize;
        if d == 0 {
            return digits;
        }
        let (int, frac) = if digits.len() > d {
            let (i, f) = digits.split_at(digits.len() - d);
            (i.to_string(), f.to_string())
        } else {
            ("0".to_string(), format!("{digits:0>d$}"))
        };
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int
        } else {
            format!("{int}.{frac}")
        }
    }

    /// True when zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Checked addition.
    pub fn checked_add(self, o: Amount) -> Option<Amount> {
        self.0.checked_add(o.0).map(Amount)
    }

    /// Checked subtraction.
    pub fn checked_sub(self, o: Amount) -> Option<Amount> {
        self.0.checked_sub(o.0).map(Amount)
    }

    /// Subtraction that stops at zero.
    pub fn saturating_sub(self, o: Amount) -> Amount {
        Amount(self.0.saturating_sub(o.0))
    }

    /// Big-endian bytes with leading zero bytes removed (the storage form; empty for zero).
    pub fn to_be_trimmed(&self) -> Vec<u8> {
        let b: [u8; 32] = self.0.to_be_bytes();
        let first = b.iter().position(|&x| x != 0).unwrap_or(32);
        b[first..].to_vec()
    }

    /// Inverse of [`Amount::to_be_trimmed`]; `None` if longer than 32 bytes.
    pub fn from_be_slice(b: &[u8]) -> Option<Amount> {
        if b.len() > 32 {
            return None;
        }
        Some(Amount(U256::from_be_slice(b)))
    }
}

/// Panics on overflow beyond 2^256, which no real sum of on-chain amounts reaches; use
/// [`Amount::checked_add`] where inputs are untrusted.
impl Add for Amount {
    type Output = Amount;
    fn add(self, o: Amount) -> Amount {
        Amount(
            self.0
                .checked_add(o.0)
                .expect("amount overflow beyond 2^256"),
        )
    }
}

impl AddAssign for Amount {
    fn add_assign(&mut self, o: Amount) {
        *self = *self + o;
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

/// Displays base units.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eth_round_trips() {
        let a = Amount::parse_decimal("173600", 18).unwrap();
        assert_eq!(a.0.to_string(), "173600000000000000000000");
        assert_eq!(a.to_decimal(18), "173600");
        let half = Amount::parse_decimal("173600.5", 18).unwrap();
        assert_eq!(half.to_decimal(18), "173600.5");
        let wei = Amount::parse_decimal("0.000000000000000001", 18).unwrap();
        assert_eq!(wei, Amount::from_base_units(1));
        assert_eq!(wei.to_decimal(18), "0.000000000000000001");
        assert_eq!(Amount::ZERO.to_decimal(18), "0");
        assert_eq!(Amount::parse_decimal("0.0", 18).unwrap(), Amount::ZERO);
        assert_eq!(
            Amount::parse_decimal(".5", 18).unwrap().to_decimal(18),
            "0.5"
        );
        assert_eq!(Amount::parse_decimal("7.", 18).unwrap().to_decimal(18), "7");
    }

    #[test]
    fn usdc_and_btc() {
        let usdc = Amount::parse_decimal("25500000", 6).unwrap();
        assert_eq!(usdc, Amount::from_base_units(25_500_000_000_000));
        assert_eq!(usdc.to_decimal(6), "25500000");
        let sat = Amount::parse_decimal("0.00000001", 8).unwrap();
        assert_eq!(sat, Amount::from_base_units(1));
        assert_eq!(
            Amount::from_base_units(2_100_000_000_000_000).to_decimal(8),
            "21000000"
        );
        assert_eq!(
            Amount::from_base_units(123_456_789).to_decimal(8),
            "1.23456789"
        );
    }

    #[test]
    fn max_u256_78_digits() {
        let max = U256::MAX.to_string();
        assert_eq!(max.len(), 78);
        let a = Amount::parse_base_units(&max).unwrap();
        assert_eq!(a.0, U256::MAX);
        assert_eq!(a.to_decimal(0), max);
        let with_point = format!("{}.{}", &max[..60], &max[60..]);
        let b = Amount::parse_decimal(&with_point, 18).unwrap();
        assert_eq!(b.0, U256::MAX);
        assert_eq!(b.to_decimal(18), with_point.trim_end_matches('0'));
        // one more than the max overflows
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(matches!(
            Amount::parse_base_units(over),
            Err(AmountError::Overflow(_))
        ));
    }

    #[test]
    fn rejects() {
        for bad in [
            "", ".", "-1", "1e18", "1,000", "0x10", "1.2.3", " 1 2", "+1",
        ] {
            let e = Amount::parse_decimal(bad, 18).unwrap_err();
            assert!(matches!(e, AmountError::Syntax(_)), "{bad}: {e}");
        }
        let e = Amount::parse_decimal("0.1234567", 6).unwrap_err();
        assert!(matches!(e, AmountError::TooPrecise { decimals: 6, .. }));
        assert!(e.to_string().contains("0.1234567"));
        // trailing zeros beyond the decimals are fine: the value is exact
        assert_eq!(
            Amount::parse_decimal("1.50000000000", 6).unwrap(),
            Amount::from_base_units(1_500_000)
        );
    }

    #[test]
    fn storage_bytes() {
        for v in [Amount::ZERO, Amount::from_base_units(1), Amount(U256::MAX)] {
            assert_eq!(Amount::from_be_slice(&v.to_be_trimmed()).unwrap(), v);
        }
        assert!(Amount::ZERO.to_be_trimmed().is_empty());
    }

    proptest! {
        #[test]
        fn decimal_round_trip(limbs in proptest::array::uniform4(any::<u64>()), decimals in 0u8..=30) {
            let a = Amount(U256::from_limbs(limbs));
            let s = a.to_decimal(decimals);
            prop_assert_eq!(Amount::parse_decimal(&s, decimals).unwrap(), a);
        }
    }
}

//! ERC-20 calls without an ABI library: `symbol()`, `decimals()`, `balanceOf(address)` and the
//! decoding of their answers (including the bytes32 symbols of early tokens such as MKR).

use alloy_primitives::{Address as EvmAddress, U256};

/// `symbol()`.
pub(crate) const SYMBOL: &str = "0x95d89b41";
/// `decimals()`.
pub(crate) const DECIMALS: &str = "0x313ce567";

/// Calldata of `balanceOf(owner)`.
pub(crate) fn balance_of_call(owner: &EvmAddress) -> String {
    format!("0x70a08231{:0>64}", hex_lower(owner.as_slice()))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A `uint256` answer; an empty answer (no code at the address) is `None`.
pub(crate) fn decode_uint(b: &[u8]) -> Option<U256> {
    (b.len() >= 32).then(|| U256::from_be_slice(&b[..32]))
}

/// A `decimals()` answer that fits in a u8.
pub(crate) fn decode_decimals(b: &[u8]) -> Option<u8> {
    decode_uint(b).and_then(|v| u8::try_from(v).ok())
}

/// A `symbol()` answer: an ABI `string`, or a `bytes32` padded with zeros.
pub(crate) fn decode_symbol(b: &[u8]) -> Option<String> {
    let raw: Vec<u8> = if b.len() == 32 {
        b.iter().copied().take_while(|c| *c != 0).collect()
    } else if b.len() >= 64 {
        let off = usize::try_from(U256::from_be_slice(&b[..32])).ok()?;
        let len_end = off.checked_add(32)?;
        let len = usize::try_from(U256::from_be_slice(b.get(off..len_end)?)).ok()?;
        b.get(len_end..len_end.checked_add(len)?)?.to_vec()
    } else {
        return None;
    };
    let s: String = String::from_utf8_lossy(&raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols() {
        // ABI string "USDC"
        let mut b = vec![0u8; 96];
        b[31] = 32;
        b[63] = 4;
        b[64..68].copy_from_slice(b"USDC");
        assert_eq!(decode_symbol(&b).as_deref(), Some("USDC"));
        // bytes32 "MKR"
        let mut b = vec![0u8; 32];
        b[..3].copy_from_slice(b"MKR");
        assert_eq!(decode_symbol(&b).as_deref(), Some("MKR"));
        // garbage
        assert_eq!(decode_symbol(&[1, 2, 3]), None);
        let mut b = vec![0u8; 64];
        b[31] = 200; // offset out of range
        assert_eq!(decode_symbol(&b), None);
    }

    #[test]
    fn decimals_and_calls() {
        let mut b = vec![0u8; 32];
        b[31] = 6;
        assert_eq!(decode_decimals(&b), Some(6));
        b[0] = 1;
        assert_eq!(decode_decimals(&b), None);
        assert_eq!(decode_uint(&[]), None);
        let a = EvmAddress::repeat_byte(0xab);
        let c = balance_of_call(&a);
        assert_eq!(c.len(), 2 + 8 + 64);
        assert!(c.ends_with(&"ab".repeat(20)));
    }
}

//! What users send: one address or transaction hash per item, from the command line, a file
//! or an HTTP request body. Every parser here returns an error naming the bad value and never
//! panics, whatever the bytes (a property test checks it).

use crate::model::{Address, AddressError, Chain, ChainError, TxHash};

/// One thing to screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An address; `chain` when the user named one.
    Address {
        /// The chain given, if any.
        chain: Option<Chain>,
        /// The validated address.
        address: Address,
    },
    /// A transaction: its receivers are screened.
    Tx {
        /// The chain given, if any.
        chain: Option<Chain>,
        /// The hash.
        hash: TxHash,
    },
}

/// A bad item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Nothing given.
    #[error("empty input")]
    Empty,
    /// An unknown chain name.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Not a valid address (and not a transaction hash).
    #[error(transparent)]
    Address(#[from] AddressError),
}

impl InputError {
    /// The error code of the HTTP service (docs/openapi.json).
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Empty => "invalid_input",
            InputError::Chain(_) => "unknown_chain",
            InputError::Address(_) => "invalid_address",
        }
    }
}

/// Whether `s` has the form of a transaction hash: 64 hex digits, `0x`-prefixed or bare.
pub fn looks_like_tx(s: &str) -> bool {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parse one item: a transaction hash (64 hex digits) or an address, validated on `chain` when
/// given, else told from its form (`0x…` EVM, else Bitcoin).
pub fn parse_item(input: &str, chain: Option<Chain>) -> Result<Item, InputError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(InputError::Empty);
    }
    if looks_like_tx(s) {
        if let Ok(hash) = TxHash::parse(s) {
            return Ok(Item::Tx { chain, hash });
        }
    }
    let address = match chain {
        Some(c) => Address::parse(c, s)?,
        None => Address::parse_any(s)?.1,
    };
    Ok(Item::Address { chain, address })
}

/// Parse a chain name.
pub fn parse_chain(s: &str) -> Result<Chain, InputError> {
    Ok(s.parse::<Chain>()?)
}

/// A bad request body of `POST /v1/screen`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    /// Error code (docs/openapi.json): bad_json, bad_request, batch_too_large, unknown_chain,
    /// invalid_address, invalid_input.
    pub code: &'static str,
    /// One line naming the bad value.
    pub message: String,
}

fn req_err(code: &'static str, message: impl Into<String>) -> RequestError {
    RequestError {
        code,
        message: message.into(),
    }
}

/// Parse a `POST /v1/screen` body: one item `{"address"|"tx"|"input": STR, "chain"?: STR}` or a
/// batch `{"items": [ITEM or STR, …], "chain"?: STR}` of at most `max_batch` items (an item's
/// own chain wins over the batch's).
pub fn parse_request(body: &[u8], max_batch: usize) -> Result<Vec<(String, Item)>, RequestError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| req_err("bad_json", format!("request body is not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| req_err("bad_request", "request body must be a JSON object"))?;
    let chain_of = |o: &serde_json::Map<String, serde_json::Value>,
                    default: Option<Chain>|
     -> Result<Option<Chain>, RequestError> {
        match o.get("chain") {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(serde_json::Value::String(s)) => parse_chain(s)
                .map(Some)
                .map_err(|e| req_err(e.code(), e.to_string())),
            Some(_) => Err(req_err("bad_request", "\"chain\" must be a string")),
        }
    };
    let batch_chain = chain_of(obj, None)?;
    let one = |i: Option<usize>, v: &serde_json::Value| -> Result<(String, Item), RequestError> {
        let at = i.map(|i| format!("item {i}: ")).unwrap_or_default();
        let (text, chain) = match v {
            serde_json::Value::String(s) => (s.as_str(), batch_chain),
            serde_json::Value::Object(o) => {
                let text = ["address", "tx", "input"]
                    .iter()
                    .find_map(|k| o.get(*k))
                    .ok_or_else(|| {
                        req_err("bad_request", format!("{at}expected \"address\" or \"tx\""))
                    })?
                    .as_str()
                    .ok_or_else(|| {
                        req_err("bad_request", format!("{at}\"address\" must be a string"))
                    })?;
                (text, chain_of(o, batch_chain)?)
            }
            _ => {
                return Err(req_err(
                    "bad_request",
                    format!("{at}an item is a string or an object"),
                ));
            }
        };
        let item = parse_item(text, chain).map_err(|e| req_err(e.code(), format!("{at}{e}")))?;
        Ok((text.trim().to_string(), item))
    };
    match obj.get("items") {
        Some(serde_json::Value::Array(items)) => {
            if items.len() > max_batch {
                return Err(req_err(
                    "batch_too_large",
                    format!("batch of {} items (at most {max_batch})", items.len()),
                ));
            }
            if items.is_empty() {
                return Err(req_err("bad_request", "empty batch"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| one(Some(i), v))
                .collect()
        }
        Some(_) => Err(req_err("bad_request", "\"items\" must be an array")),
        None => Ok(vec![one(None, &v)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_requests() {
        let a = "0x52908400098527886E0F7030069857D2E4169EE7";
        assert!(matches!(parse_item(a, None), Ok(Item::Address { .. })));
        let tx = format!("0x{}", "ab".repeat(32));
        assert!(matches!(parse_item(&tx, None), Ok(Item::Tx { .. })));
        assert_eq!(parse_item(" ", None), Err(InputError::Empty));
        assert_eq!(
            parse_item("0x52908400098527886E0F7030069857D2E4169Ee7", None)
                .unwrap_err()
                .code(),
            "invalid_address"
        );
        let r = parse_request(br#"{"items":["0x52908400098527886E0F7030069857D2E4169EE7",{"tx":"0xabababababababababababababababababababababababababababababababab","chain":"bsc"}]}"#, 10).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(parse_request(b"{", 10).unwrap_err().code, "bad_json");
        assert_eq!(
            parse_request(br#"{"address":"x","chain":"mars"}"#, 10)
                .unwrap_err()
                .code,
            "unknown_chain"
        );
        assert_eq!(
            parse_request(br#"{"items":["a","b"]}"#, 1)
                .unwrap_err()
                .code,
            "batch_too_large"
        );
    }
}

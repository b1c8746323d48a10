//! OFAC sanctioned-address lists: the 0xB10C lists (`sanctioned_addresses_<CODE>.txt` with one
//! address a line, or `.json` with an array of strings; the chain comes from `<CODE>`), and the
//! SDN-entity JSON (`{"metadata":…, "addresses": {addr: {type, entries:[{entity, program}]}}}`).

use super::{ImportOptions, Parsed, Skipped, chain_of_code, is_multichain_token};
use crate::model::{Address, Category, Chain, Label};

const OFAC_CONFIDENCE: u8 = 90; // authority_data

/// The currency code in a 0xB10C file name (`sanctioned_addresses_ETH.txt` → "ETH").
fn code_from_name(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next()?;
    let stem = file.split('.').next()?;
    let code = stem.rsplit('_').next()?;
    (code.len() <= 6 && code.chars().all(|c| c.is_ascii_alphanumeric()) && code != stem)
        .then(|| code.to_ascii_uppercase())
}

fn chain_for(addr: &str, code: Option<&str>, opts: &ImportOptions) -> Result<Chain, String> {
    if let Some(c) = opts.chain {
        return Ok(c);
    }
    let Some(code) = code else {
        return Err("cannot tell the chain from the file name (give --chain)".into());
    };
    if is_multichain_token(code) {
        return if addr.starts_with("0x") {
            Ok(Chain::ETHEREUM)
        } else {
            Err(format!("{code} address on an unsupported chain"))
        };
    }
    chain_of_code(code).ok_or_else(|| format!("unsupported currency '{code}'"))
}

/// What every entry of one file shares.
struct Ctx<'a> {
    code: Option<&'a str>,
    source: &'a str,
    opts: &'a ImportOptions,
}

/// One list entry.
struct Entry<'a> {
    addr: &'a str,
    location: String,
    label: String,
    actor: Option<String>,
}

fn one(e: Entry<'_>, ctx: &Ctx<'_>, out: &mut Parsed) {
    let skip = |reason: String| Skipped {
        location: e.location.clone(),
        value: e.addr.to_string(),
        reason,
    };
    let chain = match chain_for(e.addr, ctx.code, ctx.opts) {
        Ok(c) => c,
        Err(r) => return out.skipped.push(skip(r)),
    };
    match Address::parse(chain, e.addr) {
        Ok(address) => out.labels.push(Label {
            chain,
            address,
            label: e.label,
            category: ctx.opts.category.unwrap_or(Category::Sanctioned),
            actor: e.actor,
            abuse: None,
            source: ctx.source.to_string(),
            confidence: ctx.opts.confidence.unwrap_or(OFAC_CONFIDENCE),
            context: None,
        }),
        Err(err) => {
            let mut reason = err.to_string();
            if chain.is_bitcoin() && e.addr.chars().all(|c| !c.is_ascii_uppercase()) {
                reason.push_str(" (lower-cased? base58 is case-sensitive)");
            }
            out.skipped.push(skip(reason))
        }
    }
}

fn default_source(name: &str, opts: &ImportOptions) -> String {
    opts.source
        .clone()
        .unwrap_or_else(|| format!("OFAC SDN list ({name})"))
}

pub(super) fn parse_txt(name: &str, text: &str, opts: &ImportOptions) -> Parsed {
    let code = code_from_name(name);
    let source = default_source(name, opts);
    let mut out = Parsed {
        format: "ofac-txt",
        ..Default::default()
    };
    for (i, line) in text.lines().enumerate() {
        let a = line.trim();
        if a.is_empty() || a.starts_with('#') {
            continue;
        }
        let ctx = Ctx {
            code: code.as_deref(),
            source: &source,
            opts,
        };
        let entry = Entry {
            addr: a,
            location: format!("line {}", i + 1),
            label: "OFAC SDN sanctioned address".into(),
            actor: None,
        };
        one(entry, &ctx, &mut out);
    }
    out
}

pub(super) fn parse_json(name: &str, text: &str, opts: &ImportOptions) -> Result<Parsed, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let source = default_source(name, opts);
    match v {
        serde_json::Value::Array(items) => {
            let code = code_from_name(name);
            let mut out = Parsed {
                format: "ofac-json",
                ..Default::default()
            };
            for (i, item) in items.iter().enumerate() {
                let location = format!("[{i}]");
                match item.as_str() {
                    Some(a) => one(
                        Entry {
                            addr: a.trim(),
                            location,
                            label: "OFAC SDN sanctioned address".into(),
                            actor: None,
                        },
                        &Ctx {
                            code: code.as_deref(),
                            source: &source,
                            opts,
                        },
                        &mut out,
                    ),
                    None => out.skipped.push(Skipped {
                        location,
                        value: item.to_string(),
                        reason: "not a string".into(),
                    }),
                }
            }
            Ok(out)
        }
        serde_json::Value::Object(map) => {
            let addrs = map
                .get("addresses")
                .and_then(|a| a.as_object())
                .ok_or("JSON object without an 'addresses' map: not an OFAC SDN address list")?;
            let mut out = Parsed {
                format: "ofac-sdn-json",
                ..Default::default()
            };
            for (addr, info) in addrs {
                // "Digital Currency Address - XBT"
                let code = info
                    .get("type")
                    .and_then(|t| t.as_str())
                    .and_then(|t| t.rsplit(' ').next())
                    .map(str::to_string);
                let entries = info.get("entries").and_then(|e| e.as_array());
                let first = entries.and_then(|e| e.first());
                let field = |k: &str| {
                    first
                        .and_then(|e| e.get(k))
                        .and_then(|x| x.as_str())
                        .map(str::to_string)
                };
                let entity = field("entity");
                let label = match (&entity, field("program")) {
                    (Some(e), Some(p)) => format!("OFAC SDN: {e} ({p})"),
                    (Some(e), None) => format!("OFAC SDN: {e}"),
                    _ => "OFAC SDN sanctioned address".into(),
                };
                let actor = entity.map(|e| slug(&e));
                one(
                    Entry {
                        addr: addr.trim(),
                        location: format!("addresses[{addr}]"),
                        label,
                        actor,
                    },
                    &Ctx {
                        code: code.as_deref(),
                        source: &source,
                        opts,
                    },
                    &mut out,
                );
            }
            Ok(out)
        }
        _ => Err("JSON is neither an address array nor an SDN address map".into()),
    }
}

/// "LAZARUS GROUP" → "lazarus-group".
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_from_file_names() {
        assert_eq!(
            code_from_name("x/sanctioned_addresses_ETH.txt").as_deref(),
            Some("ETH")
        );
        assert_eq!(
            code_from_name("sanctioned_addresses_XBT.json").as_deref(),
            Some("XBT")
        );
        assert_eq!(code_from_name("list.txt"), None);
        assert_eq!(slug("LAZARUS GROUP"), "lazarus-group");
        assert_eq!(slug("SIM, Hyon Sop"), "sim-hyon-sop");
    }

    #[test]
    fn txt_lines_with_reasons() {
        let text = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n\n0x098B716B8aaf21512996dC57EB0615e2383E2f96\n";
        let p = parse_txt(
            "sanctioned_addresses_ETH.txt",
            text,
            &ImportOptions::default(),
        );
        assert_eq!(p.labels.len(), 1);
        assert_eq!(p.labels[0].category, Category::Sanctioned);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].location, "line 3");
        let p = parse_txt(
            "sanctioned_addresses_LTC.txt",
            "LTC1\n",
            &ImportOptions::default(),
        );
        assert!(p.skipped[0].reason.contains("unsupported currency 'LTC'"));
        let p = parse_txt(
            "list.txt",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n",
            &ImportOptions::default(),
        );
        assert!(p.skipped[0].reason.contains("--chain"));
    }
}

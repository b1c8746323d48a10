//! GraphSense TagPack YAML. Header fields (currency, network, category, abuse, label, actor,
//! source, confidence, context) apply to every tag that does not set its own.

use serde::Deserialize;
use serde_norway::Value;

use super::{ImportOptions, Parsed, Skipped, chain_of_code, is_multichain_token};
use crate::model::{Address, Category, Chain, Label, confidence_from_id};

#[derive(Debug, Default, Deserialize)]
struct Fields {
    #[serde(default)]
    address: Option<Value>,
    #[serde(default)]
    label: Option<Value>,
    #[serde(default)]
    currency: Option<Value>,
    #[serde(default)]
    network: Option<Value>,
    #[serde(default)]
    category: Option<Value>,
    #[serde(default)]
    abuse: Option<Value>,
    #[serde(default)]
    actor: Option<Value>,
    #[serde(default)]
    source: Option<Value>,
    #[serde(default)]
    confidence: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Pack {
    #[serde(default)]
    title: Option<Value>,
    #[serde(flatten)]
    header: Fields,
    #[serde(default)]
    tags: Option<Vec<Value>>,
}

/// A scalar as text (strings, numbers, booleans); mappings/sequences as JSON.
fn text(v: &Option<Value>) -> Option<String> {
    match v.as_ref()? {
        Value::Null => None,
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => serde_json::to_string(other).ok(),
    }
}

fn first(tag: &Option<Value>, header: &Option<Value>) -> Option<String> {
    text(tag).or_else(|| text(header))
}

pub(super) fn parse(name: &str, text_in: &str, opts: &ImportOptions) -> Result<Parsed, String> {
    let pack: Pack =
        serde_norway::from_str(text_in).map_err(|e| format!("not a valid TagPack YAML: {e}"))?;
    let tags = pack
        .tags
        .ok_or_else(|| "not a TagPack: no 'tags' list".to_string())?;
    let h = &pack.header;
    let title = text(&pack.title).unwrap_or_else(|| name.to_string());
    let mut out = Parsed {
        format: "tagpack",
        ..Default::default()
    };
    for (i, raw) in tags.into_iter().enumerate() {
        let location = format!("tags[{i}]");
        let t: Fields = match serde_norway::from_value(raw) {
            Ok(t) => t,
            Err(e) => {
                out.skipped.push(Skipped {
                    location,
                    value: String::new(),
                    reason: format!("malformed tag: {e}"),
                });
                continue;
            }
        };
        match tag_to_label(&t, h, &title, name, opts) {
            Ok(l) => out.labels.push(l),
            Err((value, reason)) => out.skipped.push(Skipped {
                location,
                value,
                reason,
            }),
        }
    }
    Ok(out)
}

fn tag_to_label(
    t: &Fields,
    h: &Fields,
    title: &str,
    name: &str,
    opts: &ImportOptions,
) -> Result<Label, (String, String)> {
    let Some(addr) = text(&t.address) else {
        return Err((
            String::new(),
            "tag has no address (e.g. a tx_hash tag)".into(),
        ));
    };
    let err = |reason: String| (addr.clone(), reason);
    let chain = resolve_chain(&addr, t, h, opts).map_err(err)?;
    let address = Address::parse(chain, &addr).map_err(|e| err(e.to_string()))?;
    let label = first(&t.label, &h.label)
        .or_else(|| Some(title.to_string()))
        .unwrap_or_default();
    let category_text = first(&t.category, &h.category);
    let abuse = first(&t.abuse, &h.abuse);
    let category = category_of(
        category_text.as_deref(),
        abuse.as_deref(),
        &label,
        title,
        opts,
    );
    let confidence = match first(&t.confidence, &h.confidence) {
        Some(c) => {
            confidence_from_id(&c).ok_or_else(|| err(format!("unknown confidence '{c}'")))?
        }
        None => opts.confidence.unwrap_or(50),
    };
    let source = first(&t.source, &h.source)
        .or_else(|| opts.source.clone())
        .unwrap_or_else(|| name.to_string());
    Ok(Label {
        chain,
        address,
        label,
        category,
        actor: first(&t.actor, &h.actor),
        abuse,
        source,
        confidence,
        context: text(&t.context),
    })
}

/// The category of a tag. A specific `abuse` (sanction, service_hack …) wins over a generic
/// `category` (user, service, organization): GraphSense's Lazarus packs say `category: user,
/// abuse: sanction`. A generic tag whose label or pack title names OFAC or sanctions is
/// `sanctioned` (the INTERPOL-scraped OFAC pack carries no abuse field).
fn category_of(
    category: Option<&str>,
    abuse: Option<&str>,
    label: &str,
    title: &str,
    opts: &ImportOptions,
) -> Category {
    let from_category = category.map(|c| Category::from_concept(c).unwrap_or(Category::Other));
    let from_abuse = abuse.and_then(Category::from_concept);
    let generic =
        |c: Option<Category>| matches!(c, None | Some(Category::Service | Category::Other));
    if generic(from_category) {
        if let Some(a) = from_abuse {
            return a;
        }
        let text = format!("{label} {title}").to_ascii_lowercase();
        if text.contains("ofac") || text.contains("sanction") {
            return Category::Sanctioned;
        }
    }
    from_category
        .or(from_abuse)
        .or(opts.category)
        .unwrap_or(Category::Other)
}

fn resolve_chain(
    addr: &str,
    t: &Fields,
    h: &Fields,
    opts: &ImportOptions,
) -> Result<Chain, String> {
    if let Some(n) = first(&t.network, &h.network) {
        return chain_of_code(&n).ok_or_else(|| format!("unsupported network '{n}'"));
    }
    match first(&t.currency, &h.currency) {
        Some(c) if is_multichain_token(&c) => {
            if addr.starts_with("0x") || addr.starts_with("0X") {
                Ok(opts.chain.filter(|c| c.is_evm()).unwrap_or(Chain::ETHEREUM))
            } else {
                Err(format!("{c} address on an unsupported chain"))
            }
        }
        Some(c) => {
            let chain = chain_of_code(&c).ok_or_else(|| format!("unsupported currency '{c}'"))?;
            // an ETH-currency tag with a network-less EVM address stays on the default chain
            Ok(match (chain, opts.chain) {
                (Chain::Evm(1), Some(o)) if o.is_evm() => o,
                _ => chain,
            })
        }
        None => opts
            .chain
            .ok_or_else(|| "no currency or network (give --chain)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
title: Test pack
creator: test
source: https://example.org/pack
currency: ETH
category: exchange
confidence: service_data
actor: binance
tags:
- address: '0x28C6c06298d514Db089934071355E5743bf21d60'
  label: Binance 14
- address: '0x28c6c06298d514db089934071355e5743bf21d61'
  label: Binance 15
  category: mixing_service
  confidence: ownership
- address: '0x28C6c06298d514Db089934071355E5743bf21d61'
  label: bad checksum
- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
  currency: BTC
  label: genesis
  context: {"note": "a mapping"}
- address: TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9
  currency: TRX
  label: tron
- label: no address
  tx_hash: '0x01'
"#;

    #[test]
    fn header_inheritance_and_skips() {
        let p = parse("t.yaml", PACK, &ImportOptions::default()).unwrap();
        assert_eq!(p.labels.len(), 3, "{:?}", p.skipped);
        let l0 = &p.labels[0];
        assert_eq!(l0.category, Category::Exchange);
        assert_eq!(l0.actor.as_deref(), Some("binance"));
        assert_eq!(l0.source, "https://example.org/pack");
        assert_eq!(l0.confidence, 80);
        assert_eq!(l0.chain, Chain::ETHEREUM);
        let l1 = &p.labels[1];
        assert_eq!((l1.category, l1.confidence), (Category::Mixer, 100));
        let l2 = &p.labels[2];
        assert_eq!(l2.chain, Chain::BITCOIN);
        assert_eq!(l2.context.as_deref(), Some(r#"{"note":"a mapping"}"#));
        assert_eq!(p.skipped.len(), 3);
        assert!(p.skipped[0].reason.contains("EIP-55"), "{:?}", p.skipped[0]);
        assert_eq!(p.skipped[0].location, "tags[2]");
        assert!(p.skipped[1].reason.contains("unsupported currency 'TRX'"));
        assert!(p.skipped[2].reason.contains("no address"));
    }

    #[test]
    fn not_a_tagpack() {
        assert!(parse("x.yaml", "a: [", &ImportOptions::default()).is_err());
        assert!(parse("x.yaml", "title: x\n", &ImportOptions::default()).is_err());
    }
}

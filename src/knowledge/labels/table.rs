//! CSV labels: `address,label,category[,chain,source,confidence]` without a header, or any
//! column order with a header row naming `address`, `label` (or `name`, `name tag`),
//! `category`, `chain` (or `network`/`currency`), `source`, `confidence`, `actor` (or `entity`).

use super::{ImportOptions, Parsed, Skipped, chain_of_code};
use crate::model::{Address, Category, Chain, Label, confidence_from_id};

#[derive(Debug, Default, Clone, Copy)]
struct Columns {
    address: usize,
    label: Option<usize>,
    category: Option<usize>,
    chain: Option<usize>,
    source: Option<usize>,
    confidence: Option<usize>,
    actor: Option<usize>,
}

fn header_columns(rec: &csv::StringRecord) -> Option<Columns> {
    let names: Vec<String> = rec
        .iter()
        .map(|f| f.trim().to_ascii_lowercase().replace(['_', ' '], ""))
        .collect();
    let find = |keys: &[&str]| names.iter().position(|n| keys.contains(&n.as_str()));
    let address = find(&["address", "addr", "bannedaddress"])?;
    Some(Columns {
        address,
        label: find(&["label", "name", "nametag", "wallettag", "tag"]),
        category: find(&["category", "type"]),
        chain: find(&["chain", "network", "currency"]),
        source: find(&["source", "datasource"]),
        confidence: find(&["confidence"]),
        actor: find(&["actor", "entity"]),
    })
}

pub(super) fn parse(name: &str, text: &str, opts: &ImportOptions) -> Result<Parsed, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let first = match records.next() {
        None => {
            return Ok(Parsed {
                format: "csv",
                ..Default::default()
            });
        }
        Some(r) => r.map_err(|e| format!("line 1: {e}"))?,
    };
    let (cols, first_data) = match header_columns(&first) {
        Some(c) => (c, None),
        None => (
            Columns {
                address: 0,
                label: Some(1),
                category: Some(2),
                chain: Some(3),
                source: Some(4),
                confidence: Some(5),
                actor: None,
            },
            Some(first),
        ),
    };
    if cols.category.is_none() && opts.category.is_none() {
        return Err("the CSV has no 'category' column: give --category".into());
    }
    let mut out = Parsed {
        format: "csv",
        ..Default::default()
    };
    let rows = first_data.into_iter().map(Ok).chain(records).enumerate();
    for (i, rec) in rows {
        let line = if cols.label.is_some() && i == 0 && first_data_was_header(&cols) {
            i + 2
        } else {
            i + 1 + usize::from(first_data_was_header(&cols))
        };
        let location = format!("line {line}");
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.skipped.push(Skipped {
                    location,
                    value: String::new(),
                    reason: format!("malformed CSV: {e}"),
                });
                continue;
            }
        };
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match row(&rec, cols, name, opts) {
            Ok(l) => out.labels.push(l),
            Err(reason) => out.skipped.push(Skipped {
                location,
                value: rec.iter().collect::<Vec<_>>().join(","),
                reason,
            }),
        }
    }
    Ok(out)
}

// Whether column positions came from a header row (then data starts on line 2).
fn first_data_was_header(cols: &Columns) -> bool {
    // positional layouts have actor None and the fixed positions 0..=5
    !(cols.address == 0
        && cols.label == Some(1)
        && cols.category == Some(2)
        && cols.chain == Some(3)
        && cols.actor.is_none())
}

fn field(rec: &csv::StringRecord, i: Option<usize>) -> Option<String> {
    i.and_then(|i| rec.get(i))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn row(
    rec: &csv::StringRecord,
    cols: Columns,
    name: &str,
    opts: &ImportOptions,
) -> Result<Label, String> {
    let addr = field(rec, Some(cols.address)).ok_or("no address")?;
    let chain = match field(rec, cols.chain) {
        Some(c) => c
            .parse::<Chain>()
            .ok()
            .or_else(|| chain_of_code(&c))
            .ok_or_else(|| format!("unsupported chain '{c}'"))?,
        None => match opts.chain {
            Some(c) => c,
            None if addr.starts_with("0x") || addr.starts_with("0X") => Chain::ETHEREUM,
            None => Address::parse_any(&addr).map_err(|e| e.to_string())?.0,
        },
    };
    let address = Address::parse(chain, &addr).map_err(|e| e.to_string())?;
    let label = field(rec, cols.label).ok_or_else(|| format!("no label for {addr}"))?;
    let category = match field(rec, cols.category) {
        Some(c) => c.parse::<Category>().map_err(|e| e.to_string())?,
        None => opts.category.ok_or("no category")?,
    };
    let confidence = match field(rec, cols.confidence) {
        Some(c) => confidence_from_id(&c).ok_or_else(|| format!("invalid confidence '{c}'"))?,
        None => opts.confidence.unwrap_or(50),
    };
    Ok(Label {
        chain,
        address,
        label,
        category,
        actor: field(rec, cols.actor),
        abuse: None,
        source: field(rec, cols.source)
            .or_else(|| opts.source.clone())
            .unwrap_or_else(|| name.to_string()),
        confidence,
        context: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_rows_and_line_numbers() {
        let text = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96,Ronin exploiter,theft\n\
                    0x098B716B8aaf21512996dC57EB0615e2383E2f96,bad,theft\n\
                    bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4,Some exchange,exchange,bitcoin,manual,80\n\
                    0x098B716B8Aaf21512996dC57EB0615e2383E2f96,x,nonsense\n";
        let p = parse("l.csv", text, &ImportOptions::default()).unwrap();
        assert_eq!(p.labels.len(), 2);
        assert_eq!(p.labels[1].chain, Chain::BITCOIN);
        assert_eq!(p.labels[1].confidence, 80);
        assert_eq!(p.labels[1].source, "manual");
        assert_eq!(p.skipped.len(), 2);
        assert_eq!(p.skipped[0].location, "line 2");
        assert_eq!(p.skipped[1].location, "line 4");
        assert!(p.skipped[1].reason.contains("nonsense"));
    }

    #[test]
    fn header_rows() {
        let text =
            "address,name\n0x098B716B8Aaf21512996dC57EB0615e2383E2f96,\"LAZARUS GROUP\"\nzzz,x\n";
        assert!(parse("d.csv", text, &ImportOptions::default()).is_err());
        let opts = ImportOptions {
            category: Some(Category::Sanctioned),
            ..Default::default()
        };
        let p = parse("d.csv", text, &opts).unwrap();
        assert_eq!(p.labels.len(), 1);
        assert_eq!(p.labels[0].label, "LAZARUS GROUP");
        assert_eq!(p.skipped[0].location, "line 3");
    }
}

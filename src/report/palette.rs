//! Colours per node category, shared by the GEXF / DOT exports and the HTML report.

/// RGB colour of a node category (`seed`, `exchange`, `mixer` … `other`); grey when unknown.
pub fn category_color(category: &str) -> (u8, u8, u8) {
    match category {
        "seed" => (0xd6, 0x27, 0x28),
        "source" => (0x8c, 0x56, 0x4b),
        "exchange" => (0x1f, 0x77, 0xb4),
        "mixer" => (0x94, 0x67, 0xbd),
        "bridge" => (0x17, 0xbe, 0xcf),
        "sanctioned" => (0x7f, 0x00, 0x00),
        "defi" => (0x2c, 0xa0, 0x2c),
        "gambling" => (0xe3, 0x77, 0xc2),
        "unspent" => (0xff, 0x7f, 0x0e),
        "fee" => (0x7f, 0x7f, 0x7f),
        "unknown" => (0xbc, 0xbd, 0x22),
        "intermediate" => (0x9e, 0xb9, 0xd4),
        "transaction" => (0xc7, 0xc7, 0xc7),
        _ => (0xb0, 0xb0, 0xb0),
    }
}

/// The colour as `#rrggbb`.
pub fn category_hex(category: &str) -> String {
    let (r, g, b) = category_color(category);
    format!("#{r:02x}{g:02x}{b:02x}")
}

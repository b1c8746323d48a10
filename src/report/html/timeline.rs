//! The timeline: tainted transfers by day (by month when they span more than
//! [`MAX_DAYS`] days) as inline SVG bars, one chart per asset (at most three).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use alloy_primitives::U256;

use super::esc;
use super::sankey::f64_of;
use crate::report::view::TraceView;

/// Above this many distinct days, bars are months.
pub(crate) const MAX_DAYS: usize = 400;

const W: f64 = 900.0;
const H: f64 = 160.0;

pub(crate) fn render(v: &TraceView) -> String {
    let mut h = String::from(
        "<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"note\">Tainted amount moved per \
         day (UTC), every tainted transfer counted once.</p>\n",
    );
    let mut per_asset: BTreeMap<usize, Vec<(&str, U256, u64)>> = BTreeMap::new();
    for d in &v.timeline {
        per_asset
            .entry(d.asset)
            .or_default()
            .push((d.day.as_str(), d.tainted, d.count));
    }
    if per_asset.is_empty() {
        h.push_str("<p class=\"note\">No dated tainted transfer.</p></section>\n");
        return h;
    }
    let mut order: Vec<usize> = super::sankey::asset_order(v);
    for a in per_asset.keys() {
        if !order.contains(a) {
            order.push(*a);
        }
    }
    for asset in order
        .into_iter()
        .filter(|a| per_asset.contains_key(a))
        .take(3)
    {
        let days = &per_asset[&asset];
        let monthly = days.len() > MAX_DAYS;
        let mut bars: BTreeMap<String, (U256, u64)> = BTreeMap::new();
        for (day, t, c) in days {
            let k = if monthly {
                day[..7].to_string()
            } else {
                day.to_string()
            };
            let b = bars.entry(k).or_default();
            b.0 += *t;
            b.1 += *c;
        }
        let key = v.asset_key(asset);
        let max = bars.values().map(|b| f64_of(b.0)).fold(0.0, f64::max);
        let n = bars.len() as f64;
        let bw = ((W - 60.0) / n).min(40.0);
        let _ = writeln!(
            h,
            "<figure class=\"timeline\"><figcaption>{} per {}</figcaption><svg viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"{}\">",
            esc(key),
            if monthly { "month" } else { "day" },
            H + 30.0,
            esc(&format!(
                "tainted {key} by {}",
                if monthly { "month" } else { "day" }
            ))
        );
        let _ = writeln!(
            h,
            "<line x1=\"40\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\" class=\"axis\"/>"
        );
        for (i, (label, (t, c))) in bars.iter().enumerate() {
            let bh = if max > 0.0 {
                (f64_of(*t) / max * (H - 20.0)).max(1.0)
            } else {
                1.0
            };
            let x = 50.0 + i as f64 * bw;
            let _ = writeln!(
                h,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{}</title></rect>",
                H - bh,
                (bw - 1.0).max(0.5),
                esc(&format!(
                    "{label}: {} {key} in {c} transfer(s)",
                    v.dec(asset, *t)
                ))
            );
        }
        let first = bars.keys().next().cloned().unwrap_or_default();
        let last = bars.keys().last().cloned().unwrap_or_default();
        let _ = writeln!(
            h,
            "<text x=\"50\" y=\"{}\">{}</text><text x=\"{W}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"36\" y=\"14\" text-anchor=\"end\">max</text>",
            H + 18.0,
            esc(&first),
            H + 18.0,
            esc(&last)
        );
        h.push_str("</svg></figure>\n");
    }
    h.push_str("</section>\n");
    h
}

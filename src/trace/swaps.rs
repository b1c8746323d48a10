//! DEX swaps (`--follow-swaps`): inside one transaction, value an address sends into labelled
//! DEX / DeFi contracts comes back from them as another asset; the taint crosses with it.
//!
//! The rule (docs/adr/0010-demixing.md, "Swaps"): a transaction is a swap when it has inputs
//! (flows from a followed address — plain or seed — into a `defi` terminal) and outputs (flows
//! from a `defi` terminal to a followed address). When all inputs are of one asset, every
//! output carries floor(output × T / V) taint, T and V being the inputs' tainted and total
//! amounts (the inputs' tainted share, exact). The inputs' taint is credited to `defi` as
//! always and counted as `swapped_out` of its asset; the outputs' taint enters its asset as
//! `swapped_in` (per asset: injected + swapped_in = Σ endpoints). Inputs of several assets
//! make the swap ambiguous: not followed, reported.

use crate::graph::{FlowGraph, NONE};

/// One swap transaction, by flow index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// Transaction id.
    pub tx: u32,
    /// The first input or output flow: where the replay settles the swap.
    pub trigger: usize,
    /// Flows into DEX contracts, in replay order.
    pub inputs: Vec<usize>,
    /// Flows out of DEX contracts to followed addresses, in replay order.
    pub outputs: Vec<usize>,
    /// Inputs of more than one asset: not followed.
    pub ambiguous: bool,
}

/// The swap transactions of `g`. `dex(n)`: node n is a `defi` terminal; `followed(n)`: node n
/// is a plain address or a seed.
pub fn detect(
    g: &FlowGraph,
    dex: &dyn Fn(u32) -> bool,
    followed: &dyn Fn(u32) -> bool,
) -> Vec<Swap> {
    let mut out = Vec::new();
    let flows = &g.flows;
    let mut start = 0;
    while start < flows.len() {
        let tx = flows[start].tx;
        let mut end = start;
        while end < flows.len() && flows[end].tx == tx {
            end += 1;
        }
        let ok = |n: u32| n != NONE && followed(n);
        let is_dex = |n: u32| n != NONE && dex(n);
        let inputs: Vec<usize> = (start..end)
            .filter(|&i| ok(flows[i].from) && is_dex(flows[i].to))
            .collect();
        let outputs: Vec<usize> = (start..end)
            .filter(|&i| is_dex(flows[i].from) && ok(flows[i].to))
            .collect();
        if !inputs.is_empty() && !outputs.is_empty() {
            let a0 = flows[inputs[0]].asset;
            out.push(Swap {
                tx,
                trigger: inputs[0].min(outputs[0]),
                ambiguous: inputs.iter().any(|&i| flows[i].asset != a0),
                inputs,
                outputs,
            });
        }
        start = end;
    }
    out
}

#[cfg(test)]
#[path = "swaps_tests.rs"]
mod tests;

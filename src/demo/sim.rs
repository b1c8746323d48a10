//! A deterministic in-process EVM-like chain for `moneytrail demo`: transactions become the
//! same [`Transfer`] rows the fetchers write (fee at sub-index `fee`, the top-level value,
//! internal calls, ERC-20 logs), in blocks 12 s apart. Balances are checked so that nobody
//! spends what they do not hold: the simulation is a valid history, not a list of numbers.

use std::collections::HashMap;

use alloy_primitives::{U256, keccak256};

use crate::model::{Address, AssetId, Chain, SubIndex, Transfer, TxHash};

/// One value movement inside a simulated transaction.
#[derive(Debug, Clone)]
pub(crate) enum Move {
    /// The transaction's own value, sender → `to`.
    Value(Address, U256),
    /// An internal call moving the native asset.
    Internal(Address, Address, U256),
    /// An ERC-20 Transfer log of `token`.
    Token(Address, Address, Address, U256),
}

/// The simulated chain being written.
pub(crate) struct Sim {
    chain: Chain,
    /// Every transfer, in replay order.
    pub transfers: Vec<Transfer>,
    time: i64,
    block: u64,
    tx_index: u32,
    log_index: u32,
    n: u64,
    bal: HashMap<(Address, AssetId), U256>,
    gas_price: U256,
}

/// A deterministic address named `name` (the last 20 bytes of keccak256("moneytrail-demo/" +
/// name)).
pub(crate) fn addr(name: &str) -> Address {
    let h = keccak256(format!("moneytrail-demo/{name}").as_bytes());
    Address::Evm(alloy_primitives::Address::from_slice(&h[12..]))
}

impl Sim {
    /// A chain whose first block is `block` at `time`; gas price in wei.
    pub fn new(chain: Chain, time: i64, block: u64, gas_price: U256) -> Sim {
        Sim {
            chain,
            transfers: Vec::new(),
            time,
            block,
            tx_index: 0,
            log_index: 0,
            n: 0,
            bal: HashMap::new(),
            gas_price,
        }
    }

    /// Current block time.
    pub fn now(&self) -> i64 {
        self.time
    }

    /// Move the clock to `time` (never backwards), starting a new block.
    pub fn at(&mut self, time: i64) {
        let t = time.max(self.time + 12);
        self.block += ((t - self.time) / 12).max(1) as u64;
        self.time = t;
        self.tx_index = 0;
        self.log_index = 0;
    }

    /// Balance of `a` in `asset`.
    pub fn balance(&self, a: &Address, asset: AssetId) -> U256 {
        self.bal
            .get(&(a.clone(), asset))
            .copied()
            .unwrap_or_default()
    }

    /// Fee of a transaction using `gas`.
    pub fn fee(&self, gas: u64) -> U256 {
        U256::from(gas) * self.gas_price
    }

    fn next_hash(&mut self) -> TxHash {
        self.n += 1;
        TxHash(keccak256(
            format!("moneytrail-demo/tx/{}", self.n).as_bytes(),
        ))
    }

    fn debit(&mut self, a: &Address, asset: AssetId, v: U256) {
        let b = self.bal.entry((a.clone(), asset)).or_default();
        assert!(
            *b >= v,
            "simulation bug: {a} spends {v} of {asset:?} holding {b}"
        );
        *b -= v;
    }

    fn credit(&mut self, a: &Address, asset: AssetId, v: U256) {
        *self.bal.entry((a.clone(), asset)).or_default() += v;
    }

    fn push(
        &mut self,
        hash: TxHash,
        sub: SubIndex,
        from: Option<Address>,
        to: Option<Address>,
        asset: AssetId,
        amount: U256,
    ) {
        self.transfers.push(Transfer {
            chain: self.chain,
            tx_hash: hash,
            sub,
            block: self.block,
            tx_index: self.tx_index,
            time: self.time,
            from,
            to,
            asset,
            amount: crate::model::Amount(amount),
        });
    }

    /// Newly minted value (a block reward or a token mint): no sender, no fee.
    pub fn mint(&mut self, to: &Address, asset: AssetId, amount: U256) {
        let h = self.next_hash();
        self.push(h, SubIndex::Value, None, Some(to.clone()), asset, amount);
        self.credit(to, asset, amount);
        self.tx_index += 1;
    }

    /// A successful transaction sent by `sender` using `gas`: the fee, then `moves` in the
    /// fetchers' order (value, internal calls, logs). Returns the fee paid.
    pub fn tx(&mut self, sender: &Address, gas: u64, moves: &[Move]) -> U256 {
        let h = self.next_hash();
        let fee = self.fee(gas);
        if !fee.is_zero() {
            // a relayed call (gas 0 here) has no fee row, as the fetchers write none
            self.debit(sender, AssetId::Native, fee);
            self.push(
                h,
                SubIndex::Fee,
                Some(sender.clone()),
                None,
                AssetId::Native,
                fee,
            );
        }
        let mut calls = 0u32;
        for m in moves {
            match m {
                Move::Value(to, v) => {
                    self.debit(sender, AssetId::Native, *v);
                    self.credit(to, AssetId::Native, *v);
                    self.push(
                        h,
                        SubIndex::Value,
                        Some(sender.clone()),
                        Some(to.clone()),
                        AssetId::Native,
                        *v,
                    );
                }
                Move::Internal(from, to, v) => {
                    self.debit(from, AssetId::Native, *v);
                    self.credit(to, AssetId::Native, *v);
                    self.push(
                        h,
                        SubIndex::Internal(vec![calls]),
                        Some(from.clone()),
                        Some(to.clone()),
                        AssetId::Native,
                        *v,
                    );
                    calls += 1;
                }
                Move::Token(token, from, to, v) => {
                    let Address::Evm(t) = token else {
                        unreachable!("tokens are EVM contracts")
                    };
                    let asset = AssetId::Token(*t);
                    self.debit(from, asset, *v);
                    self.credit(to, asset, *v);
                    let li = self.log_index;
                    self.log_index += 1;
                    self.push(
                        h,
                        SubIndex::Log(li),
                        Some(from.clone()),
                        Some(to.clone()),
                        asset,
                        *v,
                    );
                }
            }
        }
        self.tx_index += 1;
        fee
    }
}

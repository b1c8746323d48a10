//! Real Bitcoin transactions for tests, built and signed with the `bitcoin` crate: deterministic
//! keys, P2WPKH (BIP 143) and P2PKH (legacy) spends, coinbases with a BIP 34 height, and blocks
//! with a valid merkle root and regtest proof of work. bcoin accepts these transactions; the
//! local Esplora server serves them.

use bitcoin::blockdata::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxMerkleNode, TxOut, Txid, Witness, absolute, transaction,
};

/// Script kinds the builder can sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Pay to witness public key hash (segwit v0).
    P2wpkh,
    /// Pay to public key hash (legacy).
    P2pkh,
}

/// A deterministic key (secret = 32 bytes derived from `seed`).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Secret key.
    pub sk: SecretKey,
    /// Compressed public key.
    pub pk: bitcoin::PublicKey,
    /// How its outputs are locked.
    pub kind: Kind,
}

impl Key {
    /// Key number `seed` locking with `kind`.
    pub fn new(seed: u32, kind: Kind) -> Key {
        let mut b = [0u8; 32];
        b[0] = 0x42;
        b[28..].copy_from_slice(&(seed + 1).to_be_bytes());
        let sk = SecretKey::from_slice(&b).expect("valid secret");
        let secp = Secp256k1::signing_only();
        let pk = bitcoin::PublicKey::new(sk.public_key(&secp));
        Key { sk, pk, kind }
    }

    /// Its locking script.
    pub fn script(&self) -> ScriptBuf {
        match self.kind {
            Kind::P2wpkh => ScriptBuf::new_p2wpkh(&self.pk.wpubkey_hash().expect("compressed")),
            Kind::P2pkh => ScriptBuf::new_p2pkh(&self.pk.pubkey_hash()),
        }
    }

    /// Its address on `network` (bitcoin-crate encoding: `bcrt1…` on regtest).
    pub fn address(&self, network: Network) -> String {
        bitcoin::Address::from_script(&self.script(), network)
            .expect("standard")
            .to_string()
    }

    /// An output of `sats` to this key.
    pub fn out(&self, sats: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sats),
            script_pubkey: self.script(),
        }
    }
}

/// An output the builder can spend: where it is, what it holds, whose key unlocks it.
#[derive(Debug, Clone)]
pub struct Coin {
    /// Outpoint.
    pub outpoint: OutPoint,
    /// The output.
    pub txout: TxOut,
    /// The key.
    pub key: Key,
}

impl Coin {
    /// Output `vout` of `tx`, owned by `key`.
    pub fn of(tx: &Transaction, vout: u32, key: Key) -> Coin {
        Coin {
            outpoint: OutPoint::new(tx.compute_txid(), vout),
            txout: tx.output[vout as usize].clone(),
            key,
        }
    }
}

/// An OP_RETURN output carrying `data`.
pub fn op_return(data: &[u8; 8]) -> TxOut {
    TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::new_op_return(data),
    }
}

/// A signed transaction spending `inputs` (SIGHASH_ALL) into `outputs`.
pub fn spend(inputs: &[Coin], outputs: Vec<TxOut>) -> Transaction {
    let mut tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: inputs
            .iter()
            .map(|c| TxIn {
                previous_output: c.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: outputs,
    };
    let secp = Secp256k1::signing_only();
    let mut sigs = Vec::new();
    {
        let mut cache = SighashCache::new(&tx);
        for (i, c) in inputs.iter().enumerate() {
            let digest: [u8; 32] = match c.key.kind {
                Kind::P2wpkh => cache
                    .p2wpkh_signature_hash(
                        i,
                        &c.txout.script_pubkey,
                        c.txout.value,
                        EcdsaSighashType::All,
                    )
                    .expect("sighash")
                    .to_byte_array(),
                Kind::P2pkh => cache
                    .legacy_signature_hash(
                        i,
                        &c.txout.script_pubkey,
                        EcdsaSighashType::All.to_u32(),
                    )
                    .expect("sighash")
                    .to_byte_array(),
            };
            let sig = secp.sign_ecdsa(&Message::from_digest(digest), &c.key.sk);
            sigs.push(bitcoin::ecdsa::Signature {
                signature: sig,
                sighash_type: EcdsaSighashType::All,
            });
        }
    }
    for (i, (c, sig)) in inputs.iter().zip(sigs).enumerate() {
        match c.key.kind {
            Kind::P2wpkh => tx.input[i].witness = Witness::p2wpkh(&sig, &c.key.pk.inner),
            Kind::P2pkh => {
                tx.input[i].script_sig = ScriptBuf::builder()
                    .push_slice(sig.serialize())
                    .push_key(&c.key.pk)
                    .into_script()
            }
        }
    }
    tx
}

/// A coinbase at `height` paying `outputs` (BIP 34 height push, `tag` keeps txids unique).
pub fn coinbase(height: u64, tag: u32, outputs: Vec<TxOut>) -> Transaction {
    let script_sig = ScriptBuf::builder()
        .push_int(height as i64)
        .push_int(tag as i64)
        .into_script();
    Transaction {
        version: transaction::Version::ONE,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}

/// A block on `prev` with `txs` (coinbase first), a valid merkle root and regtest proof of work.
pub fn mine(prev: BlockHash, time: u32, txs: Vec<Transaction>) -> Block {
    let mut block = Block {
        header: Header {
            version: BlockVersion::TWO,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        },
        txdata: txs,
    };
    block.header.merkle_root = block.compute_merkle_root().expect("txs");
    let target = block.header.target();
    while block.header.validate_pow(target).is_err() {
        block.header.nonce += 1;
    }
    block
}

/// Electrum-style merkle branch of the transaction at `pos` (sibling hashes, display hex).
pub fn merkle_branch(txids: &[Txid], pos: usize) -> Vec<String> {
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.to_byte_array()).collect();
    let mut idx = pos;
    let mut out = Vec::new();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            let last = *level.last().expect("non-empty");
            level.push(last);
        }
        let sib = level[idx ^ 1];
        let mut disp = sib;
        disp.reverse();
        out.push(hex(&disp));
        level = level
            .chunks(2)
            .map(|p| {
                let mut e = Vec::with_capacity(64);
                e.extend_from_slice(&p[0]);
                e.extend_from_slice(&p[1]);
                bitcoin::hashes::sha256d::Hash::hash(&e).to_byte_array()
            })
            .collect();
        idx /= 2;
    }
    out
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

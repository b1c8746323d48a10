//! Schema versions. Each entry is applied once, in order, inside one write transaction together
//! with the new `user_version` (taken before the version is read, so two processes opening a
//! new file at once migrate it once); a new version is a new entry at the end, never an edit of
//! an old one.

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // v1: the first schema.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Addresses are interned: transfers refer to them by integer id.
    CREATE TABLE addresses (
        id    INTEGER PRIMARY KEY,
        chain TEXT NOT NULL,
        addr  TEXT NOT NULL,   -- canonical key: lower-case hex (EVM), canonical text (Bitcoin)
        UNIQUE (chain, addr)
    );
    CREATE TABLE assets (
        chain    TEXT NOT NULL,
        asset    TEXT NOT NULL,  -- '' for the native coin, else the lower-case token contract
        symbol   TEXT NOT NULL,
        decimals INTEGER NOT NULL,
        PRIMARY KEY (chain, asset)
    );
    CREATE TABLE transfers (
        chain     TEXT NOT NULL,
        tx_hash   BLOB NOT NULL,     -- 32 bytes
        sub_class INTEGER NOT NULL,  -- 0 fee, 1 value, 2 internal, 3 log, 4 vin, 5 vout
        sub_key   TEXT NOT NULL,     -- trace address '0_1', log index, input/output index
        block     INTEGER NOT NULL,
        tx_index  INTEGER NOT NULL,
        time      INTEGER NOT NULL,
        from_id   INTEGER REFERENCES addresses(id),
        to_id     INTEGER REFERENCES addresses(id),
        asset     TEXT NOT NULL,
        amount    BLOB NOT NULL,     -- big-endian base units, leading zero bytes trimmed
        PRIMARY KEY (chain, tx_hash, sub_class, sub_key)
    ) WITHOUT ROWID;
    CREATE INDEX transfers_from ON transfers (from_id, block);
    CREATE INDEX transfers_to   ON transfers (to_id, block);
    CREATE TABLE utxo_outputs (
        chain      TEXT NOT NULL,
        txid       BLOB NOT NULL,
        vout       INTEGER NOT NULL,
        value      INTEGER NOT NULL,   -- satoshi
        script     BLOB NOT NULL,
        address_id INTEGER REFERENCES addresses(id),
        block      INTEGER NOT NULL,
        PRIMARY KEY (chain, txid, vout)
    ) WITHOUT ROWID;
    CREATE INDEX utxo_outputs_address ON utxo_outputs (address_id);
    CREATE TABLE utxo_spends (
        chain         TEXT NOT NULL,
        txid          BLOB NOT NULL,
        vout          INTEGER NOT NULL,
        spending_txid BLOB NOT NULL,
        input_index   INTEGER NOT NULL,
        PRIMARY KEY (chain, txid, vout)
    ) WITHOUT ROWID;
    CREATE INDEX utxo_spends_by_tx ON utxo_spends (chain, spending_txid);
    -- What has been fetched: one row per (source, chain, address, kind, range start).
    CREATE TABLE checkpoints (
        source     TEXT NOT NULL,
        chain      TEXT NOT NULL,
        address    TEXT NOT NULL,
        kind       TEXT NOT NULL,
        from_block INTEGER NOT NULL,
        to_block   INTEGER NOT NULL,
        cursor     TEXT,
        complete   INTEGER NOT NULL,
        PRIMARY KEY (source, chain, address, kind, from_block)
    );
    CREATE TABLE labels (
        id         INTEGER PRIMARY KEY,
        chain      TEXT NOT NULL,
        address    TEXT NOT NULL,   -- canonical key, as in addresses.addr
        label      TEXT NOT NULL,
        category   TEXT NOT NULL,
        actor      TEXT,
        abuse      TEXT,
        source     TEXT NOT NULL,
        confidence INTEGER NOT NULL,
        context    TEXT,
        origin     TEXT NOT NULL,   -- file it came from ('builtin:…' for the embedded set)
        UNIQUE (chain, address, label, category, origin)
    );
    CREATE INDEX labels_address ON labels (address);
    CREATE TABLE prices (
        asset  TEXT NOT NULL,   -- symbol
        date   TEXT NOT NULL,   -- YYYY-MM-DD (UTC)
        usd    REAL NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (asset, date, source)
    );
    "#,
    // v2: opening balances. The balance of an address in an asset at the END of `block`, read
    // from a node (eth_getBalance / balanceOf at that block). A trace that starts at block N
    // opens each ledger with the balance at the end of N-1, so value held before the fetched
    // window is accounted for instead of being invisible.
    r#"
    CREATE TABLE balances (
        chain      TEXT NOT NULL,
        address_id INTEGER NOT NULL REFERENCES addresses(id),
        asset      TEXT NOT NULL,
        block      INTEGER NOT NULL,
        amount     BLOB NOT NULL,
        PRIMARY KEY (chain, address_id, asset, block)
    ) WITHOUT ROWID;
    "#,
    // v3: the screening index (src/screen, ADR 0007): one row per (chain, address) an indexed
    // trace reached; `record` is the JSON of `screen::Taint`. Rebuilt whole by `screen index`.
    r#"
    CREATE TABLE screen_taint (
        chain   TEXT NOT NULL,
        address TEXT NOT NULL,   -- canonical key, as in addresses.addr
        hops    INTEGER NOT NULL,
        record  TEXT NOT NULL,
        PRIMARY KEY (chain, address)
    ) WITHOUT ROWID;
    "#,
    // v4: daily USD prices (src/knowledge/prices, docs/formats.md "Prices"). The v1 `prices`
    // table (a REAL price per source) was never written by any command: it is replaced by one
    // close per (asset, day), kept as the exact decimal text imported, with where it came from.
    r#"
    DROP TABLE IF EXISTS prices;
    CREATE TABLE prices (
        asset     TEXT NOT NULL,   -- upper-case symbol ('ETH', 'BTC', 'USDC')
        day       TEXT NOT NULL,   -- YYYY-MM-DD, the UTC day
        close_usd TEXT NOT NULL,   -- USD per whole unit, decimal text exactly as imported
        source    TEXT NOT NULL,   -- 'coinbase', 'yfinance', the --source given, or 'file:<name>'
        PRIMARY KEY (asset, day)
    ) WITHOUT ROWID;
    "#,
    // v5 (trace runs): every `trace` run records what it found, so `totals` can sum incidents
    // without re-reading output directories. `trace_run_rows` holds one row per (kind, entity,
    // asset): kind `injected` or an endpoint category; amounts exact decimal text in the
    // asset's units, USD as priced by the run (NULL when a price was missing).
    r#"
    CREATE TABLE trace_runs (
        id              INTEGER PRIMARY KEY,
        incident        TEXT,
        chain           TEXT NOT NULL,
        model           TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        out_dir         TEXT NOT NULL,
        seeds           TEXT NOT NULL,  -- JSON array
        conservation_ok INTEGER NOT NULL,
        simulated       INTEGER NOT NULL,
        first_time      INTEGER,
        last_time       INTEGER,
        prices          TEXT NOT NULL   -- JSON: the prices used (report::usd::PriceUse)
    );
    CREATE INDEX trace_runs_incident ON trace_runs (incident, chain, model);
    CREATE TABLE trace_run_rows (
        run      INTEGER NOT NULL REFERENCES trace_runs(id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,
        entity   TEXT NOT NULL,
        asset    TEXT NOT NULL,
        contract TEXT NOT NULL,
        decimals INTEGER NOT NULL,
        amount   TEXT NOT NULL,
        usd      REAL,
        PRIMARY KEY (run, kind, entity, asset, contract)
    ) WITHOUT ROWID;
    "#,
    // v6 (mixers and bridges): decoded contract events the trace needs beyond value transfers
    // (Tornado pool deposits / withdrawals, THORChain router legs, Ren burns), keyed like
    // transfers so that re-fetching is idempotent. `data` is the JSON of `model::EventData`.
    r#"
    CREATE TABLE contract_events (
        chain     TEXT NOT NULL,
        tx_hash   BLOB NOT NULL,
        log_index INTEGER NOT NULL,
        contract  TEXT NOT NULL,
        block     INTEGER NOT NULL,
        tx_index  INTEGER NOT NULL,
        time      INTEGER NOT NULL,
        tx_from   TEXT,
        gas_price TEXT,
        kind      TEXT NOT NULL,
        data      TEXT NOT NULL,
        PRIMARY KEY (chain, tx_hash, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX contract_events_contract ON contract_events (chain, contract, kind, block);
    "#,
];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            found: current,
            supported: LATEST,
        });
    }
    if current == LATEST {
        return Ok(());
    }
    // Another process may be migrating the same file right now: take the write lock first
    // (waiting up to the busy timeout), then read the version again under it.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

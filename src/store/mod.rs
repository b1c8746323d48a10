//! The SQLite store: every fetched transfer, UTXO, checkpoint, label and price lives here.
//!
//! - WAL journal; every write happens inside a transaction, so a crash (even `kill -9`)
//!   leaves the last committed state intact and nothing half-written.
//! - Schema versions are applied in order by [`migrations`] and recorded in `PRAGMA user_version`.
//! - Inserting the same transfer twice is a no-op (primary key (chain, tx hash, sub-index)).

mod chains;
mod events;
mod labels;
mod migrations;
mod prices;
mod runs;
mod transfers;
mod utxo;
mod writer;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

pub use prices::{DailyPrice, PriceCoverage, PriceUpsert};
pub use runs::{RunRow, TraceRun};
pub use utxo::{StoredInput, StoredUtxoTx};
pub use writer::{BulkIds, Checkpoint, Writer};

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or a statement failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file was written by a newer moneytrail.
    #[error("database schema version {found} is newer than this program supports ({supported})")]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored value does not parse (the file was edited or is corrupt).
    #[error("corrupt row in table {table}: {detail}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Result alias for store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open moneytrail database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (creating if missing) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        // Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
        // locked" at once, without waiting, when another process holds the file at that moment
        // (two commands opening a new database together). Retry for a bounded while.
        let mut attempt = 0;
        loop {
            let conn = Connection::open(path)?;
            match Self::init(conn, true) {
                Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < 100 =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 + fastrand::u64(0..30)));
                }
                r => return r,
            }
        }
    }

    /// A private in-memory database (tests, the offline demo).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, wal: bool) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        // NORMAL in WAL mode survives any process crash; only an OS crash or power loss may
        // roll back the newest commits, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Start a write transaction. Nothing is visible to readers, or survives a crash, until
    /// [`Writer::commit`].
    pub fn writer(&mut self) -> Result<Writer<'_>> {
        Writer::new(self.conn.transaction()?)
    }

    /// Let SQLite keep up to `mib` MiB of pages in memory (default 2 MiB). Bulk imports raise
    /// it: inserts keyed by random transaction hashes touch pages all over the B-trees, and a
    /// small cache turns each into reads and writes of the file. Pages are allocated as used.
    pub fn set_cache_size_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -(i64::from(mib) * 1024))?;
        Ok(())
    }

    /// Turn SQLite's foreign-key checks on (the default) or off, outside a transaction. A bulk
    /// writer whose ids all come from the store's own tables may turn them off meanwhile.
    pub fn set_foreign_keys(&self, on: bool) -> Result<()> {
        self.conn
            .pragma_update(None, "foreign_keys", if on { "ON" } else { "OFF" })?;
        Ok(())
    }

    /// A value from the `meta` key/value table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Set a value in the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Direct access for read-only queries elsewhere in the crate.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests;

//! Where the shared real data lives for tests (`../shared/data` beside the repository).
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data`, or a clear failure: tests on real data must not pass silently without it.
pub fn shared_data() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        p.is_dir(),
        "real test data not found at {} (the repository expects ../shared beside it)",
        p.display()
    );
    p
}

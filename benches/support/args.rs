//! The benches' command line: `--bench` (a full run, as `cargo bench` passes it; without it, as
//! under `cargo test --all-targets`, a small smoke run) and `--name VALUE` options.
#![allow(dead_code)]

/// Whether this is a full benchmark run (`--bench` given).
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The value after `--name`, parsed; `None` when absent or unparsable.
pub fn value<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

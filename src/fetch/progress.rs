//! The fetch progress line on stderr (indicatif): hop, addresses done / queued, transfers
//! stored, request rate. Hidden with `-q` and when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::HttpStats;

/// One progress line. Cheap to update often (it redraws at most a few times a second).
pub(crate) struct Progress<'a> {
    bar: ProgressBar,
    stats: Option<&'a HttpStats>,
    started: Instant,
    base_requests: u64,
    /// Current hop.
    pub hop: u32,
    /// Addresses fetched completely in this run (or found complete).
    pub done: u64,
    /// Addresses queued in this round.
    pub queued: u64,
    /// Transfers newly stored.
    pub stored: u64,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(show: bool, stats: Option<&'a HttpStats>) -> Progress<'a> {
        let bar = if show {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(250));
            b
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            base_requests: stats.map(requests).unwrap_or(0),
            stats,
            started: Instant::now(),
            hop: 0,
            done: 0,
            queued: 0,
            stored: 0,
        }
    }

    /// Requests sent since this progress started.
    pub(crate) fn requests(&self) -> u64 {
        self.stats
            .map(requests)
            .unwrap_or(0)
            .saturating_sub(self.base_requests)
    }

    /// Redraw the message.
    pub(crate) fn update(&self) {
        if self.bar.is_hidden() {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "hop {} · addresses {}/{} · transfers stored {} · {:.1} req/s",
            self.hop,
            self.done,
            self.queued,
            self.stored,
            self.requests() as f64 / secs
        ));
    }

    /// Remove the line.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn requests(s: &HttpStats) -> u64 {
    s.requests.load(std::sync::atomic::Ordering::Relaxed)
}

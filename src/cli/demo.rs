//! `moneytrail demo`: the whole product on a simulated chain, offline (src/demo).

use std::path::PathBuf;

use anyhow::{Context, Result};

use moneytrail::demo;
use moneytrail::report::totals_out;

use crate::{Cli, bad, emit};

/// `moneytrail demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Output directory (the demo's own store, one trace per model, totals, the report).
    #[arg(long, default_value = "moneytrail-demo")]
    out: PathBuf,
}

/// `moneytrail demo`.
pub(crate) fn demo_cmd(cli: &Cli, a: &DemoArgs) -> Result<()> {
    if a.out.exists() && !a.out.is_dir() {
        return Err(bad(format!(
            "--out {} exists and is not a directory",
            a.out.display()
        )));
    }
    let clock = std::time::Instant::now();
    let o = demo::run(&a.out).with_context(|| format!("demo into {}", a.out.display()))?;
    if !cli.quiet {
        let mut s = demo::headline_text(&o);
        s.push('\n');
        s.push_str(&totals_out::totals_text(&o.totals));
        s.push_str(&format!(
            "\nwritten in {:.1} s to {}:\n  store        {}\n",
            clock.elapsed().as_secs_f64(),
            o.out.display(),
            o.db.display()
        ));
        for (m, d) in &o.traces {
            s.push_str(&format!("  trace {:<7} {}\n", m.as_str(), d.display()));
        }
        s.push_str(&format!(
            "  totals       {}\n",
            o.out.join("totals").display()
        ));
        s.push_str(&format!(
            "  report       {}  (open it in a browser; report.md beside it)\n",
            o.report.display()
        ));
        emit(&s)?;
    }
    if !o.all_match {
        anyhow::bail!(
            "a model's traced amounts differ from the simulation's ground truth (see the table above)"
        );
    }
    Ok(())
}

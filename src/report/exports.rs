//! The graph exports of a trace directory (GEXF, DOT, node-link JSON): which file each format
//! writes, and writing them beside the trace's own files from a [`TraceView`] read back from
//! the directory (the same code path as `moneytrail report --format gexf|dot|graph-json`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::view::{FlowGraphView, TraceView, ViewError};

/// A graph export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// GEXF 1.3 (`graph.gexf`).
    Gexf,
    /// Graphviz DOT (`graph.dot`).
    Dot,
    /// networkx node-link JSON (`graph.json`).
    NodeLink,
}

impl GraphFormat {
    /// Parse `gexf`, `dot`, `json` or `graph-json`; the error names the bad value.
    pub fn parse(s: &str) -> Result<GraphFormat, String> {
        match s.trim() {
            "gexf" => Ok(GraphFormat::Gexf),
            "dot" => Ok(GraphFormat::Dot),
            "json" | "graph-json" => Ok(GraphFormat::NodeLink),
            other => Err(format!(
                "invalid graph format '{other}' (expected gexf, dot or json)"
            )),
        }
    }

    /// The file written in a trace directory.
    pub fn file_name(self) -> &'static str {
        match self {
            GraphFormat::Gexf => "graph.gexf",
            GraphFormat::Dot => "graph.dot",
            GraphFormat::NodeLink => "graph.json",
        }
    }

    /// Write `g` in this format.
    pub fn write(
        self,
        v: &TraceView,
        g: &FlowGraphView,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        match self {
            GraphFormat::Gexf => super::gexf::write_gexf(v, g, out),
            GraphFormat::Dot => super::dot::write_dot(v, g, out),
            GraphFormat::NodeLink => super::nodelink::write_nodelink(v, g, out),
        }
    }
}

/// Why graph files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The directory could not be read back.
    #[error(transparent)]
    View(#[from] ViewError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Read `dir` back and write each format's file into it (the full graph, no node budget).
/// Returns the paths written.
pub fn write_graph_files(dir: &Path, formats: &[GraphFormat]) -> Result<Vec<PathBuf>, ExportError> {
    if formats.is_empty() {
        return Ok(Vec::new());
    }
    let v = TraceView::read(dir)?;
    let mut written = Vec::new();
    for f in formats {
        let path = dir.join(f.file_name());
        let err = |e: std::io::Error| ExportError::Write {
            path: path.display().to_string(),
            source: e,
        };
        let file = std::fs::File::create(&path).map_err(err)?;
        let mut w = std::io::BufWriter::new(file);
        f.write(&v, &v.graph, &mut w).map_err(err)?;
        w.flush().map_err(err)?;
        written.push(path);
    }
    Ok(written)
}

//! The catalog: the files of `graphs/` embedded at build time, optionally overlaid by a
//! directory of the same layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::estimates::{self, Estimate};
use super::incidents::{self, Incident};

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// An error reading the catalog; names the file and what is wrong in it.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// An override file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file does not parse or holds an invalid value.
    #[error("{file}: {message}")]
    Invalid {
        /// Catalog path of the file ("incidents/ronin-2022.toml").
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// The catalog files: relative path → (contents, where it came from).
#[derive(Debug, Clone)]
pub struct Catalog {
    files: BTreeMap<String, (String, String)>,
}

impl Catalog {
    /// The embedded catalog only.
    pub fn embedded() -> Catalog {
        let files = EMBEDDED
            .iter()
            .map(|(p, c)| (p.to_string(), (c.to_string(), format!("builtin:{p}"))))
            .collect();
        Catalog { files }
    }

    /// The embedded catalog overlaid with the files under `dir` (same layout as `graphs/`:
    /// `incidents/*.toml`, `estimates.csv`, `labels/*.yaml`). A file with the same relative path
    /// replaces the embedded one; an incident with the same id replaces the embedded incident.
    pub fn with_overlay(dir: &Path) -> Result<Catalog, CatalogError> {
        let mut cat = Catalog::embedded();
        if !dir.is_dir() {
            return Err(CatalogError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|source| CatalogError::Io {
                path: d.clone(),
                source,
            })?;
            for e in entries {
                let p = e
                    .map_err(|source| CatalogError::Io {
                        path: d.clone(),
                        source,
                    })?
                    .path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
                if !matches!(ext, "toml" | "csv" | "yaml" | "yml") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).map_err(|source| CatalogError::Io {
                    path: p.clone(),
                    source,
                })?;
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                cat.files
                    .insert(rel, (text, p.to_string_lossy().into_owned()));
            }
        }
        Ok(cat)
    }

    /// Files whose relative path starts with `prefix`: (relative path, contents, origin).
    pub fn files(&self, prefix: &str) -> impl Iterator<Item = (&str, &str, &str)> {
        self.files
            .iter()
            .filter(move |(p, _)| p.starts_with(prefix))
            .map(|(p, (c, o))| (p.as_str(), c.as_str(), o.as_str()))
    }

    /// Every incident, validated, sorted by date then id. Two files with the same id: the
    /// later one in path order (an override directory's) wins.
    pub fn incidents(&self) -> Result<Vec<Incident>, CatalogError> {
        let mut by_id = BTreeMap::new();
        for (path, text, _) in self.files("incidents/") {
            if !path.ends_with(".toml") {
                continue;
            }
            let inc = incidents::parse(text).map_err(|message| CatalogError::Invalid {
                file: path.to_string(),
                message,
            })?;
            by_id.insert(inc.id.clone(), inc);
        }
        let mut v: Vec<Incident> = by_id.into_values().collect();
        v.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        Ok(v)
    }

    /// One incident by id.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>, CatalogError> {
        Ok(self.incidents()?.into_iter().find(|i| i.id == id))
    }

    /// The published estimates.
    pub fn estimates(&self) -> Result<Vec<Estimate>, CatalogError> {
        let Some((_, text, _)) = self.files("estimates.csv").next() else {
            return Ok(Vec::new());
        };
        estimates::parse(text).map_err(|message| CatalogError::Invalid {
            file: "estimates.csv".into(),
            message,
        })
    }
}

//! Where CloudTrail objects come from.
//!
//! A [`Source`] lists [`Object`]s; the store reads them through the [`Object`] trait of
//! `cairn-model` and never learns where the bytes came from. This crate holds the local source
//! (files, directories walked recursively, stdin), the S3 source ([`s3`]) and the SQS
//! follower ([`sqs`]).

pub mod aws;
pub mod integrity;
pub mod lake;
pub mod s3;
pub mod sqs;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use cairn_model::{Object, ObjectMeta};

/// Errors of a source, naming the location.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list {url}: {reason}")]
    List { url: String, reason: String },
    #[error("{path}: unreadable state: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("{0}")]
    Aws(String),
}

impl SourceError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a source found to read, and what it passed over (by reason).
#[derive(Default)]
pub struct Listing {
    pub objects: Vec<Box<dyn Object>>,
    pub skipped: BTreeMap<String, u64>,
}

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listing")
            .field("objects", &self.objects.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Something that lists objects to ingest.
pub trait Source {
    fn list(&mut self) -> Result<Listing, SourceError>;
}

/// Files and directories on this machine, and `-` for stdin.
#[derive(Debug, Clone)]
pub struct LocalSource {
    paths: Vec<PathBuf>,
}

impl LocalSource {
    pub fn new(paths: Vec<PathBuf>) -> LocalSource {
        LocalSource { paths }
    }
}

/// Names a directory walk reads: what CloudTrail and its exports are called. A file named
/// explicitly is read whatever its name.
pub(crate) fn looks_like_json(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [
        ".json",
        ".json.gz",
        ".jsonl",
        ".jsonl.gz",
        ".ndjson",
        ".ndjson.gz",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

impl Source for LocalSource {
    fn list(&mut self) -> Result<Listing, SourceError> {
        let mut listing = Listing::default();
        for path in &self.paths {
            if path.as_os_str() == "-" {
                listing.objects.push(Box::new(Stdin(ObjectMeta {
                    location: "-".into(),
                    key: "stdin".into(),
                    size: None,
                    version: String::new(),
                })));
                continue;
            }
            let meta = std::fs::metadata(path).map_err(|e| SourceError::Io {
                path: path.clone(),
                source: e,
            })?;
            if meta.is_dir() {
                walk(path, &mut listing)?;
            } else {
                listing.objects.push(Box::new(LocalFile::new(path, &meta)));
            }
        }
        Ok(listing)
    }
}

fn walk(dir: &Path, listing: &mut Listing) -> Result<(), SourceError> {
    let io = |e| SourceError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    // A stable order makes runs, progress and tests repeatable.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = entry.metadata().map_err(|e| SourceError::Io {
            path: path.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            walk(&path, listing)?;
        } else if meta.is_file() {
            if looks_like_json(&path) {
                listing.objects.push(Box::new(LocalFile::new(&path, &meta)));
            } else {
                *listing
                    .skipped
                    .entry("not a .json/.json.gz file".into())
                    .or_default() += 1;
            }
        }
    }
    Ok(())
}

/// A file on disk.
#[derive(Debug)]
pub struct LocalFile {
    meta: ObjectMeta,
    path: PathBuf,
}

impl LocalFile {
    fn new(path: &Path, m: &std::fs::Metadata) -> LocalFile {
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let location = path.to_string_lossy().into_owned();
        LocalFile {
            meta: ObjectMeta {
                key: location.clone(),
                location,
                size: Some(m.len()),
                version: format!("{}:{mtime}", m.len()),
            },
            path: path.to_path_buf(),
        }
    }
}

impl Object for LocalFile {
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn open(self: Box<Self>) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(&self.path)?))
    }
}

/// Standard input, read once.
#[derive(Debug)]
struct Stdin(ObjectMeta);

impl Object for Stdin {
    fn meta(&self) -> &ObjectMeta {
        &self.0
    }

    fn open(self: Box<Self>) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::stdin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_for_json_files() {
        let dir = std::env::temp_dir().join(format!("cairn-source-test-{}", std::process::id()));
        let sub = dir.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        for f in [
            "x.json.gz",
            "y.json",
            "z.jsonl",
            "README.md",
            ".hidden.json",
        ] {
            std::fs::write(sub.join(f), b"[]").unwrap();
        }
        let l = LocalSource::new(vec![dir.clone()]).list().unwrap();
        let mut names: Vec<_> = l
            .objects
            .iter()
            .map(|o| o.meta().location.rsplit('/').next().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["x.json.gz", "y.json", "z.jsonl"]);
        assert_eq!(l.skipped.values().sum::<u64>(), 1);
        let explicit = LocalSource::new(vec![sub.join("README.md")])
            .list()
            .unwrap();
        assert_eq!(
            explicit.objects.len(),
            1,
            "a file named explicitly is read whatever its name"
        );
        assert!(LocalSource::new(vec![dir.join("missing")]).list().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

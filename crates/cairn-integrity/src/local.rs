//! A local copy of a bucket (`aws s3 sync s3://b/ DIR`): keys are paths under a directory.
//!
//! A copy loses S3 metadata, so a digest's signature comes from a `<key>.signature` file
//! beside it when there is one (hex, as `x-amz-meta-signature` holds it), and otherwise from
//! the next digest's `previousDigestSignature`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::verify::{Bucket, BucketError, DigestObject};

/// The suffix of a digest's signature file in a local copy.
pub const SIGNATURE_SUFFIX: &str = ".signature";

/// A directory holding a copy of a bucket.
#[derive(Debug, Clone)]
pub struct LocalBucket {
    root: PathBuf,
}

impl LocalBucket {
    pub fn new(root: impl Into<PathBuf>) -> LocalBucket {
        LocalBucket { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys come from listing this directory or from digests; refuse to leave it.
        let clean: PathBuf = key
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect();
        self.root.join(clean)
    }
}

fn io_error(e: std::io::Error) -> BucketError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BucketError::NotFound
    } else {
        BucketError::Other(e.to_string())
    }
}

impl Bucket for LocalBucket {
    fn folders(&self, prefix: &str) -> Result<Vec<String>, BucketError> {
        let dir = self.path(prefix);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BucketError::Other(format!("{}: {e}", dir.display()))),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(io_error)?;
            if e.file_type().map_err(io_error)?.is_dir()
                && let Some(name) = e.file_name().to_str()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<String>, BucketError> {
        let mut out = Vec::new();
        walk(&self.path(prefix), prefix.trim_end_matches('/'), &mut out)?;
        out.retain(|k| {
            !k.ends_with(SIGNATURE_SUFFIX) && start_after.is_none_or(|s| k.as_str() > s)
        });
        out.sort();
        Ok(out)
    }

    fn digest(&self, key: &str) -> Result<DigestObject, BucketError> {
        let path = self.path(key);
        let bytes = fs::read(&path).map_err(io_error)?;
        let mut sidecar = path.into_os_string();
        sidecar.push(SIGNATURE_SUFFIX);
        let signature = match fs::read_to_string(Path::new(&sidecar)) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(BucketError::Other(e.to_string())),
        };
        Ok(DigestObject {
            bytes,
            signature_algorithm: signature.as_ref().map(|_| "SHA256withRSA".to_string()),
            signature,
        })
    }

    fn open(&self, key: &str) -> Result<Box<dyn Read + Send + '_>, BucketError> {
        Ok(Box::new(fs::File::open(self.path(key)).map_err(io_error)?))
    }
}

fn walk(dir: &Path, key: &str, out: &mut Vec<String>) -> Result<(), BucketError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BucketError::Other(format!("{}: {e}", dir.display()))),
    };
    for e in entries {
        let e = e.map_err(io_error)?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let child = if key.is_empty() {
            name
        } else {
            format!("{key}/{name}")
        };
        let ty = e.file_type().map_err(io_error)?;
        if ty.is_dir() {
            walk(&e.path(), &child, out)?;
        } else if ty.is_file() {
            out.push(child);
        }
    }
    Ok(())
}

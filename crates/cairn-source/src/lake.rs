//! A Parquet lake in S3 (`s3://bucket/prefix`), through the same SDK clients and flags as
//! the sources.
//!
//! A PUT is atomic in S3: a reader sees a whole object or none, so each file is committed by
//! one PutObject. Replacing a partition's files (compaction) is not atomic in S3: the new files
//! are written first, then the old ones deleted, so a query running between the two steps can
//! count a partition's events twice for that moment (never miss one).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use cairn_lake::{Dest, LakeError};
use tokio::runtime::Handle;

use crate::aws::describe;
use crate::s3::S3Url;

/// A lake under an S3 prefix.
#[derive(Debug, Clone)]
pub struct S3Dest {
    client: Client,
    rt: Handle,
    url: S3Url,
}

impl S3Dest {
    pub fn new(client: Client, rt: Handle, url: S3Url) -> S3Dest {
        S3Dest { client, rt, url }
    }

    fn key(&self, path: &str) -> String {
        let p = self.url.prefix.trim_matches('/');
        if p.is_empty() {
            path.to_string()
        } else {
            format!("{p}/{path}")
        }
    }

    fn err(&self, path: &str, message: String) -> LakeError {
        LakeError::Other(format!(
            "s3://{}/{}: {message}",
            self.url.bucket,
            self.key(path)
        ))
    }
}

/// Whether a key below the lake's root is a data file an engine reads: no part of it hidden
/// (`.` or `_` first), and ending in `.parquet`.
fn visible(rel: &str) -> bool {
    rel.ends_with(".parquet")
        && rel
            .split('/')
            .all(|p| !p.starts_with('.') && !p.starts_with('_'))
}

impl Dest for S3Dest {
    fn commit(&self, path: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        let req = self
            .client
            .put_object()
            .bucket(&self.url.bucket)
            .key(self.key(path))
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(bytes));
        self.rt
            .block_on(req.send())
            .map_err(|e| self.err(path, describe(&e)))?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<(String, u64)>, LakeError> {
        let root = self.key("");
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let req = self
                .client
                .list_objects_v2()
                .bucket(&self.url.bucket)
                .prefix(&root)
                .set_continuation_token(token.take());
            let page = self
                .rt
                .block_on(req.send())
                .map_err(|e| self.err("", describe(&e)))?;
            for o in page.contents() {
                if let Some(rel) = o.key().and_then(|k| k.strip_prefix(&root))
                    && visible(rel)
                {
                    out.push((rel.to_string(), o.size().unwrap_or(0).max(0) as u64));
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LakeError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.url.bucket)
            .key(self.key(path));
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| self.err(path, describe(&e)))?;
        Ok(self
            .rt
            .block_on(out.body.collect())
            .map_err(|e| self.err(path, e.to_string()))?
            .into_bytes()
            .to_vec())
    }

    fn replace(
        &self,
        partition: &str,
        remove: &[String],
        add: Vec<(String, Vec<u8>)>,
    ) -> Result<(), LakeError> {
        for (name, bytes) in add {
            self.commit(&format!("{partition}/{name}"), bytes)?;
        }
        for path in remove {
            let req = self
                .client
                .delete_object()
                .bucket(&self.url.bucket)
                .key(self.key(path));
            self.rt
                .block_on(req.send())
                .map_err(|e| self.err(path, describe(&e)))?;
        }
        Ok(())
    }

    fn location(&self) -> String {
        let p = self.url.prefix.trim_matches('/');
        if p.is_empty() {
            format!("s3://{}", self.url.bucket)
        } else {
            format!("s3://{}/{p}", self.url.bucket)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn hides_what_engines_hide() {
        assert!(visible("account=1/region=r/date=d/part-1.parquet"));
        assert!(!visible(".cairn-tmp/x.parquet"));
        assert!(!visible("account=1/_staging/part-1.parquet"));
        assert!(!visible("account=1/region=r/date=d/part-1.parquet.tmp"));
    }
}

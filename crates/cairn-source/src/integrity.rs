//! The S3 side of log-file integrity validation: a bucket the verifier can list and read, and
//! CloudTrail's `ListPublicKeys` as its key source.

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::Client;
use cairn_integrity::{Bucket, BucketError, DigestObject, KeySource, PublicKey, PublicKeys};
use time::OffsetDateTime;
use tokio::runtime::Handle;

use crate::aws::describe;
use crate::s3::S3Object;
use cairn_model::Object;

/// A bucket read through the SDK.
pub struct S3Bucket {
    client: Client,
    rt: Handle,
    bucket: String,
    attempts: u32,
}

impl S3Bucket {
    pub fn new(client: Client, rt: Handle, bucket: impl Into<String>, attempts: u32) -> S3Bucket {
        S3Bucket {
            client,
            rt,
            bucket: bucket.into(),
            attempts,
        }
    }
}

fn not_found_or<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> BucketError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error().and_then(|s| s.code()) {
        Some("NoSuchKey") | Some("NotFound") => BucketError::NotFound,
        _ => BucketError::Other(describe(e)),
    }
}

impl Bucket for S3Bucket {
    fn folders(&self, prefix: &str) -> Result<Vec<String>, BucketError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let req = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_continuation_token(token.take());
            let page = self
                .rt
                .block_on(req.send())
                .map_err(|e| BucketError::Other(describe(&e)))?;
            for p in page.common_prefixes() {
                if let Some(name) = p
                    .prefix()
                    .and_then(|p| p.strip_prefix(prefix))
                    .map(|p| p.trim_end_matches('/'))
                    .filter(|p| !p.is_empty())
                {
                    out.push(name.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<String>, BucketError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let mut req = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take());
            if let Some(s) = start_after {
                req = req.start_after(s);
            }
            let page = self
                .rt
                .block_on(req.send())
                .map_err(|e| BucketError::Other(describe(&e)))?;
            out.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    fn digest(&self, key: &str) -> Result<DigestObject, BucketError> {
        let req = self.client.get_object().bucket(&self.bucket).key(key);
        let out = self.rt.block_on(req.send()).map_err(|e| not_found_or(&e))?;
        let meta = out.metadata().cloned().unwrap_or_default();
        let bytes = self
            .rt
            .block_on(out.body.collect())
            .map_err(|e| BucketError::Other(e.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(DigestObject {
            bytes,
            signature: meta.get("signature").cloned(),
            signature_algorithm: meta.get("signature-algorithm").cloned(),
        })
    }

    fn open(&self, key: &str) -> Result<Box<dyn std::io::Read + Send + '_>, BucketError> {
        let object = S3Object::new(
            self.client.clone(),
            self.rt.clone(),
            &self.bucket,
            key.to_string(),
            None,
            String::new(),
            self.attempts,
        );
        Box::new(object).open().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BucketError::NotFound
            } else {
                BucketError::Other(e.to_string())
            }
        })
    }
}

/// `ListPublicKeys` in each digest region.
pub struct CloudTrailKeys {
    conf: SdkConfig,
    rt: Handle,
}

impl CloudTrailKeys {
    pub fn new(conf: SdkConfig, rt: Handle) -> CloudTrailKeys {
        CloudTrailKeys { conf, rt }
    }
}

impl KeySource for CloudTrailKeys {
    fn keys(
        &self,
        region: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<PublicKeys, String> {
        let conf = aws_sdk_cloudtrail::config::Builder::from(&self.conf)
            .region(Region::new(region.to_string()))
            .build();
        let client = aws_sdk_cloudtrail::Client::from_conf(conf);
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let req = client
                .list_public_keys()
                .start_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(
                    from.unix_timestamp(),
                ))
                .end_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(
                    to.unix_timestamp(),
                ))
                .set_next_token(token.take());
            let out = self.rt.block_on(req.send()).map_err(|e| describe(&e))?;
            for k in out.public_key_list() {
                let Some(value) = k.value() else { continue };
                let mut key = PublicKey::from_der(value.as_ref().to_vec());
                if let Some(listed) = k.fingerprint()
                    && !listed.eq_ignore_ascii_case(&key.fingerprint)
                {
                    return Err(format!(
                        "ListPublicKeys returned fingerprint {listed} for a key whose MD5 is {}",
                        key.fingerprint
                    ));
                }
                key.valid_from = k
                    .validity_start_time()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok());
                key.valid_to = k
                    .validity_end_time()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok());
                keys.push(key);
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        if keys.is_empty() {
            return Err(format!("ListPublicKeys in {region} returned no keys"));
        }
        Ok(PublicKeys::new(keys))
    }
}

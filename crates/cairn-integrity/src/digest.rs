//! The digest file (CLOUDTRAIL.md §4): its fields, and the string CloudTrail signs.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One digest file, as CloudTrail writes it. Fields the checks need are typed; the rest of the
/// JSON is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    #[serde(default)]
    pub digest_signature_algorithm: Option<String>,
    #[serde(default)]
    pub newest_event_time: Option<String>,
    #[serde(default)]
    pub oldest_event_time: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_algorithm: Option<String>,
    /// Present in every digest, `null` in the first of a chain.
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<LogFile>,
}

/// A log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFile {
    pub s3_bucket: String,
    pub s3_object: String,
    /// Hex SHA-256 of the uncompressed file.
    pub hash_value: String,
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    #[serde(default)]
    pub newest_event_time: Option<String>,
    #[serde(default)]
    pub oldest_event_time: Option<String>,
}

/// Why a digest's bytes are not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

impl Digest {
    /// Parses the uncompressed digest JSON, requiring what the AWS CLI requires (the
    /// fingerprint, location, times and the `previousDigestSignature` key) and valid times.
    pub fn parse(json: &[u8]) -> Result<Digest, FormatError> {
        // `previousDigestSignature` must be present even when null: serde's Option accepts
        // a missing key, so check it by hand.
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| FormatError(format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| FormatError("not a JSON object".into()))?;
        if !obj.contains_key("previousDigestSignature") {
            return Err(FormatError("no previousDigestSignature".into()));
        }
        let digest: Digest =
            serde_json::from_value(value).map_err(|e| FormatError(e.to_string()))?;
        digest.start()?;
        digest.end()?;
        if digest.previous_digest_s3_object.is_some() && digest.previous_digest_signature.is_none()
        {
            return Err(FormatError(
                "previousDigestS3Object without previousDigestSignature".into(),
            ));
        }
        Ok(digest)
    }

    /// `digestStartTime`.
    pub fn start(&self) -> Result<OffsetDateTime, FormatError> {
        parse_time("digestStartTime", &self.digest_start_time)
    }

    /// `digestEndTime`.
    pub fn end(&self) -> Result<OffsetDateTime, FormatError> {
        parse_time("digestEndTime", &self.digest_end_time)
    }

    /// The first digest of a chain (or of a chain restarted after validation was off).
    pub fn starts_chain(&self) -> bool {
        self.previous_digest_s3_object.is_none()
    }

    /// The string CloudTrail signs: end time, `bucket/key`, the hex SHA-256 of the
    /// uncompressed digest bytes and the previous signature (`null` for the first), joined by
    /// newlines.
    pub fn string_to_sign(&self, uncompressed_sha256: &str) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.digest_end_time,
            self.digest_s3_bucket,
            self.digest_s3_object,
            uncompressed_sha256,
            self.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }
}

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, FormatError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| FormatError(format!("{field} {s:?} is not a time: {e}")))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub use cairn_model::hex;

/// Decodes hex (either case); `None` on an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-03-05T11:05:12Z","digestEndTime":"2024-03-05T12:05:12Z","digestS3Bucket":"b","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240305T120512Z.json.gz","digestPublicKeyFingerprint":"ab","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;

    #[test]
    fn the_first_digest_signs_the_literal_null() {
        let d = Digest::parse(FIRST.as_bytes()).unwrap();
        assert!(d.starts_chain());
        assert_eq!(
            d.string_to_sign("00ff"),
            "2024-03-05T12:05:12Z\nb/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240305T120512Z.json.gz\n00ff\nnull"
        );
    }

    #[test]
    fn a_digest_without_previous_signature_key_is_invalid() {
        let broken = FIRST.replace(r#","previousDigestSignature":null"#, "");
        let e = Digest::parse(broken.as_bytes()).unwrap_err();
        assert!(e.0.contains("previousDigestSignature"), "{e}");
        assert!(Digest::parse(b"{\"Records\":[]}").is_err());
        assert!(Digest::parse(b"[1]").is_err());
        let bad_time = FIRST.replace("2024-03-05T12:05:12Z\"", "yesterday\"");
        assert!(Digest::parse(bad_time.as_bytes()).is_err());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10").unwrap(), vec![0, 0xab, 0x10]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}

//! CloudTrail's public keys (`ListPublicKeys`) and RSA signature checks.

use std::collections::BTreeMap;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::digest::hex;

/// One public key: a DER PKCS#1 `RSAPublicKey`, and when CloudTrail signed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Hex MD5 of the DER bytes, as digests name their key.
    pub fingerprint: String,
    pub der: Vec<u8>,
    pub valid_from: Option<OffsetDateTime>,
    pub valid_to: Option<OffsetDateTime>,
}

impl PublicKey {
    /// A key from its DER bytes; the fingerprint is computed, never trusted from elsewhere.
    pub fn from_der(der: Vec<u8>) -> PublicKey {
        PublicKey {
            fingerprint: fingerprint(&der),
            der,
            valid_from: None,
            valid_to: None,
        }
    }
}

/// Hex MD5 of a DER public key: the `digestPublicKeyFingerprint` of what it signed.
pub fn fingerprint(der: &[u8]) -> String {
    hex(&Md5::digest(der))
}

/// Why a key list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// The keys one region signed with, by fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicKeys {
    keys: BTreeMap<String, PublicKey>,
}

impl PublicKeys {
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> PublicKeys {
        PublicKeys {
            keys: keys
                .into_iter()
                .map(|k| (k.fingerprint.clone(), k))
                .collect(),
        }
    }

    /// Reads the `ListPublicKeys` response shape: `{"PublicKeyList":[{"Value": base64 DER,
    /// "ValidityStartTime", "ValidityEndTime", "Fingerprint"}]}`, with times as epoch seconds
    /// (the wire format) or RFC 3339 text (what `aws cloudtrail list-public-keys` prints). A
    /// listed fingerprint that is not the MD5 of the key is an error.
    pub fn from_list_json(json: &[u8]) -> Result<PublicKeys, KeyError> {
        let v: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| KeyError(format!("not JSON: {e}")))?;
        let list = v
            .get("PublicKeyList")
            .and_then(|l| l.as_array())
            .ok_or_else(|| KeyError("no PublicKeyList array".into()))?;
        let mut keys = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let value = item
                .get("Value")
                .and_then(|v| v.as_str())
                .ok_or_else(|| KeyError(format!("key {i}: no Value")))?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|e| KeyError(format!("key {i}: Value is not base64: {e}")))?;
            let mut key = PublicKey::from_der(der);
            if let Some(listed) = item.get("Fingerprint").and_then(|f| f.as_str())
                && !listed.eq_ignore_ascii_case(&key.fingerprint)
            {
                return Err(KeyError(format!(
                    "key {i}: Fingerprint {listed} is not the MD5 of its key ({})",
                    key.fingerprint
                )));
            }
            key.valid_from = item.get("ValidityStartTime").and_then(json_time);
            key.valid_to = item.get("ValidityEndTime").and_then(json_time);
            keys.push(key);
        }
        Ok(PublicKeys::new(keys))
    }

    /// The `ListPublicKeys` response shape, times as epoch seconds.
    pub fn to_list_json(&self) -> serde_json::Value {
        let list: Vec<serde_json::Value> = self
            .keys
            .values()
            .map(|k| {
                serde_json::json!({
                    "Value": base64::engine::general_purpose::STANDARD.encode(&k.der),
                    "ValidityStartTime": k.valid_from.map(|t| t.unix_timestamp()),
                    "ValidityEndTime": k.valid_to.map(|t| t.unix_timestamp()),
                    "Fingerprint": k.fingerprint,
                })
            })
            .collect();
        serde_json::json!({ "PublicKeyList": list })
    }

    pub fn get(&self, fingerprint: &str) -> Option<&PublicKey> {
        self.keys.get(&fingerprint.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values()
    }

    pub fn extend(&mut self, other: PublicKeys) {
        self.keys.extend(other.keys);
    }
}

fn json_time(v: &serde_json::Value) -> Option<OffsetDateTime> {
    match v {
        serde_json::Value::Number(n) => {
            OffsetDateTime::from_unix_timestamp(n.as_f64()?.floor() as i64).ok()
        }
        serde_json::Value::String(s) => OffsetDateTime::parse(s, &Rfc3339).ok(),
        _ => None,
    }
}

/// Whether `signature` is a valid RSA PKCS#1 v1.5 SHA-256 signature of `message` under the
/// DER PKCS#1 public key `der` (2048 to 8192 bits).
pub fn verify_signature(der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_md5_of_the_der_bytes() {
        // MD5("") and MD5("abc"), the RFC 1321 test vectors.
        assert_eq!(fingerprint(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(fingerprint(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn key_lists_take_epoch_or_text_times_and_refuse_a_wrong_fingerprint() {
        let json = br#"{"PublicKeyList":[{"Value":"YWJj","ValidityStartTime":1700000000.0,"ValidityEndTime":"2024-01-01T00:00:00+00:00","Fingerprint":"900150983CD24FB0D6963F7D28E17F72"}]}"#;
        let keys = PublicKeys::from_list_json(json).unwrap();
        let k = keys.get("900150983cd24fb0d6963f7d28e17f72").unwrap();
        assert_eq!(k.der, b"abc");
        assert_eq!(k.valid_from.unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(k.valid_to.unwrap().unix_timestamp(), 1_704_067_200);
        let wrong = br#"{"PublicKeyList":[{"Value":"YWJj","Fingerprint":"00"}]}"#;
        assert!(
            PublicKeys::from_list_json(wrong)
                .unwrap_err()
                .0
                .contains("not the MD5")
        );
        assert!(PublicKeys::from_list_json(b"{}").is_err());
        let round = PublicKeys::from_list_json(&serde_json::to_vec(&keys.to_list_json()).unwrap());
        assert_eq!(round.unwrap(), keys);
    }

    #[test]
    fn garbage_keys_and_signatures_do_not_verify() {
        assert!(!verify_signature(b"not a key", b"m", b"s"));
    }
}

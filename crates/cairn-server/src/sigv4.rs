//! Checking AWS Signature Version 4 on a request, against cairn's API tokens.
//!
//! The client's `Authorization: AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/
//! aws4_request, SignedHeaders=..., Signature=...` is recomputed from the request: canonical
//! request, string to sign, the signing key derived from the token's secret. The service and
//! region are the client's (any); the time must be within 15 minutes.

use cairn_model::hex;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::lookup::ApiError;
use crate::tokens::{Token, Tokens};

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn denied(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: 403,
        kind,
        message: message.into(),
    }
}

/// Most a request's `X-Amz-Date` may differ from the server's clock.
pub const MAX_SKEW: time::Duration = time::Duration::minutes(15);

/// Percent-decodes a query component (`+` stays `+`, as SigV4 clients send `%20`).
fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// SigV4's URI encoding: everything but `A-Za-z0-9-_.~` as `%XX`.
fn aws_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The request parts the signature covers.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string (`a=1&b=2`), empty when none.
    pub query: &'a str,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

fn header<'a>(s: &'a Signed<'_>, name: &str) -> Option<&'a str> {
    s.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The token that signed the request, or why it is refused.
pub fn verify<'t>(
    s: &Signed<'_>,
    tokens: &'t Tokens,
    now: OffsetDateTime,
) -> Result<&'t Token, ApiError> {
    let auth = header(s, "authorization").ok_or_else(|| {
        denied(
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        )
    })?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        denied(
            "IncompleteSignatureException",
            "only AWS4-HMAC-SHA256 is accepted",
        )
    })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let incomplete = || {
        denied(
            "IncompleteSignatureException",
            "the Authorization header is incomplete",
        )
    };
    let (credential, signed_headers, signature) = (
        credential.ok_or_else(incomplete)?,
        signed_headers.ok_or_else(incomplete)?,
        signature.ok_or_else(incomplete)?,
    );
    let scope_parts: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope_parts.as_slice() else {
        return Err(incomplete());
    };
    let token = tokens.active(key_id).ok_or_else(|| {
        denied(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    })?;
    let amz_date = header(s, "x-amz-date").ok_or_else(incomplete)?;
    let at = time::PrimitiveDateTime::parse(
        amz_date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| incomplete())?
    .assume_utc();
    if (at - now).abs() > MAX_SKEW || !amz_date.starts_with(date) {
        return Err(denied(
            "InvalidSignatureException",
            "Signature expired or not yet valid: X-Amz-Date is more than 15 minutes from the server's time",
        ));
    }
    // The canonical request.
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(incomplete());
    }
    let mut canonical_headers = String::new();
    for n in &names {
        let values: Vec<String> = s
            .headers
            .iter()
            .filter(|(h, _)| h == n)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{n}:{}\n", values.join(",")));
    }
    // Each name and value decoded, then encoded as SigV4 wants, sorted.
    let mut query: Vec<(String, String)> = s
        .query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            (aws_encode(&decode(k)), aws_encode(&decode(v)))
        })
        .collect();
    query.sort_unstable();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let payload = match header(s, "x-amz-content-sha256") {
        Some(h) if h != "UNSIGNED-PAYLOAD" => h.to_string(),
        _ => hex(&Sha256::digest(s.body)),
    };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        s.method,
        if s.path.is_empty() { "/" } else { s.path },
        query.join("&"),
        canonical_headers,
        signed_headers,
        payload
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", token.secret).as_bytes(), date.as_bytes());
    for part in [*region, *service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, to_sign.as_bytes()));
    // Constant time: compare every byte.
    let same = expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(denied(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(token)
}

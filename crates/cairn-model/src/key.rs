//! S3 key parsing and routing (CLOUDTRAIL.md §1, §4).
//!
//! The depth of a CloudTrail key is not fixed: a prefix, an organization id and (for Control
//! Tower) other folders may stand before the account. So the parser looks for the `AWSLogs`
//! anchor and reads what follows it, instead of counting slashes from the left.

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What an object under `AWSLogs/` holds, decided by its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// `CloudTrail/`: API events, `{"Records":[...]}`.
    Log,
    /// `CloudTrail-Digest/`: integrity digests; never decoded as events.
    Digest,
    /// `CloudTrail-Insight/`: Insights events, in the same `Records` shape as logs.
    Insight,
}

/// What the key of a CloudTrail object says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub kind: ObjectKind,
    /// Everything before `AWSLogs/`, without the trailing slash (empty when none).
    pub prefix: String,
    /// The organization id (`o-...`) of an organization trail.
    pub org_id: Option<String>,
    pub account: String,
    /// The region, from the file name (folders have been seen spelled `us_east_1`).
    pub region: String,
    /// The date folder (`YYYY/MM/DD`).
    pub date: Date,
    /// The delivery time written in the file name.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered: Option<OffsetDateTime>,
    /// For digests: the trail name.
    pub trail: Option<String>,
    /// For digests: the trail's home region (where it was created).
    pub home_region: Option<String>,
    /// For digests: the `_backfill` suffix, a digest written late.
    pub backfill: bool,
}

/// Where an object goes, decided from its key alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum Route {
    /// A CloudTrail object in the AWSLogs layout.
    CloudTrail(KeyInfo),
    /// Under `AWSLogs/` but not a CloudTrail object cairn reads (Config, ELB logs, a
    /// `ConfigWritabilityCheckFile`, a misnamed file): skipped and counted, not an error.
    Skip { reason: String },
    /// Outside the AWSLogs layout (a downloaded file, a folder of `.json`): read by content.
    Loose,
}

impl Route {
    /// The key info when this object holds events to ingest (logs and insights).
    pub fn events(&self) -> Option<&KeyInfo> {
        match self {
            Route::CloudTrail(k) if k.kind != ObjectKind::Digest => Some(k),
            _ => None,
        }
    }
}

/// Routes an S3 key or a relative path (with `/` or `\` separators).
pub fn route(key: &str) -> Route {
    let key = key.trim_start_matches("./");
    let segments: Vec<&str> = key.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    let Some(anchor) = segments.iter().rposition(|s| *s == "AWSLogs") else {
        return Route::Loose;
    };
    let prefix = segments[..anchor].join("/");
    let mut rest = &segments[anchor + 1..];
    let skip = |reason: String| Route::Skip { reason };

    let mut org_id = None;
    if let Some(first) = rest.first()
        && is_org_id(first)
    {
        org_id = Some((*first).to_string());
        rest = &rest[1..];
    }
    let [account, service, tail @ ..] = rest else {
        return skip("too short for AWSLogs/<account>/CloudTrail/...".into());
    };
    if !is_account(account) {
        return skip(format!("\"{account}\" is not a 12-digit account id"));
    }
    let kind = match *service {
        "CloudTrail" => ObjectKind::Log,
        "CloudTrail-Digest" => ObjectKind::Digest,
        "CloudTrail-Insight" => ObjectKind::Insight,
        other => return skip(format!("folder \"{other}\" is not CloudTrail")),
    };
    let [_region_folder, yyyy, mm, dd, file] = tail else {
        return skip(format!(
            "expected <region>/YYYY/MM/DD/<file> after {service}/"
        ));
    };
    let Some(date) = folder_date(yyyy, mm, dd) else {
        return skip(format!("\"{yyyy}/{mm}/{dd}\" is not a date"));
    };
    let parsed = match kind {
        ObjectKind::Digest => parse_digest_name(file, account),
        _ => parse_log_name(file, account, service),
    };
    let Some(name) = parsed else {
        return skip(format!(
            "file name \"{file}\" does not match the {service} naming"
        ));
    };
    Route::CloudTrail(KeyInfo {
        kind,
        prefix,
        org_id,
        account: (*account).to_string(),
        region: name.region,
        date,
        delivered: name.delivered,
        trail: name.trail,
        home_region: name.home_region,
        backfill: name.backfill,
    })
}

struct FileName {
    region: String,
    delivered: Option<OffsetDateTime>,
    trail: Option<String>,
    home_region: Option<String>,
    backfill: bool,
}

/// `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz` (and the Insight form).
fn parse_log_name(file: &str, account: &str, service: &str) -> Option<FileName> {
    let stem = file
        .strip_suffix(".json.gz")
        .or_else(|| file.strip_suffix(".json"))?;
    let rest = stem.strip_prefix(account)?.strip_prefix('_')?;
    let rest = rest.strip_prefix(service)?.strip_prefix('_')?;
    let mut parts = rest.rsplitn(3, '_');
    let unique = parts.next()?;
    let stamp = parts.next()?;
    let region = parts.next()?;
    if unique.is_empty() || !unique.bytes().all(|b| b.is_ascii_alphanumeric()) || !is_region(region)
    {
        return None;
    }
    Some(FileName {
        region: region.to_string(),
        delivered: Some(parse_stamp(stamp)?),
        trail: None,
        home_region: None,
        backfill: false,
    })
}

/// `<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz`.
/// The trail name may itself contain underscores, so it is what lies between the region and
/// the home region.
fn parse_digest_name(file: &str, account: &str) -> Option<FileName> {
    let stem = file
        .strip_suffix(".json.gz")
        .or_else(|| file.strip_suffix(".json"))?;
    let rest = stem
        .strip_prefix(account)?
        .strip_prefix("_CloudTrail-Digest_")?;
    let (rest, backfill) = match rest.strip_suffix("_backfill") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (rest, stamp) = rest.rsplit_once('_')?;
    let (rest, home_region) = rest.rsplit_once('_')?;
    let (region, trail) = rest.split_once('_')?;
    if trail.is_empty() || !is_region(region) || !is_region(home_region) {
        return None;
    }
    Some(FileName {
        region: region.to_string(),
        delivered: Some(parse_stamp(stamp)?),
        trail: Some(trail.to_string()),
        home_region: Some(home_region.to_string()),
        backfill,
    })
}

/// `YYYYMMDDTHHmmZ` (logs) or `YYYYMMDDTHHMMSSZ` (digests).
fn parse_stamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_suffix('Z')?;
    let (d, t) = s.split_once('T')?;
    if d.len() != 8
        || !(t.len() == 4 || t.len() == 6)
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b'T')
    {
        return None;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    let date = Date::from_calendar_date(
        num(&d[0..4])? as i32,
        Month::try_from(num(&d[4..6])? as u8).ok()?,
        num(&d[6..8])? as u8,
    )
    .ok()?;
    let secs = if t.len() == 6 { num(&t[4..6])? } else { 0 };
    let time = Time::from_hms(num(&t[0..2])? as u8, num(&t[2..4])? as u8, secs as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn folder_date(y: &str, m: &str, d: &str) -> Option<Date> {
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Date::from_calendar_date(
        y.parse().ok()?,
        Month::try_from(m.parse::<u8>().ok()?).ok()?,
        d.parse().ok()?,
    )
    .ok()
}

/// A region name as it appears in keys and file names: `us-east-1`, `us-gov-west-1`, ...
pub fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An AWS account id: exactly 12 digits.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS Organizations id: `o-` and 10 to 32 lowercase letters or digits.
pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|r| {
        (10..=32).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(key: &str) -> String {
        match route(key) {
            Route::CloudTrail(k) => format!(
                "{:?} prefix={} org={} acct={} region={} date={} delivered={} trail={} backfill={}",
                k.kind,
                k.prefix,
                k.org_id.unwrap_or_default(),
                k.account,
                k.region,
                k.date,
                k.delivered.map(|d| d.to_string()).unwrap_or_default(),
                k.trail.unwrap_or_default(),
                k.backfill
            ),
            Route::Skip { reason } => format!("skip: {reason}"),
            Route::Loose => "loose".into(),
        }
    }

    #[test]
    fn routes_a_table_of_keys() {
        let cases: &[(&str, &str)] = &[
            (
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T1205Z_AbCdEf0123456789.json.gz",
                "Log prefix= org= acct=111122223333 region=us-east-1 date=2024-03-05 delivered=2024-03-05 12:05:00.0 +00:00:00 trail= backfill=false",
            ),
            (
                "logs/prod/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2024/12/31/111122223333_CloudTrail_eu-west-1_20241231T2355Z_0123456789abcdef.json.gz",
                "Log prefix=logs/prod org=o-a1b2c3d4e5 acct=111122223333 region=eu-west-1 date=2024-12-31 delivered=2024-12-31 23:55:00.0 +00:00:00 trail= backfill=false",
            ),
            // A real bucket spelled the region folder with underscores; the name is authoritative.
            (
                "AWSLogs/111122223333/CloudTrail/us_east_1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T1205Z_AbCdEf0123456789.json.gz",
                "Log prefix= org= acct=111122223333 region=us-east-1 date=2024-03-05 delivered=2024-03-05 12:05:00.0 +00:00:00 trail= backfill=false",
            ),
            (
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_my_org_trail_us-east-1_20240305T120512Z.json.gz",
                "Digest prefix= org= acct=111122223333 region=us-east-1 date=2024-03-05 delivered=2024-03-05 12:05:12.0 +00:00:00 trail=my_org_trail backfill=false",
            ),
            (
                "p/AWSLogs/o-zzzzzzzzzz/111122223333/CloudTrail-Digest/ap-south-1/2024/03/05/111122223333_CloudTrail-Digest_ap-south-1_main_us-east-1_20240305T120512Z_backfill.json.gz",
                "Digest prefix=p org=o-zzzzzzzzzz acct=111122223333 region=ap-south-1 date=2024-03-05 delivered=2024-03-05 12:05:12.0 +00:00:00 trail=main backfill=true",
            ),
            (
                "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/03/05/111122223333_CloudTrail-Insight_us-east-1_20240305T1205Z_AbCdEf0123456789.json.gz",
                "Insight prefix= org= acct=111122223333 region=us-east-1 date=2024-03-05 delivered=2024-03-05 12:05:00.0 +00:00:00 trail= backfill=false",
            ),
            (
                "AWSLogs/111122223333/Config/ConfigWritabilityCheckFile",
                "skip: folder \"Config\" is not CloudTrail",
            ),
            (
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/notes.txt",
                "skip: file name \"notes.txt\" does not match the CloudTrail naming",
            ),
            (
                "AWSLogs/111122223333/elasticloadbalancing/us-east-1/2024/03/05/x.log.gz",
                "skip: folder \"elasticloadbalancing\" is not CloudTrail",
            ),
            (
                "AWSLogs/12345/CloudTrail/us-east-1/2024/03/05/f.json.gz",
                "skip: \"12345\" is not a 12-digit account id",
            ),
            (
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/13/05/f.json.gz",
                "skip: \"2024/13/05\" is not a date",
            ),
            (
                "AWSLogs/111122223333",
                "skip: too short for AWSLogs/<account>/CloudTrail/...",
            ),
            ("downloads/event-history.json", "loose"),
            ("trail.jsonl", "loose"),
            // Account mismatch between the folder and the file name: not CloudTrail naming.
            (
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/999999999999_CloudTrail_us-east-1_20240305T1205Z_AbCdEf0123456789.json.gz",
                "skip: file name \"999999999999_CloudTrail_us-east-1_20240305T1205Z_AbCdEf0123456789.json.gz\" does not match the CloudTrail naming",
            ),
        ];
        for (key, want) in cases {
            assert_eq!(&kind_of(key), want, "key {key}");
        }
    }

    #[test]
    fn a_file_name_without_a_region_is_skipped() {
        // Found by the s3_key fuzz target: an empty region before the trail name was taken.
        for key in [
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest__t_us-east-1_20240305T120512Z.json.gz",
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_t__20240305T120512Z.json.gz",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail__20240305T1005Z_AbCdEf0123456789.json.gz",
        ] {
            assert!(matches!(route(key), Route::Skip { .. }), "{key}");
        }
    }

    #[test]
    fn digests_never_route_to_events() {
        let r = route(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240305T120512Z.json.gz",
        );
        assert!(r.events().is_none());
        assert!(matches!(
            r,
            Route::CloudTrail(KeyInfo {
                kind: ObjectKind::Digest,
                ..
            })
        ));
    }

    #[test]
    fn ids() {
        assert!(is_org_id("o-a1b2c3d4e5"));
        assert!(!is_org_id("o-A1B2C3D4E5"));
        assert!(!is_org_id("o-short"));
        assert!(is_account("000000000000"));
        assert!(!is_account("12345678901a"));
    }
}

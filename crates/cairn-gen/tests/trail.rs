//! End-to-end checks of generated trails: read every file back independently and compare with
//! the manifest.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use cairn_gen::{
    GenConfig, GenError, Manifest, event_history_username, generate, generate_with_threads,
};
use common::{LogFile, gunzip, matches, parse_query, parse_stamp, parse_time, read_tree};
use serde_json::Value;

const ALWAYS: [&str; 11] = [
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "userIdentity",
    "requestID",
    "eventID",
    "eventType",
];

/// What reading a generated tree back finds.
#[derive(Default)]
struct Found {
    manifest: Manifest,
    /// eventID -> (raw record, parsed record)
    unique: HashMap<String, (String, Value)>,
}

/// Reads every log file under `out`, checking layout and records, and computes the manifest
/// the tree deserves.
fn read_back(cfg: &GenConfig) -> Found {
    let tree = read_tree(&cfg.out);
    let end = cfg.end.unix_timestamp();
    let start = end - i64::from(cfg.days) * 86_400;
    let mut found = Found::default();
    let m = &mut found.manifest;
    m.seed = cfg.seed;
    let mut seen_files: HashSet<Vec<u8>> = HashSet::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut prefix: Vec<String> = cfg
        .prefix
        .iter()
        .flat_map(|p| p.split('/').filter(|s| !s.is_empty()).map(str::to_string))
        .collect();
    prefix.push("AWSLogs".into());
    if let Some(org) = &cfg.org {
        prefix.push(org.clone());
    }
    for (path, bytes) in &tree {
        if path == "manifest.json" {
            continue;
        }
        let parts: Vec<&str> = path.split('/').collect();
        assert!(
            !parts.last().unwrap().starts_with('.'),
            "temporary file left: {path}"
        );
        // Layout: <prefix...>/AWSLogs/[org]/<acct>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<name>
        assert_eq!(parts.len(), prefix.len() + 7, "{path}");
        assert_eq!(&parts[..prefix.len()], prefix.as_slice(), "{path}");
        let rest = &parts[prefix.len()..];
        let (acct, region, name) = (rest[0], rest[2], rest[6]);
        assert_eq!(rest[1], "CloudTrail");
        assert!(
            acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()),
            "{path}"
        );
        let stem = name.strip_suffix(".json.gz").expect(path);
        let fields: Vec<&str> = stem.split('_').collect();
        assert_eq!(fields.len(), 5, "{name}");
        assert_eq!(fields[0], acct);
        assert_eq!(fields[1], "CloudTrail");
        assert_eq!(fields[2], region);
        let stamp = parse_stamp(fields[3]);
        assert_eq!(fields[4].len(), 16);
        assert!(fields[4].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(
            format!("{}{}{}", rest[3], rest[4], rest[5]),
            fields[3][..8],
            "date folders are the delivery date: {path}"
        );

        m.files += 1;
        m.bytes_compressed += bytes.len() as u64;
        if !seen_files.insert(bytes.clone()) {
            m.duplicate_files += 1;
        }
        let body = gunzip(bytes);
        assert!(!body.contains(&b'\n'), "a log file is one line: {path}");
        let file: LogFile<'_> = serde_json::from_slice(&body).expect(path);
        assert!(
            !file.records.is_empty() && file.records.len() <= 400,
            "{path}"
        );
        for raw in file.records {
            m.records_written += 1;
            let rec: Value = serde_json::from_str(raw.get()).unwrap();
            for f in ALWAYS {
                assert!(rec.get(f).is_some(), "{f} missing in {}", raw.get());
            }
            let t = parse_time(rec["eventTime"].as_str().unwrap());
            assert!(
                t >= start && t < end,
                "eventTime outside the window: {}",
                rec["eventTime"]
            );
            assert!(stamp >= t, "{path} names a time before one of its events");
            assert_eq!(rec["recipientAccountId"], acct);
            assert_eq!(rec["awsRegion"], region);
            assert!(matches!(
                rec["eventVersion"].as_str(),
                Some("1.08" | "1.09")
            ));
            assert!(rec["readOnly"].is_boolean() && rec["managementEvent"].is_boolean());
            let id = rec["eventID"].as_str().unwrap().to_string();
            if let Some((prev, _)) = found.unique.get(&id) {
                assert_eq!(
                    prev,
                    raw.get(),
                    "a re-delivered record must be byte-identical"
                );
                continue;
            }
            // Files are visited in delivery order per account and region, so this is the
            // first delivery; re-deliveries may come later.
            assert!(
                stamp - t <= 15 * 60,
                "{path}: delivered more than 15 minutes late"
            );
            first = first.min(t);
            last = last.max(t);
            *m.per_event_name
                .entry(rec["eventName"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
            *m.per_account.entry(acct.to_string()).or_insert(0) += 1;
            *m.per_account_region
                .entry(format!("{acct}/{region}"))
                .or_insert(0) += 1;
            if let Some(u) = event_history_username(&rec) {
                *m.per_username.entry(u).or_insert(0) += 1;
            }
            found.unique.insert(id, (raw.get().to_string(), rec));
        }
    }
    m.unique_events = found.unique.len() as u64;
    m.duplicate_records = m.records_written - m.unique_events;
    if m.unique_events > 0 {
        let fmt = |t: i64| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        m.first_event_time = fmt(first);
        m.last_event_time = fmt(last);
    }
    found
}

fn config(dir: &std::path::Path) -> GenConfig {
    let mut cfg = GenConfig::new(dir);
    cfg.events = 20_000;
    cfg.accounts = 3;
    cfg.regions = 3;
    cfg.days = 2;
    cfg.duplicate_rate = 0.02;
    cfg.stories = true;
    cfg
}

#[test]
fn manifest_matches_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let manifest = generate_with_threads(&cfg, 3).unwrap();
    let found = read_back(&cfg);

    let saved: Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(saved, manifest);

    let mut expected = found.manifest;
    expected.stories = manifest.stories.clone();
    assert_eq!(manifest, expected);
    assert_eq!(manifest.unique_events, cfg.events);
    assert!(manifest.duplicate_records > 0);
    assert!(manifest.duplicate_files > 0);
    assert_eq!(manifest.per_account.len(), 3);
    assert_eq!(manifest.per_account_region.len(), 9);
    assert!(
        manifest.per_event_name.len() >= 30,
        "{:?}",
        manifest.per_event_name
    );

    // The identity types and the shapes the brief asks for are all there.
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = 0;
    let mut ipv6 = 0;
    let mut service_ips = 0;
    for (_, rec) in found.unique.values() {
        let t = rec["userIdentity"]["type"].as_str().unwrap().to_string();
        *types.entry(t).or_insert(0) += 1;
        errors += u64::from(rec.get("errorCode").is_some());
        let ip = rec["sourceIPAddress"].as_str().unwrap();
        ipv6 += u64::from(ip.contains(':'));
        service_ips += u64::from(ip.ends_with(".amazonaws.com"));
        assert!(rec["eventCategory"] == "Management" || rec["eventCategory"] == "Data");
    }
    for t in [
        "IAMUser",
        "AssumedRole",
        "Root",
        "AWSService",
        "FederatedUser",
    ] {
        assert!(types.contains_key(t), "no {t} identity in {types:?}");
    }
    assert!(
        errors > 100 && ipv6 > 0 && service_ips > 1000,
        "{errors} {ipv6} {service_ips}"
    );
}

#[test]
fn stories_are_found_by_their_queries() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let manifest = generate(&cfg).unwrap();
    let found = read_back(&cfg);
    let sizes: Vec<(String, usize)> = manifest
        .stories
        .iter()
        .map(|s| (s.name.clone(), s.event_ids.len()))
        .collect();
    assert_eq!(
        sizes,
        [
            ("root-console-login-without-mfa", 1),
            ("security-group-opened-to-world", 2),
            ("cloudtrail-logging-stopped", 1),
            ("access-denied-burst", 40),
            ("access-key-created-for-another-user", 1),
            ("huge-cloudformation-template", 1),
        ]
        .map(|(n, k)| (n.to_string(), k))
    );
    for story in &manifest.stories {
        let q = parse_query(&story.query);
        let mut hits: Vec<(&str, &str)> = found
            .unique
            .iter()
            .filter(|(_, (_, rec))| matches(&q, rec))
            .map(|(id, (_, rec))| (rec["eventTime"].as_str().unwrap(), id.as_str()))
            .collect();
        hits.sort();
        let mut want = story.event_ids.clone();
        want.sort();
        let mut got: Vec<String> = hits.iter().map(|(_, id)| id.to_string()).collect();
        got.sort();
        assert_eq!(got, want, "{}: {}", story.name, story.query);
    }

    let rec = |id: &str| &found.unique[id].1;
    let sg = &manifest.stories[1].event_ids;
    let (open, close) = (rec(&sg[0]), rec(&sg[1]));
    assert_eq!(open["eventName"], "AuthorizeSecurityGroupIngress");
    assert_eq!(close["eventName"], "RevokeSecurityGroupIngress");
    assert_eq!(open["userIdentity"]["arn"], close["userIdentity"]["arn"]);
    let perm = &open["requestParameters"]["ipPermissions"]["items"][0];
    assert_eq!(perm["fromPort"], 22);
    assert_eq!(perm["ipRanges"]["items"][0]["cidrIp"], "0.0.0.0/0");
    let dt = parse_time(close["eventTime"].as_str().unwrap())
        - parse_time(open["eventTime"].as_str().unwrap());
    assert!((599..=601).contains(&dt), "{dt}");

    let burst = &manifest.stories[3].event_ids;
    let times: Vec<i64> = burst
        .iter()
        .map(|id| parse_time(rec(id)["eventTime"].as_str().unwrap()))
        .collect();
    assert!(times.iter().max().unwrap() - times.iter().min().unwrap() <= 120);
    let keys: HashSet<&str> = burst
        .iter()
        .map(|id| rec(id)["userIdentity"]["accessKeyId"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 1);

    let key = rec(&manifest.stories[4].event_ids[0]);
    assert_ne!(
        key["userIdentity"]["userName"],
        key["requestParameters"]["userName"]
    );
    assert_eq!(key["userIdentity"]["type"], "IAMUser");

    let big = &found.unique[&manifest.stories[5].event_ids[0]];
    let body = big.1["requestParameters"]["templateBody"].as_str().unwrap();
    assert!((40_000..=60_000).contains(&body.len()), "{}", body.len());
    assert!(big.0.len() > 40_000);
}

fn run_tree(
    cfg: &GenConfig,
    threads: usize,
) -> (Manifest, std::collections::BTreeMap<String, Vec<u8>>) {
    let m = generate_with_threads(cfg, threads).unwrap();
    (m, read_tree(&cfg.out))
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut cfg = config(a.path());
    cfg.events = 5_000;
    cfg.duplicate_rate = 0.05;
    let (ma, ta) = run_tree(&cfg, 1);
    cfg.out = b.path().to_path_buf();
    let (mb, tb) = run_tree(&cfg, 4);
    assert_eq!(ma, mb);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    assert!(ta == tb, "same config, different bytes");
    assert!(ta.len() > 100);

    cfg.out = c.path().to_path_buf();
    cfg.seed = 2;
    let (mc, tc) = run_tree(&cfg, 2);
    assert_ne!(ma, mc);
    let logs = |t: &BTreeMap<String, Vec<u8>>| -> HashSet<String> {
        t.keys()
            .filter(|k| *k != "manifest.json")
            .cloned()
            .collect()
    };
    assert!(logs(&ta).is_disjoint(&logs(&tc)));
}

#[test]
fn organization_and_prefix_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 3_000;
    cfg.accounts = 2;
    cfg.regions = 2;
    cfg.days = 1;
    cfg.org = Some("o-a1b2c3d4e5".into());
    cfg.prefix = Some("/security/cloudtrail/".into());
    let manifest = generate(&cfg).unwrap();
    let found = read_back(&cfg);
    let mut expected = found.manifest;
    expected.stories = Vec::new();
    assert_eq!(manifest, expected);
    let tree = read_tree(dir.path());
    assert!(
        tree.keys()
            .filter(|k| *k != "manifest.json")
            .all(|k| k.starts_with("security/cloudtrail/AWSLogs/o-a1b2c3d4e5/"))
    );
}

#[test]
fn one_account_one_region_one_day_with_stories() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 200;
    cfg.accounts = 1;
    cfg.regions = 1;
    cfg.days = 1;
    cfg.stories = true;
    cfg.duplicate_rate = 0.0;
    cfg.end = time::macros::datetime!(2024-02-29 13:00 UTC);
    let manifest = generate(&cfg).unwrap();
    let found = read_back(&cfg);
    let mut expected = found.manifest;
    expected.stories = manifest.stories.clone();
    assert_eq!(manifest, expected);
    assert_eq!(manifest.unique_events, 200);
    assert_eq!(manifest.duplicate_records, 0);
    assert_eq!(manifest.duplicate_files, 0);
    assert!(manifest.stories.iter().all(|s| !s.event_ids.is_empty()));
}

#[test]
fn too_few_events_for_the_stories_is_a_setting_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 20;
    cfg.stories = true;
    assert!(matches!(generate(&cfg), Err(GenError::Config(_))));
}

#[test]
fn no_events_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 0;
    let m = generate(&cfg).unwrap();
    assert_eq!(m.files, 0);
    assert_eq!(m.first_event_time, "");
    assert_eq!(read_tree(dir.path()).len(), 1);
}

#[test]
fn small_trail_manifest_snapshot() {
    // Pins the generator's output: a change of the mix, the layout or the randomness shows
    // here, and must be deliberate (`cargo insta review`).
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 400;
    cfg.accounts = 2;
    cfg.regions = 2;
    cfg.days = 1;
    cfg.stories = true;
    let m = generate(&cfg).unwrap();
    insta::assert_json_snapshot!(m);
}

/// Times a million events. Run with
/// `cargo test -p cairn-gen --release -- --ignored --nocapture million_events`.
#[test]
#[ignore = "timing, not a test; run on demand in release mode"]
fn million_events_speed() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = GenConfig::new(dir.path());
    cfg.events = 1_000_000;
    cfg.stories = true;
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let t = std::time::Instant::now();
    let m = generate(&cfg).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "generated {} events ({} records, {} files, {:.1} MB gzip) in {secs:.2} s on {threads} \
         threads: {:.0} events/s",
        m.unique_events,
        m.records_written,
        m.files,
        m.bytes_compressed as f64 / 1e6,
        m.unique_events as f64 / secs
    );
    let mut mix: Vec<(&String, &u64)> = m.per_event_name.iter().collect();
    mix.sort_by(|a, b| b.1.cmp(a.1));
    for (name, n) in mix {
        eprintln!(
            "{name:>32} {n:>8} {:>6.2}%",
            *n as f64 * 100.0 / m.unique_events as f64
        );
    }
}

//! A deterministic generator of realistic AWS CloudTrail trails.
//!
//! [`generate`] writes a trail to a directory exactly as CloudTrail lays it out in S3
//! (`[<prefix>/]AWSLogs/[<org>/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/...json.gz`,
//! one gzip member per file holding `{"Records":[...]}`), and returns a [`Manifest`] of what
//! it wrote, also saved as `<out>/manifest.json`. The same [`GenConfig`] always gives the same
//! bytes, whatever the number of threads.
//!
//! What the trail looks like:
//! - nearly sixty API calls over fifteen services ([`event_names`]), weighted like real
//!   trails: mostly reads by roles and AWS services (S3 data events, `AssumeRole`, KMS,
//!   `Describe*`), and rare writes and security-relevant calls (console sign-ins, IAM changes,
//!   security groups, key pairs, instances, databases, trail settings); some fail with
//!   `AccessDenied` and other errors; now and then a CloudFormation `CreateStack` carries a
//!   40-60 KB template;
//! - identities of every common type: IAM users, assumed roles (SSO sessions, CI, Lambda and
//!   EC2 roles, service-linked roles), root, AWS services and federated users;
//! - activity that follows office hours and weekends, with bursts;
//! - one file per account, region and five-minute window with activity, delivered 1 to 15
//!   minutes after its events, split when a window holds more than 250 records;
//! - duplicates as CloudTrail makes them: records delivered again in a later file, and whole
//!   files written twice under two names;
//! - optionally, six planted stories (see [`Story`]) for demos and end-to-end tests.
//!
//! Work is split into (account, region, day) units run on worker threads; each unit draws its
//! randomness from the seed and its coordinates alone.

mod clock;
pub mod digests;
mod events;
mod json;
mod rng;
mod stories;
mod unit;
mod world;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use cairn_model::record::event_history_username;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Directory to write into; created if missing. Log files go under
    /// `[<prefix>/]AWSLogs/`, the manifest to `manifest.json`.
    pub out: PathBuf,
    /// Number of unique events (story events included).
    pub events: u64,
    /// Number of accounts, at least 1.
    pub accounts: u32,
    /// Number of regions, 1 to 16, taken in order from us-east-1, eu-west-1, us-west-2,
    /// ap-southeast-2, eu-central-1, ap-northeast-1, us-east-2, eu-west-2, ap-south-1,
    /// ca-central-1, sa-east-1, ap-southeast-1, eu-north-1, us-west-1, ap-northeast-2,
    /// eu-west-3. Global services (IAM, console sign-in) log in us-east-1.
    pub regions: u32,
    /// The trail covers the `days` days (at least 1) ending at `end`.
    pub days: u32,
    /// End of the covered window (exclusive; truncated to the second). Files of the last
    /// minutes are delivered up to 15 minutes after it.
    pub end: time::OffsetDateTime,
    /// Seed of every random choice.
    pub seed: u64,
    /// Organization id (`o-` and 10 to 32 lowercase letters or digits): writes the
    /// organization-trail layout `AWSLogs/<org>/<account>/...`.
    pub org: Option<String>,
    /// Key prefix before `AWSLogs/` (slash-separated; leading and trailing slashes ignored).
    pub prefix: Option<String>,
    /// Share of records delivered a second time in a later file (0.0 to 0.5); a quarter of
    /// that share of files is also written twice under two names.
    pub duplicate_rate: f64,
    /// Plant the demo stories.
    pub stories: bool,
}

impl GenConfig {
    /// Defaults: 10,000 events, 3 accounts, 2 regions, 7 days ending 2025-06-01T00:00Z,
    /// seed 1, duplicate rate 0.005, no organization, no prefix, no stories.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        GenConfig {
            out: out.into(),
            events: 10_000,
            accounts: 3,
            regions: 2,
            days: 7,
            end: time::macros::datetime!(2025-06-01 00:00 UTC),
            seed: 1,
            org: None,
            prefix: None,
            duplicate_rate: 0.005,
            stories: false,
        }
    }
}

/// The ground truth of a generated trail.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The seed it was generated from.
    pub seed: u64,
    /// Distinct events (distinct `eventID`s).
    pub unique_events: u64,
    /// Records in all files, duplicates included.
    pub records_written: u64,
    /// `records_written - unique_events`.
    pub duplicate_records: u64,
    /// Log files written, whole-file duplicates included.
    pub files: u64,
    /// Files that are byte-identical copies of another file under a second name.
    pub duplicate_files: u64,
    /// Sum of the sizes of all log files.
    pub bytes_compressed: u64,
    /// Earliest `eventTime` (RFC 3339; empty when there are no events).
    pub first_event_time: String,
    /// Latest `eventTime` (RFC 3339; empty when there are no events).
    pub last_event_time: String,
    /// Unique events by `eventName`.
    pub per_event_name: BTreeMap<String, u64>,
    /// Unique events by account id (`recipientAccountId`).
    pub per_account: BTreeMap<String, u64>,
    /// Unique events by `"<account>/<region>"`.
    pub per_account_region: BTreeMap<String, u64>,
    /// Unique events by Event-history user name ([`event_history_username`]).
    pub per_username: BTreeMap<String, u64>,
    /// The planted stories, empty unless [`GenConfig::stories`].
    pub stories: Vec<Story>,
}

/// A planted incident and how to find it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Story {
    /// Short identifier (`root-console-login-without-mfa`).
    pub name: String,
    /// What happened, naming the account and principal.
    pub description: String,
    /// A cairn query (Lucene style, JSON paths as field names) matching exactly `event_ids`.
    pub query: String,
    /// The story's events, in time order.
    pub event_ids: Vec<String>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid generator setting: {0}")]
    Config(String),
}

/// Writes the trail described by `cfg`, and its manifest to `<out>/manifest.json`, using one
/// worker thread per available core.
pub fn generate(cfg: &GenConfig) -> Result<Manifest, GenError> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    generate_with_threads(cfg, threads)
}

/// [`generate`] on `threads` worker threads (at least one). The output does not depend on it.
pub fn generate_with_threads(cfg: &GenConfig, threads: usize) -> Result<Manifest, GenError> {
    let (shared, specs, mut stories) = prepare(cfg)?;
    std::fs::create_dir_all(&cfg.out).map_err(|source| GenError::Io {
        path: cfg.out.clone(),
        source,
    })?;
    let outs = run_units(&shared, &specs, threads.max(1))?;
    let manifest = merge(cfg.seed, &shared, outs, &mut stories);
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
    unit::write_atomically(
        &cfg.out.join("manifest.json"),
        &cfg.out.join(".manifest.json.tmp"),
        &json,
    )?;
    Ok(manifest)
}

/// Most (account × region × day) units a trail may have.
const MAX_UNITS: u64 = 4_000_000;

fn check_config(cfg: &GenConfig) -> Result<(), GenError> {
    let bad = |m: String| Err(GenError::Config(m));
    if cfg.accounts == 0 {
        return bad("accounts must be at least 1".into());
    }
    if !(1..=16).contains(&cfg.regions) {
        return bad(format!("regions must be 1 to 16, not {}", cfg.regions));
    }
    if cfg.days == 0 {
        return bad("days must be at least 1".into());
    }
    let units = u64::from(cfg.accounts) * u64::from(cfg.regions) * u64::from(cfg.days);
    if units > MAX_UNITS {
        return bad(format!(
            "accounts x regions x days is {units}; at most {MAX_UNITS} is supported"
        ));
    }
    if !(0.0..=0.5).contains(&cfg.duplicate_rate) {
        return bad(format!(
            "duplicate_rate must be 0.0 to 0.5, not {}",
            cfg.duplicate_rate
        ));
    }
    if cfg.stories && cfg.events < stories::STORY_EVENTS {
        return bad(format!(
            "the stories need {} events; events is {}",
            stories::STORY_EVENTS,
            cfg.events
        ));
    }
    if let Some(org) = &cfg.org {
        let id = org.strip_prefix("o-").unwrap_or("");
        let ok = (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return bad(format!(
                "organization id {org:?} is not `o-` and 10 to 32 lowercase letters or digits"
            ));
        }
    }
    if let Some(prefix) = &cfg.prefix {
        let p = prefix.trim_matches('/');
        if !p.is_empty()
            && p.split('/')
                .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\'))
        {
            return bad(format!(
                "key prefix {prefix:?} has an empty, `.` or `..` segment"
            ));
        }
    }
    Ok(())
}

type Prepared = (unit::Shared, Vec<unit::UnitSpec>, Vec<Story>);

/// Validates the settings and splits the work into units.
fn prepare(cfg: &GenConfig) -> Result<Prepared, GenError> {
    check_config(cfg)?;
    let end = cfg.end.unix_timestamp();
    let start = end - i64::from(cfg.days) * 86_400;
    if start < 0 {
        return Err(GenError::Config(
            "the window must start after 1970-01-01".into(),
        ));
    }
    let account_ids = world::account_ids(cfg.seed, cfg.accounts);

    let mut root = cfg.out.clone();
    if let Some(p) = &cfg.prefix {
        for seg in p.split('/').filter(|s| !s.is_empty()) {
            root.push(seg);
        }
    }
    root.push("AWSLogs");
    if let Some(org) = &cfg.org {
        root.push(org);
    }

    let (story_list, placed) = if cfg.stories {
        stories::plan(cfg.seed, &account_ids, cfg.regions, start, end)
    } else {
        (Vec::new(), Vec::new())
    };
    let random_total = cfg.events - placed.len() as u64;

    // Spread the random events over units in proportion to account, region and time-of-week
    // activity, exactly (largest remainder), so the total is exact.
    let day_weights: Vec<u64> = (0..cfg.days)
        .map(|d| {
            let s = start + i64::from(d) * 86_400;
            (0..288).map(|k| unit::slot_weight(s + k * 300)).sum()
        })
        .collect();
    let regions = cfg.regions as usize;
    let days = cfg.days as usize;
    let mut weights = Vec::with_capacity(cfg.accounts as usize * regions * days);
    for a in 0..cfg.accounts {
        for r in 0..regions {
            for &dw in &day_weights {
                weights.push(world::account_weight(a) * world::REGION_WEIGHT[r] * dw);
            }
        }
    }
    let counts = apportion(random_total, &weights);

    let mut planted_by_unit: HashMap<usize, Vec<unit::Planted>> = HashMap::new();
    for p in placed {
        let day = ((p.planted.t_ms.div_euclid(1000) - start) / 86_400) as usize;
        let idx = (p.account as usize * regions + p.region as usize) * days + day;
        planted_by_unit.entry(idx).or_default().push(p.planted);
    }

    let mut specs = Vec::new();
    for (idx, &random) in counts.iter().enumerate() {
        let planted = planted_by_unit.remove(&idx).unwrap_or_default();
        if random == 0 && planted.is_empty() {
            continue;
        }
        specs.push(unit::UnitSpec {
            account: (idx / (regions * days)) as u32,
            region: ((idx / days) % regions) as u32,
            day: (idx % days) as u32,
            random,
            planted,
        });
    }

    let shared = unit::Shared {
        seed: cfg.seed,
        root,
        account_ids,
        start,
        end,
        dup_rate: cfg.duplicate_rate,
    };
    Ok((shared, specs, story_list))
}

/// Splits `total` in proportion to `weights` (not all zero), exactly: floors first, then the
/// largest remainders, ties to the lower index.
fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let x = u128::from(total) * u128::from(w);
        out.push((x / sum) as u64);
        rems.push((x % sum, i));
    }
    let left = total - out.iter().sum::<u64>();
    rems.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(left as usize) {
        out[i] += 1;
    }
    out
}

/// Runs every unit on `threads` workers, biggest first; returns the outputs in unit order.
fn run_units(
    shared: &unit::Shared,
    specs: &[unit::UnitSpec],
    threads: usize,
) -> Result<Vec<unit::UnitOut>, GenError> {
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(specs[i].random));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut results: Vec<Option<Result<unit::UnitOut, GenError>>> =
        (0..specs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.min(specs.len().max(1)) {
            let tx = tx.clone();
            let (next, stop, order) = (&next, &stop, &order);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    let r = unit::run(shared, &specs[i]);
                    if r.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            results[i] = Some(r);
        }
    });
    let mut outs = Vec::with_capacity(specs.len());
    for r in results {
        match r {
            Some(Ok(o)) => outs.push(o),
            Some(Err(e)) => return Err(e),
            // Only after another unit failed, which the loop returns first or later.
            None => {}
        }
    }
    if outs.len() != specs.len() {
        return Err(GenError::Config(
            "generation stopped before every unit ran".into(),
        ));
    }
    Ok(outs)
}

/// Adds the units' outputs up, in unit order.
fn merge(
    seed: u64,
    shared: &unit::Shared,
    outs: Vec<unit::UnitOut>,
    stories: &mut [Story],
) -> Manifest {
    let mut m = Manifest {
        seed,
        ..Manifest::default()
    };
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    let mut story_ids: Vec<(usize, i64, usize, String)> = Vec::new();
    for o in outs {
        m.unique_events += o.unique;
        m.records_written += o.records;
        m.files += o.files;
        m.duplicate_files += o.dup_files;
        m.bytes_compressed += o.bytes;
        first = match (first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = match (last, o.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (name, n) in o.per_name {
            *m.per_event_name.entry(name.to_string()).or_insert(0) += n;
        }
        for (user, n) in o.per_user {
            *m.per_username.entry(user).or_insert(0) += n;
        }
        if o.unique > 0 {
            let id = &shared.account_ids[o.account as usize];
            *m.per_account.entry(id.clone()).or_insert(0) += o.unique;
            *m.per_account_region
                .entry(format!("{id}/{}", world::REGIONS[o.region as usize]))
                .or_insert(0) += o.unique;
        }
        story_ids.extend(o.story_ids);
    }
    m.duplicate_records = m.records_written - m.unique_events;
    m.first_event_time = first.map(clock::rfc3339_string).unwrap_or_default();
    m.last_event_time = last.map(clock::rfc3339_string).unwrap_or_default();
    story_ids.sort_by_key(|a| (a.0, a.1, a.2));
    for (s, _, _, id) in story_ids {
        stories[s].event_ids.push(id);
    }
    m.stories = stories.to_vec();
    m
}

/// Every `eventName` the generator can write, sorted.
pub fn event_names() -> Vec<&'static str> {
    events::all_event_names()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_proportional() {
        let c = apportion(10, &[1, 1, 1]);
        assert_eq!(c.iter().sum::<u64>(), 10);
        assert_eq!(c, vec![4, 3, 3]);
        let c = apportion(1_000_003, &[5, 0, 3, 2]);
        assert_eq!(c.iter().sum::<u64>(), 1_000_003);
        assert_eq!(c[1], 0);
        assert_eq!(apportion(0, &[1, 2]), vec![0, 0]);
    }

    #[test]
    fn rejects_bad_settings() {
        let ok = GenConfig::new("/nonexistent");
        assert!(check_config(&ok).is_ok());
        type Change = Box<dyn Fn(&mut GenConfig)>;
        let cases: Vec<Change> = vec![
            Box::new(|c| c.accounts = 0),
            Box::new(|c| c.regions = 0),
            Box::new(|c| c.regions = 17),
            Box::new(|c| c.days = 0),
            Box::new(|c| c.duplicate_rate = 0.9),
            Box::new(|c| c.duplicate_rate = f64::NAN),
            Box::new(|c| c.org = Some("o-short".into())),
            Box::new(|c| c.org = Some("org-a1b2c3d4e5".into())),
            Box::new(|c| c.prefix = Some("a/../b".into())),
            Box::new(|c| c.prefix = Some("a//b".into())),
            Box::new(|c| {
                c.stories = true;
                c.events = 10;
            }),
        ];
        for (i, f) in cases.iter().enumerate() {
            let mut c = ok.clone();
            f(&mut c);
            assert!(
                matches!(check_config(&c), Err(GenError::Config(_))),
                "case {i}"
            );
        }
        let mut c = ok.clone();
        c.org = Some("o-a1b2c3d4e5".into());
        c.prefix = Some("/logs/ct/".into());
        assert!(check_config(&c).is_ok());
    }

    #[test]
    fn units_hold_every_event() {
        let mut cfg = GenConfig::new("/nonexistent");
        cfg.events = 12_345;
        cfg.stories = true;
        let (_, specs, stories) = prepare(&cfg).unwrap();
        let total: u64 = specs
            .iter()
            .map(|s| s.random + s.planted.len() as u64)
            .sum();
        assert_eq!(total, 12_345);
        assert_eq!(stories.len(), 6);
    }

    #[test]
    fn mix_has_at_least_thirty_event_names() {
        assert!(event_names().len() >= 30);
        assert!(events::MIX.len() >= 30);
    }
}

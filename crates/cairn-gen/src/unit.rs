//! One unit of work: the events of one account, in one region, on one day of the window,
//! written as log files the way CloudTrail delivers them.
//!
//! A unit depends only on the seed and its own coordinates, so units can run on any thread in
//! any order and the bytes written stay the same.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::GenError;
use crate::clock;
use crate::events::{Gen, StoryEv, User};
use crate::rng::{ALNUM, Rng};
use crate::world::{Account, Place, REGIONS};

const SALT_UNIT: u64 = 0x0E17_5EED;

/// Seconds in a delivery window: CloudTrail delivers about every five minutes.
const WINDOW_S: i64 = 300;

/// Above this many records a window's events are split over several files.
const MAX_PER_FILE: usize = 250;

/// Relative activity by UTC hour: a business-hours curve over a floor of automation.
const HOUR_WEIGHT: [u64; 24] = [
    30, 25, 22, 20, 20, 22, 28, 38, 52, 66, 78, 88, 95, 100, 100, 98, 92, 84, 72, 60, 50, 42, 36,
    32,
];

/// The expected activity of the five minutes starting at `t` (before per-slot noise).
pub(crate) fn slot_weight(t: i64) -> u64 {
    let hour = clock::split(t).hour as usize;
    let weekend = matches!(clock::weekday(t), 0 | 6);
    HOUR_WEIGHT[hour] * if weekend { 45 } else { 100 }
}

/// A story event placed in a unit.
#[derive(Debug, Clone)]
pub(crate) struct Planted {
    pub(crate) t_ms: i64,
    pub(crate) story: usize,
    /// Whether its eventID belongs to the story's list.
    pub(crate) listed: bool,
    pub(crate) ev: StoryEv,
}

/// What a unit must produce.
#[derive(Debug, Clone)]
pub(crate) struct UnitSpec {
    pub(crate) account: u32,
    pub(crate) region: u32,
    pub(crate) day: u32,
    /// Random events to generate.
    pub(crate) random: u64,
    pub(crate) planted: Vec<Planted>,
}

/// Settings shared by all units.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) seed: u64,
    /// `<out>/[<prefix>/]AWSLogs/[<org>/]`
    pub(crate) root: PathBuf,
    pub(crate) account_ids: Vec<String>,
    /// Window start and end, Unix seconds.
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) dup_rate: f64,
}

/// What a unit did.
#[derive(Debug, Default)]
pub(crate) struct UnitOut {
    pub(crate) account: u32,
    pub(crate) region: u32,
    pub(crate) unique: u64,
    pub(crate) records: u64,
    pub(crate) files: u64,
    pub(crate) dup_files: u64,
    pub(crate) bytes: u64,
    /// Earliest and latest eventTime, Unix seconds.
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) per_name: HashMap<&'static str, u64>,
    pub(crate) per_user: HashMap<String, u64>,
    /// (story, event time ms, planted index, eventID)
    pub(crate) story_ids: Vec<(usize, i64, usize, String)>,
}

/// Draws `n` event times (ms) in `[start, end)` following [`slot_weight`] with some noise and
/// bursts, sorted.
fn sample_times(rng: &mut Rng, start: i64, end: i64, n: u64) -> Vec<i64> {
    let mut cum = Vec::new();
    let mut slot_starts = Vec::new();
    let mut total = 0u64;
    let mut t = start;
    while t < end {
        let mut w = slot_weight(t) * rng.range(60, 141);
        if rng.percent(2) {
            w *= 6; // a deployment, a batch job, someone scripting
        }
        total += w;
        cum.push(total);
        slot_starts.push(t);
        t += WINDOW_S;
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let r = rng.below(total);
        let slot = cum.partition_point(|&c| c <= r);
        let s = slot_starts[slot];
        let len_ms = (end.min(s + WINDOW_S) - s) * 1000;
        out.push(s * 1000 + rng.below(len_ms as u64) as i64);
    }
    out.sort_unstable();
    out
}

/// Delivery delay after the end of a window, seconds: mostly 1 to 4 minutes, sometimes up to
/// 10, so an event reaches S3 1 to 15 minutes after it happened, typically about 5.
fn delivery_lag(rng: &mut Rng) -> i64 {
    (match rng.below(100) {
        0..=69 => rng.range(60, 240),
        70..=91 => rng.range(240, 480),
        _ => rng.range(480, 600),
    }) as i64
}

/// Runs one unit: generates its events and writes its files.
pub(crate) fn run(shared: &Shared, spec: &UnitSpec) -> Result<UnitOut, GenError> {
    let account_id = &shared.account_ids[spec.account as usize];
    let acct = Account::build(shared.seed, spec.account, account_id);
    let place = Place::build(shared.seed, spec.account, spec.region);
    let region = REGIONS[spec.region as usize];
    let mut rng = Rng::from_path(&[
        shared.seed,
        SALT_UNIT,
        u64::from(spec.account),
        u64::from(spec.region),
        u64::from(spec.day),
    ]);
    let day_start = shared.start + i64::from(spec.day) * 86_400;
    let day_end = (day_start + 86_400).min(shared.end);

    let mut evs: Vec<(i64, u32)> = sample_times(&mut rng, day_start, day_end, spec.random)
        .into_iter()
        .map(|t| (t, u32::MAX))
        .collect();
    for (i, p) in spec.planted.iter().enumerate() {
        evs.push((p.t_ms, i as u32));
    }
    evs.sort_unstable();

    let mut g = Gen::new(rng.fork(), &acct, &place, spec.region == 0);
    let mut frng = rng.fork();
    let mut out = UnitOut {
        account: spec.account,
        region: spec.region,
        ..UnitOut::default()
    };
    let mut per_actor = vec![0u64; acct.actors.len()];
    let mut hidden = 0u64;
    let mut writer = FileWriter {
        dir_root: shared.root.join(account_id).join("CloudTrail").join(region),
        account_id,
        region,
        made_dirs: HashSet::new(),
        gz_buf: Vec::new(),
    };
    // Records to deliver again in a later file of this unit: (file index, bytes).
    let mut pending: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut file_idx = 0u64;

    let mut i = 0;
    while i < evs.len() {
        let w = evs[i].0.div_euclid(WINDOW_S * 1000);
        let mut k = i;
        while k < evs.len() && evs[k].0.div_euclid(WINDOW_S * 1000) == w {
            k += 1;
        }
        let n = k - i;
        let nfiles = n.div_ceil(MAX_PER_FILE);
        let delivery = (w + 1) * WINDOW_S + delivery_lag(&mut frng);
        for f in 0..nfiles {
            let lo = i + n * f / nfiles;
            let hi = i + n * (f + 1) / nfiles;
            // Records due for re-delivery in this file, each at a random position.
            let mut dups: Vec<(usize, Vec<u8>)> = Vec::new();
            pending.retain_mut(|(target, bytes)| {
                if *target <= file_idx {
                    dups.push((0, std::mem::take(bytes)));
                    false
                } else {
                    true
                }
            });
            for d in &mut dups {
                d.0 = frng.index(hi - lo + 1);
            }
            dups.sort_by_key(|d| d.0);

            g.j.clear();
            g.j.buf.extend_from_slice(b"{\"Records\":[");
            let mut first = true;
            let mut di = 0;
            let mut records = 0u64;
            for (r, &(t_ms, tag)) in evs[lo..hi].iter().enumerate() {
                while di < dups.len() && dups[di].0 == r {
                    push_record(&mut g.j.buf, &mut first, &dups[di].1);
                    di += 1;
                    records += 1;
                }
                if !first {
                    g.j.buf.push(b',');
                }
                first = false;
                let start = g.j.buf.len();
                g.j.reset_comma();
                let written = if tag == u32::MAX {
                    g.random(t_ms)
                } else {
                    let p = &spec.planted[tag as usize];
                    let w = g.story(t_ms, &p.ev);
                    if p.listed {
                        out.story_ids.push((
                            p.story,
                            t_ms,
                            tag as usize,
                            String::from_utf8_lossy(&w.event_id).into_owned(),
                        ));
                    }
                    w
                };
                records += 1;
                out.unique += 1;
                let secs = t_ms.div_euclid(1000);
                out.first = Some(out.first.map_or(secs, |f| f.min(secs)));
                out.last = Some(out.last.map_or(secs, |l| l.max(secs)));
                *out.per_name.entry(written.name).or_insert(0) += 1;
                match written.user {
                    User::Actor(a) => per_actor[a as usize] += 1,
                    User::Hidden => hidden += 1,
                }
                if shared.dup_rate > 0.0 && frng.chance(shared.dup_rate) {
                    let target = file_idx + 1 + frng.below(3);
                    pending.push((target, g.j.buf[start..].to_vec()));
                }
            }
            while di < dups.len() {
                push_record(&mut g.j.buf, &mut first, &dups[di].1);
                di += 1;
                records += 1;
            }
            g.j.buf.extend_from_slice(b"]}");

            let name_secs = delivery;
            let bytes = writer.write(&g.j.buf, name_secs, &mut frng)?;
            out.files += 1;
            out.records += records;
            out.bytes += bytes;
            // Now and then CloudTrail delivers a whole file twice under two names.
            if shared.dup_rate > 0.0 && frng.chance(shared.dup_rate / 4.0) {
                let bytes = writer.write_again(name_secs, &mut frng)?;
                out.files += 1;
                out.dup_files += 1;
                out.records += records;
                out.bytes += bytes;
            }
            file_idx += 1;
        }
        i = k;
    }

    for (a, &n) in per_actor.iter().enumerate() {
        if n > 0 {
            *out.per_user
                .entry(acct.actors[a].username.clone())
                .or_insert(0) += n;
        }
    }
    if hidden > 0 {
        *out.per_user
            .entry("HIDDEN_DUE_TO_SECURITY_REASONS".to_string())
            .or_insert(0) += hidden;
    }
    Ok(out)
}

fn push_record(buf: &mut Vec<u8>, first: &mut bool, record: &[u8]) {
    if !*first {
        buf.push(b',');
    }
    *first = false;
    buf.extend_from_slice(record);
}

/// Compresses and writes log files of one account and region.
struct FileWriter<'a> {
    /// `.../AWSLogs/[org/]<account>/CloudTrail/<region>`
    dir_root: PathBuf,
    account_id: &'a str,
    region: &'static str,
    made_dirs: HashSet<PathBuf>,
    /// The compressed bytes of the last file written.
    gz_buf: Vec<u8>,
}

impl FileWriter<'_> {
    /// Compresses `body` and writes it as a file delivered at `delivery` (Unix seconds);
    /// returns the compressed size.
    fn write(&mut self, body: &[u8], delivery: i64, rng: &mut Rng) -> Result<u64, GenError> {
        let mut buf = std::mem::take(&mut self.gz_buf);
        buf.clear();
        let mut enc = GzEncoder::new(buf, Compression::default());
        enc.write_all(body).expect("writing into a Vec cannot fail");
        self.gz_buf = enc.finish().expect("writing into a Vec cannot fail");
        self.write_again(delivery, rng)
    }

    /// Writes the last compressed file again under a fresh name.
    fn write_again(&mut self, delivery: i64, rng: &mut Rng) -> Result<u64, GenError> {
        let tm = clock::split(delivery);
        let dir = self
            .dir_root
            .join(format!("{:04}/{:02}/{:02}", tm.year, tm.month, tm.day));
        if !self.made_dirs.contains(&dir) {
            std::fs::create_dir_all(&dir).map_err(|source| GenError::Io {
                path: dir.clone(),
                source,
            })?;
            self.made_dirs.insert(dir.clone());
        }
        let name = format!(
            "{}_CloudTrail_{}_{}_{}.json.gz",
            self.account_id,
            self.region,
            clock::name_stamp(delivery),
            rng.chars(ALNUM, 16)
        );
        let path = dir.join(&name);
        write_atomically(&path, &dir.join(format!(".{name}.tmp")), &self.gz_buf)?;
        Ok(self.gz_buf.len() as u64)
    }
}

/// Writes `bytes` to `tmp`, then renames it to `path`: a reader never sees half a file.
pub(crate) fn write_atomically(path: &Path, tmp: &Path, bytes: &[u8]) -> Result<(), GenError> {
    std::fs::write(tmp, bytes).map_err(|source| GenError::Io {
        path: tmp.to_path_buf(),
        source,
    })?;
    std::fs::rename(tmp, path).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_sorted_and_inside_the_unit() {
        let mut rng = Rng::new(9);
        let start = 1_748_736_000; // 2025-06-01T00:00:00Z
        let end = start + 86_400;
        let t = sample_times(&mut rng, start, end, 5_000);
        assert_eq!(t.len(), 5_000);
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
        assert!(t.iter().all(|&ms| ms >= start * 1000 && ms < end * 1000));
        // Afternoons are busier than nights.
        let hour = |h: i64| {
            t.iter()
                .filter(|&&ms| (ms / 1000 - start) / 3600 == h)
                .count()
        };
        assert!(hour(14) > hour(3));
    }

    #[test]
    fn lags_stay_between_one_and_ten_minutes() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let l = delivery_lag(&mut rng);
            assert!((60..600).contains(&l));
        }
    }
}

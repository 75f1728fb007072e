//! Reading the store: search newest first, count, top values, timelines, stats, one event.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use serde::Serialize;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query as TQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DateTime, DocAddress, Order, Searcher, SegmentReader, TantivyDocument, Term};
use time::OffsetDateTime;

use crate::lower::{Lowerer, date_range, normalize_field};
use crate::schema::Kind;
use crate::scope::Scope;
use crate::{Store, StoreError};

/// A time window of event times; both ends optional (`from` inclusive, `to` exclusive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Only events stored before this instant: pages of one search stay the same while new
    /// events arrive.
    pub ingested_before: Option<OffsetDateTime>,
}

impl TimeRange {
    pub fn new(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> TimeRange {
        TimeRange {
            from,
            to,
            ingested_before: None,
        }
    }
}

/// One matching event.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The record exactly as AWS wrote it.
    #[serde(skip)]
    pub raw: Vec<u8>,
    /// Where it was read from.
    pub object: String,
    /// Its verification state (`verified`, `failed`, `unverified`), once the store's digests
    /// were checked at least once; empty before.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub integrity: String,
}

impl Hit {
    /// Its verification state's name; `unverified` also before digests were ever checked.
    pub fn integrity_name(&self) -> &str {
        if self.integrity.is_empty() {
            "unverified"
        } else {
            &self.integrity
        }
    }

    pub fn record(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw).unwrap_or(serde_json::Value::Null)
    }
}

/// What is in the store.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub events: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest: Option<OffsetDateTime>,
    pub accounts: Vec<(String, u64)>,
    pub regions: Vec<(String, u64)>,
    pub objects: u64,
    pub objects_failed: u64,
    pub segments: usize,
    pub bytes_on_disk: u64,
}

/// A compiled query: the user's query and the time window, ready to run.
pub struct Compiled(Box<dyn TQuery>);

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The Event-history lookup attributes (CloudTrail `LookupEvents`). Each given attribute must
/// match exactly (case-insensitively); several combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub read_only: Option<bool>,
    /// What Event history calls the user name (see `cairn_model::record::event_history_username`).
    pub username: Option<String>,
    pub resource_type: Option<String>,
    /// A resource ARN, or the name at its end (`i-0abc`, a bucket name).
    pub resource_name: Option<String>,
    pub event_source: Option<String>,
    pub access_key_id: Option<String>,
    /// Only Insights events (`EventCategory: insight`).
    pub insights_only: bool,
}

/// How many stored records `top` reads at most for a field without a column.
pub const TOP_SCAN_LIMIT: usize = 200_000;

impl Store {
    /// Lowers a parsed query, a time window and the reader's scope into one query.
    pub fn compile(
        &self,
        q: &cairn_query::Query,
        range: TimeRange,
        scope: &Scope,
    ) -> Result<Compiled, StoreError> {
        let mut lowerer = Lowerer::new(self.index(), self.fields(), OffsetDateTime::now_utc())
            .with_data_dir(self.dir());
        let query = lowerer.lower(q)?;
        Ok(self.restrict(query, range, scope))
    }

    /// Adds the time window, the ingest cut-off and the scope to a query.
    fn restrict(&self, query: Box<dyn TQuery>, range: TimeRange, scope: &Scope) -> Compiled {
        let secs = crate::lower::index_time;
        let mut clauses = vec![(Occur::Must, query)];
        if range.from.is_some() || range.to.is_some() {
            clauses.push((
                Occur::Must,
                date_range(
                    self.fields().hot_by_name("eventTime"),
                    range
                        .from
                        .map_or(Bound::Unbounded, |t| Bound::Included(secs(t))),
                    range
                        .to
                        .map_or(Bound::Unbounded, |t| Bound::Excluded(secs(t))),
                ),
            ));
        }
        if let Some(asof) = range.ingested_before {
            clauses.push((
                Occur::Must,
                date_range(
                    self.fields().hot_by_name("cairn.ingestTime"),
                    Bound::Unbounded,
                    Bound::Excluded(secs(asof)),
                ),
            ));
        }
        if let Some(s) = scope.clause(self.fields()) {
            clauses.push((Occur::Must, s));
        }
        if clauses.len() == 1 {
            return Compiled(clauses.pop().expect("one clause").1);
        }
        Compiled(Box::new(BooleanQuery::new(clauses)))
    }

    /// Compiles Event-history lookup attributes, a time window and the reader's scope.
    pub fn compile_lookup(
        &self,
        l: &Lookup,
        range: TimeRange,
        scope: &Scope,
    ) -> Result<Compiled, StoreError> {
        let f = self.fields();
        let exact = |name: &str, v: &str| -> Box<dyn TQuery> {
            Box::new(TermQuery::new(
                Term::from_field_text(f.hot_by_name(name), &v.to_lowercase()),
                IndexRecordOption::Basic,
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        if let Some(id) = &l.event_id {
            clauses.push((Occur::Must, crate::lower::event_id_query(f, id)));
        }
        for (name, value) in [
            ("eventName", &l.event_name),
            ("username", &l.username),
            ("resources.type", &l.resource_type),
            ("eventSource", &l.event_source),
            ("userIdentity.accessKeyId", &l.access_key_id),
        ] {
            if let Some(v) = value {
                clauses.push((Occur::Must, exact(name, v)));
            }
        }
        if let Some(b) = l.read_only {
            let t = Term::from_field_bool(f.hot_by_name("readOnly"), b);
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        if let Some(name) = &l.resource_name {
            let arn = f.hot_by_name("resources.ARN");
            let tail = format!(
                ".*[:/]{}",
                crate::lower::wildcard_regex(&name.to_lowercase().replace(['*', '?', '\\'], ""))
            );
            let by_tail = tantivy::query::RegexQuery::from_pattern(&tail, arn)
                .map_err(|e| StoreError::Query(e.to_string()))?;
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact("resources.ARN", name)),
                    (Occur::Should, Box::new(by_tail)),
                ])),
            ));
        }
        if l.insights_only {
            let q = cairn_query::parse("eventType:AwsCloudTrailInsight")
                .map_err(|e| StoreError::Query(e.to_string()))?;
            let mut lowerer = Lowerer::new(self.index(), f, OffsetDateTime::now_utc());
            clauses.push((Occur::Must, lowerer.lower(&q)?));
        }
        let query: Box<dyn TQuery> = if clauses.is_empty() {
            Box::new(tantivy::query::AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        Ok(self.restrict(query, range, scope))
    }

    /// Matching events, newest first.
    pub fn search(
        &self,
        q: &Compiled,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.searcher()?;
        let top = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by_fast_field::<DateTime>("eventTime", Order::Desc);
        let docs = searcher.search(&*q.0, &top)?;
        let integrity = self.integrity_if_checked()?;
        docs.into_iter()
            .map(|(_, addr)| self.hit(&searcher, addr, integrity.as_deref()))
            .collect()
    }

    /// The verification state of the store's objects, when digests were ever checked. Read
    /// again only when the file changes (a server asks on every request).
    fn integrity_if_checked(
        &self,
    ) -> Result<Option<std::sync::Arc<crate::integrity::Integrity>>, StoreError> {
        let p = crate::integrity::path(self.dir());
        let stamp = std::fs::metadata(&p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()));
        let mut cache = self.integrity.lock().expect("integrity cache lock");
        if let Some((seen, value)) = cache.as_ref()
            && *seen == stamp
        {
            return Ok(value.clone());
        }
        let i = crate::integrity::Integrity::load(self.dir())?;
        let value = (!i.objects.is_empty()).then(|| std::sync::Arc::new(i));
        *cache = Some((stamp, value.clone()));
        Ok(value)
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        integrity: Option<&crate::integrity::Integrity>,
    ) -> Result<Hit, StoreError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let f = self.fields();
        let raw = doc
            .get_first(f.raw)
            .and_then(|v| v.as_bytes())
            .unwrap_or_default()
            .to_vec();
        let object = doc
            .get_first(f.hot_by_name("cairn.object"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let integrity = integrity
            .map(|i| i.state(&object).name().to_string())
            .unwrap_or_default();
        Ok(Hit {
            raw,
            object,
            integrity,
        })
    }

    /// Every matching event, in storage order (segment by segment), handed to `each` one at a
    /// time: memory holds one segment's matching document numbers, never the events. Stops at
    /// the first error `each` returns.
    pub fn scan<E: From<StoreError>>(
        &self,
        q: &Compiled,
        mut each: impl FnMut(Hit) -> Result<(), E>,
    ) -> Result<u64, E> {
        let searcher = self.searcher()?;
        let weight =
            q.0.weight(tantivy::query::EnableScoring::disabled_from_searcher(
                &searcher,
            ))
            .map_err(StoreError::from)?;
        let mut n = 0;
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let mut docs = Vec::new();
            weight
                .for_each_no_score(reader, &mut |batch| {
                    docs.extend(batch.iter().copied().filter(|d| !reader.is_deleted(*d)))
                })
                .map_err(StoreError::from)?;
            for doc in docs {
                each(self.hit(&searcher, DocAddress::new(ord as u32, doc), None)?)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The number of matching events.
    pub fn count(&self, q: &Compiled) -> Result<u64, StoreError> {
        Ok(self.searcher()?.search(&*q.0, &Count)? as u64)
    }

    /// One event by its `eventID`, if the scope lets the reader see it.
    pub fn get(&self, event_id: &str, scope: &Scope) -> Result<Option<Hit>, StoreError> {
        let searcher = self.searcher()?;
        let q = self.restrict(
            crate::lower::event_id_query(self.fields(), event_id),
            TimeRange::default(),
            scope,
        );
        let docs = searcher.search(&*q.0, &TopDocs::with_limit(1).order_by_score())?;
        let integrity = self.integrity_if_checked()?;
        docs.first()
            .map(|(_, addr)| self.hit(&searcher, *addr, integrity.as_deref()))
            .transpose()
    }

    /// Which of these `eventID`s the scope lets the reader see (one searcher, counts only).
    pub fn visible_ids<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        scope: &Scope,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let searcher = self.searcher()?;
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if out.contains(id) {
                continue;
            }
            let q = self.restrict(
                crate::lower::event_id_query(self.fields(), id),
                TimeRange::default(),
                scope,
            );
            if searcher.search(&*q.0, &Count)? > 0 {
                out.insert(id.to_string());
            }
        }
        Ok(out)
    }

    /// The most frequent values of a field among matching events, with counts. Fields with a
    /// column are counted from it; any other JSON path is read from the stored records, up to
    /// [`TOP_SCAN_LIMIT`] of them (the second value says whether that limit was reached).
    pub fn top(
        &self,
        field: &str,
        q: &Compiled,
        n: usize,
    ) -> Result<(Vec<(String, u64)>, bool), StoreError> {
        let searcher = self.searcher()?;
        let path = normalize_field(field);
        if let Some((_, Kind::Keyword, name)) = self.fields().hot(path) {
            let counts = searcher.search(
                &*q.0,
                &KeywordCounts {
                    field: name.to_string(),
                },
            )?;
            return Ok((top_n(counts, n), false));
        }
        if let Some((_, Kind::Bool, name)) = self.fields().hot(path) {
            let counts = searcher.search(
                &*q.0,
                &BoolCounts {
                    field: name.to_string(),
                },
            )?;
            return Ok((top_n(counts, n), false));
        }
        let docs = searcher.search(
            &*q.0,
            &TopDocs::with_limit(TOP_SCAN_LIMIT)
                .order_by_fast_field::<DateTime>("eventTime", Order::Desc),
        )?;
        let truncated = docs.len() == TOP_SCAN_LIMIT;
        let mut counts: HashMap<String, u64> = HashMap::new();
        for (_, addr) in docs {
            let hit = self.hit(&searcher, addr, None)?;
            let record = hit.record();
            let mut values = Vec::new();
            collect_values(&record, &path.split('.').collect::<Vec<_>>(), &mut values);
            for v in values {
                *counts.entry(v).or_default() += 1;
            }
        }
        Ok((top_n(counts, n), truncated))
    }

    /// Matching events per interval (bucket start as Unix seconds), oldest first, with empty
    /// buckets filled in between the first and the last.
    pub fn timeline(
        &self,
        q: &Compiled,
        interval_secs: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let interval = interval_secs.max(1);
        let searcher = self.searcher()?;
        let buckets = searcher.search(&*q.0, &TimeBuckets { interval })?;
        let (Some(first), Some(last)) = (
            buckets.keys().next().copied(),
            buckets.keys().last().copied(),
        ) else {
            return Ok(Vec::new());
        };
        Ok((0..=(last - first) / interval)
            .map(|i| {
                let t = first + i * interval;
                (t, buckets.get(&t).copied().unwrap_or(0))
            })
            .collect())
    }

    /// What is in the store, as far as the scope lets the reader see.
    pub fn stats(&self, scope: &Scope) -> Result<Stats, StoreError> {
        let searcher = self.searcher()?;
        let all = self.restrict(
            Box::new(tantivy::query::AllQuery),
            TimeRange::default(),
            scope,
        );
        let (oldest, newest) = if scope.is_all() {
            let mut oldest: Option<i64> = None;
            let mut newest: Option<i64> = None;
            for seg in searcher.segment_readers() {
                if seg.num_docs() == 0 {
                    continue;
                }
                let col = seg.fast_fields().date("eventTime")?;
                let (lo, hi) = (
                    col.min_value().into_timestamp_secs(),
                    col.max_value().into_timestamp_secs(),
                );
                oldest = Some(oldest.map_or(lo, |o| o.min(lo)));
                newest = Some(newest.map_or(hi, |n| n.max(hi)));
            }
            (oldest, newest)
        } else {
            let end = |order| -> Result<Option<i64>, StoreError> {
                let top =
                    TopDocs::with_limit(1).order_by_fast_field::<DateTime>("eventTime", order);
                Ok(searcher
                    .search(&*all.0, &top)?
                    .first()
                    .and_then(|(t, _)| t.map(|t| t.into_timestamp_secs())))
            };
            (end(Order::Asc)?, end(Order::Desc)?)
        };
        let ledger = self.ledger()?;
        let visible = |e: &&crate::Entry| scope.permits(e.account.as_deref(), e.region.as_deref());
        let to_time = |s: i64| OffsetDateTime::from_unix_timestamp(s).ok();
        let counts = |field: &str| -> Result<Vec<(String, u64)>, StoreError> {
            Ok(top_n(
                searcher.search(
                    &*all.0,
                    &KeywordCounts {
                        field: field.into(),
                    },
                )?,
                usize::MAX,
            ))
        };
        Ok(Stats {
            events: if scope.is_all() {
                searcher.num_docs()
            } else {
                searcher.search(&*all.0, &Count)? as u64
            },
            oldest: oldest.and_then(to_time),
            newest: newest.and_then(to_time),
            accounts: counts("account")?,
            regions: counts("awsRegion")?,
            objects: ledger
                .entries()
                .filter(visible)
                .filter(|e| e.status != crate::Status::Skipped)
                .count() as u64,
            objects_failed: ledger
                .entries()
                .filter(visible)
                .filter(|e| e.status == crate::Status::Failed)
                .count() as u64,
            segments: searcher.segment_readers().len(),
            bytes_on_disk: self.size_on_disk(),
        })
    }

    /// Field names for completion: the typed attributes, the derived fields, and every JSON
    /// path of the newest `sample` records (arrays are looked through).
    pub fn field_names(&self, sample: usize) -> Result<Vec<String>, StoreError> {
        let mut names: std::collections::BTreeSet<String> = crate::schema::HOT
            .iter()
            .map(|(path, ..)| path.to_string())
            .collect();
        names.extend(["account", "region", "cairn.integrity"].map(String::from));
        let searcher = self.searcher()?;
        let docs = searcher.search(
            &tantivy::query::AllQuery,
            &TopDocs::with_limit(sample.max(1))
                .order_by_fast_field::<DateTime>("eventTime", Order::Desc),
        )?;
        fn walk(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, child) in m {
                        let path = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        if out.len() < 5000 {
                            walk(child, &path, out);
                            out.insert(path);
                        }
                    }
                }
                serde_json::Value::Array(items) => {
                    items.iter().for_each(|i| walk(i, prefix, out));
                }
                _ => {}
            }
        }
        for (_, addr) in docs {
            let hit = self.hit(&searcher, addr, None)?;
            walk(&hit.record(), "", &mut names);
        }
        Ok(names.into_iter().collect())
    }

    /// Whether any stored event has this field (a JSON path, or a typed attribute).
    pub fn has_field(&self, field: &str) -> Result<bool, StoreError> {
        let path = normalize_field(field);
        if crate::lower::is_derived(path) || self.fields().hot(path).is_some() {
            return Ok(true);
        }
        let searcher = self.searcher()?;
        let term = Term::from_field_text(self.fields().paths, &path.to_lowercase());
        for seg in searcher.segment_readers() {
            if seg
                .inverted_index(self.fields().paths)?
                .get_term_info(&term)
                .map_err(|e| StoreError::io(self.dir(), e))?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Adds up per-segment counts.
fn merge_counts<K, M>(fruits: Vec<M>) -> M
where
    M: Default + IntoIterator<Item = (K, u64)> + Extend<(K, u64)>,
    K: Eq + std::hash::Hash + Ord,
{
    let mut all: Vec<(K, u64)> = fruits.into_iter().flatten().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(K, u64)> = Vec::with_capacity(all.len());
    for (k, v) in all {
        match merged.last_mut() {
            Some((last, total)) if *last == k => *total += v,
            _ => merged.push((k, v)),
        }
    }
    let mut out = M::default();
    out.extend(merged);
    out
}

fn top_n(counts: HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Values at a path, descending through arrays.
fn collect_values(v: &serde_json::Value, path: &[&str], out: &mut Vec<String>) {
    use serde_json::Value as J;
    match (v, path.split_first()) {
        (J::Array(items), _) => items.iter().for_each(|i| collect_values(i, path, out)),
        (J::Object(map), Some((k, rest))) => {
            if let Some(child) = map.get(*k) {
                collect_values(child, rest, out);
            }
        }
        (J::String(s), None) => out.push(s.clone()),
        (J::Null, None) => {}
        (other, None) => out.push(other.to_string()),
        _ => {}
    }
}

/// Counts values of a keyword column (by term ordinal per segment, then by string).
struct KeywordCounts {
    field: String,
}

struct KeywordSegment {
    column: Option<tantivy::columnar::StrColumn>,
    counts: Vec<u64>,
}

impl Collector for KeywordCounts {
    type Fruit = HashMap<String, u64>;
    type Child = KeywordSegment;

    fn for_segment(&self, _ord: u32, seg: &SegmentReader) -> tantivy::Result<KeywordSegment> {
        let column = seg.fast_fields().str(&self.field)?;
        let n = column.as_ref().map_or(0, |c| c.num_terms());
        Ok(KeywordSegment {
            column,
            counts: vec![0; n],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<HashMap<String, u64>>,
    ) -> tantivy::Result<HashMap<String, u64>> {
        Ok(merge_counts(fruits))
    }
}

impl SegmentCollector for KeywordSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: u32, _score: f32) {
        if let Some(col) = &self.column {
            for ord in col.term_ords(doc) {
                self.counts[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        if let Some(col) = &self.column {
            let mut s = String::new();
            for (ord, &c) in self.counts.iter().enumerate() {
                if c > 0 && col.ord_to_str(ord as u64, &mut s).unwrap_or(false) {
                    out.insert(s.clone(), c);
                }
            }
        }
        out
    }
}

/// Counts a boolean column.
struct BoolCounts {
    field: String,
}

struct BoolSegment {
    column: tantivy::columnar::Column<bool>,
    counts: [u64; 2],
}

impl Collector for BoolCounts {
    type Fruit = HashMap<String, u64>;
    type Child = BoolSegment;

    fn for_segment(&self, _ord: u32, seg: &SegmentReader) -> tantivy::Result<BoolSegment> {
        Ok(BoolSegment {
            column: seg.fast_fields().bool(&self.field)?,
            counts: [0; 2],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<HashMap<String, u64>>,
    ) -> tantivy::Result<HashMap<String, u64>> {
        Ok(merge_counts(fruits))
    }
}

impl SegmentCollector for BoolSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: u32, _score: f32) {
        if let Some(b) = self.column.first(doc) {
            self.counts[b as usize] += 1;
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        [("false", self.counts[0]), ("true", self.counts[1])]
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|(k, c)| (k.to_string(), c))
            .collect()
    }
}

/// Counts events per fixed interval of `eventTime`.
struct TimeBuckets {
    interval: i64,
}

struct TimeSegment {
    column: tantivy::columnar::Column<DateTime>,
    interval: i64,
    buckets: BTreeMap<i64, u64>,
}

impl Collector for TimeBuckets {
    type Fruit = BTreeMap<i64, u64>;
    type Child = TimeSegment;

    fn for_segment(&self, _ord: u32, seg: &SegmentReader) -> tantivy::Result<TimeSegment> {
        Ok(TimeSegment {
            column: seg.fast_fields().date("eventTime")?,
            interval: self.interval,
            buckets: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<BTreeMap<i64, u64>>) -> tantivy::Result<BTreeMap<i64, u64>> {
        Ok(merge_counts(fruits))
    }
}

impl SegmentCollector for TimeSegment {
    type Fruit = BTreeMap<i64, u64>;

    fn collect(&mut self, doc: u32, _score: f32) {
        if let Some(t) = self.column.first(doc) {
            let s = t.into_timestamp_secs();
            *self
                .buckets
                .entry(s - s.rem_euclid(self.interval))
                .or_default() += 1;
        }
    }

    fn harvest(self) -> BTreeMap<i64, u64> {
        self.buckets
    }
}

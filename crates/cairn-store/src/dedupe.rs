//! Deduplication by `eventID`, bounded in memory.
//!
//! CloudTrail re-delivers an event with the same `eventID` and the same `eventTime`, so the
//! set of known ids is partitioned by the day of `eventTime`. A day's set is loaded from the
//! committed index the first time an event of that day arrives, then kept current as events
//! are added. The index stays the only truth: nothing here is persisted, so a crash cannot
//! leave this cache disagreeing with the store.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::RangeQuery;
use tantivy::{Searcher, SegmentReader, Term};

use crate::StoreError;
use crate::schema::Fields;

#[derive(Debug)]
pub struct Dedupe {
    days: HashMap<i32, HashSet<u128>>,
    /// Days kept loaded between commits; beyond this, the cache is emptied at the next
    /// commit (when every day can be reloaded from the index).
    max_days: usize,
}

impl Dedupe {
    pub fn new(max_days: usize) -> Dedupe {
        Dedupe {
            days: HashMap::new(),
            max_days,
        }
    }

    /// Records an event; false when its id is already in the store or was added before.
    pub fn insert(
        &mut self,
        searcher: &Searcher,
        fields: &Fields,
        day: i32,
        eid: u128,
    ) -> Result<bool, StoreError> {
        let known = match self.days.entry(day) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(load_day(searcher, fields, day)?)
            }
        };
        Ok(known.insert(eid))
    }

    /// Called right after a commit: everything in memory is now in the index.
    pub fn committed(&mut self) {
        if self.days.len() > self.max_days {
            self.days.clear();
        }
    }
}

/// The ids of the committed events of one day.
fn load_day(searcher: &Searcher, fields: &Fields, day: i32) -> Result<HashSet<u128>, StoreError> {
    let field = fields.hot_by_name("eventTime");
    let start = i64::from(day) * 86_400;
    let term = |secs| {
        Term::from_field_date_for_search(
            field,
            crate::lower::index_time(
                time::OffsetDateTime::from_unix_timestamp(secs)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
        )
    };
    let query = RangeQuery::new(
        Bound::Included(term(start)),
        Bound::Excluded(term(start + 86_400)),
    );
    let known = searcher.search(&query, &EventIds)?;
    Ok(known)
}

/// Collects the `eid` column of matching documents, segment by segment.
struct EventIds;

struct SegmentIds {
    column: tantivy::columnar::Column<std::net::Ipv6Addr>,
    ids: HashSet<u128>,
}

impl Collector for EventIds {
    type Fruit = HashSet<u128>;
    type Child = SegmentIds;

    fn for_segment(&self, _ord: u32, seg: &SegmentReader) -> tantivy::Result<SegmentIds> {
        Ok(SegmentIds {
            column: seg.fast_fields().ip_addr("eid")?,
            ids: HashSet::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashSet<u128>>) -> tantivy::Result<HashSet<u128>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentIds {
    type Fruit = HashSet<u128>;

    fn collect(&mut self, doc: u32, _score: f32) {
        if let Some(ip) = self.column.first(doc) {
            self.ids.insert(u128::from(ip));
        }
    }

    fn harvest(self) -> HashSet<u128> {
        self.ids
    }
}

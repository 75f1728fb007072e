//! Which events a reader may see: a set of account ids and optionally of regions.
//!
//! Every read of the store takes a [`Scope`] and adds it to the query it runs, so that no path
//! (search, counts, top values, timelines, one event by id, Event-history lookups) can see an
//! event outside it: to a scoped reader, an event of another account does not exist.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query as TQuery, TermSetQuery};

use crate::schema::Fields;

/// The accounts (and regions) a reader may see; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<BTreeSet<String>>,
}

impl Scope {
    /// Every event.
    pub const ALL: Scope = Scope {
        accounts: None,
        regions: None,
    };

    /// A scope from lists; an empty list is read as "no limit" on that side.
    pub fn new(accounts: &[String], regions: &[String]) -> Scope {
        let set = |v: &[String]| {
            (!v.is_empty()).then(|| v.iter().map(|s| s.trim().to_ascii_lowercase()).collect())
        };
        Scope {
            accounts: set(accounts),
            regions: set(regions),
        }
    }

    /// Whether it limits anything.
    pub fn is_all(&self) -> bool {
        self.accounts.is_none() && self.regions.is_none()
    }

    /// Whether an event (or anything tied to one account and region, such as an alert or a
    /// log file) is visible. Unknown sides are visible only to a reader unlimited on that side.
    pub fn permits(&self, account: Option<&str>, region: Option<&str>) -> bool {
        let ok = |set: &Option<BTreeSet<String>>, v: Option<&str>| match (set, v) {
            (None, _) => true,
            (Some(set), Some(v)) => set.contains(&v.to_ascii_lowercase()),
            (Some(_), None) => false,
        };
        ok(&self.accounts, account) && ok(&self.regions, region)
    }

    /// The filter it adds to a query, if any.
    pub(crate) fn clause(&self, f: &Fields) -> Option<Box<dyn TQuery>> {
        let terms = |name: &str, set: &BTreeSet<String>| -> Box<dyn TQuery> {
            let field = f.hot_by_name(name);
            Box::new(TermSetQuery::new(
                set.iter().map(|v| Term::from_field_text(field, v)),
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        if let Some(a) = &self.accounts {
            clauses.push((Occur::Must, terms("account", a)));
        }
        if let Some(r) = &self.regions {
            clauses.push((Occur::Must, terms("awsRegion", r)));
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn TQuery>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_only_what_it_names() {
        let s = Scope::new(&["111111111111".into()], &[]);
        assert!(s.permits(Some("111111111111"), Some("eu-west-1")));
        assert!(!s.permits(Some("222222222222"), Some("eu-west-1")));
        assert!(!s.permits(None, None));
        let r = Scope::new(&[], &["EU-WEST-1".into()]);
        assert!(r.permits(Some("2"), Some("eu-west-1")));
        assert!(!r.permits(Some("2"), Some("us-east-1")));
        assert!(Scope::ALL.permits(None, None));
        assert!(Scope::new(&[], &[]).is_all());
    }
}

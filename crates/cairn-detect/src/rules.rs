//! Rules: the built-in pack and rule directories, parsed and compiled, with what went wrong
//! named by file and rule.
//!
//! Rules are Sigma detection and correlation rules. Those whose `logsource` is
//! `product: aws, service: cloudtrail` watch CloudTrail events; other rules in a directory are
//! skipped and counted, not failed, so that a checkout of SigmaHQ's whole `rules/` tree can be
//! pointed at. Field names are CloudTrail's JSON paths (`userIdentity.arn`).
//!
//! cairn reads two extra keys of a detection rule: `cairn.suppress` (a duration such as `1h`:
//! matches of one group within it become one alert with a count) and `cairn.group-by` (the
//! fields of that group; by default the principal and the account).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rsigma_parser::{CorrelationRule, SigmaCollection, SigmaRule};
use serde::Serialize;

use crate::Severity;

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// Fields that group a detection rule's matches for suppression when it names none.
pub const DEFAULT_GROUP_BY: &[&str] = &["recipientAccountId", "userIdentity.arn"];

/// A rule that could not be loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RuleError {
    /// The file, or `builtin:<file>` for the built-in pack.
    pub file: String,
    /// The rule's title, when the file parsed far enough to have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "{}: rule {r:?}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// Detection or correlation, and which correlation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Detection,
    Correlation(String),
}

impl RuleKind {
    pub fn label(&self) -> &str {
        match self {
            RuleKind::Detection => "detection",
            RuleKind::Correlation(t) => t,
        }
    }
}

/// What cairn knows of a loaded rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// The rule's `id`; its `name` or title when it has none.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub title: String,
    pub level: Severity,
    pub kind: RuleKind,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    pub source: String,
    /// Seconds within which matches of one group become one alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress: Option<u64>,
    pub group_by: Vec<String>,
    /// Whether its matches raise alerts of their own (a detection rule that only feeds a
    /// correlation does not).
    pub alerts: bool,
}

/// A loaded set of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<SigmaRule>,
    pub(crate) correlations: Vec<CorrelationRule>,
    pub info: Vec<RuleInfo>,
    /// Rules in the files read that are not CloudTrail rules, by logsource.
    pub skipped: BTreeMap<String, u64>,
    /// Files read.
    pub files: u64,
}

impl RuleSet {
    /// Loads the built-in pack (unless `builtin` is false) and every `*.yml`/`*.yaml` file
    /// under `dirs`. Rules that fail are left out and returned, each with its file and reason.
    pub fn load(dirs: &[PathBuf], builtin: bool) -> (RuleSet, Vec<RuleError>) {
        let mut docs = Vec::new();
        let mut errors = Vec::new();
        if builtin {
            for (name, text) in BUILTIN {
                docs.push((format!("builtin:{name}"), text.to_string()));
            }
        }
        for d in dirs {
            if d.is_file() {
                read_one(d, &mut docs, &mut errors);
                continue;
            }
            let mut files = Vec::new();
            if let Err(e) = walk(d, &mut files) {
                errors.push(RuleError {
                    file: d.display().to_string(),
                    rule: None,
                    reason: format!("cannot read the rule directory: {e}"),
                });
            }
            files.sort();
            for f in files {
                read_one(&f, &mut docs, &mut errors);
            }
        }
        let (set, more) = RuleSet::from_texts(docs);
        errors.extend(more);
        (set, errors)
    }

    /// The built-in pack alone.
    pub fn builtin() -> (RuleSet, Vec<RuleError>) {
        RuleSet::load(&[], true)
    }

    /// Parses and compiles rule files given as (name, text).
    pub fn from_texts(docs: Vec<(String, String)>) -> (RuleSet, Vec<RuleError>) {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut corr_files = Vec::new();
        for (file, text) in docs {
            set.files += 1;
            let text = match crate::legacy::rewrite(&text) {
                Ok(Some(t)) => t,
                Ok(None) => text,
                Err(reason) => {
                    errors.push(RuleError {
                        file,
                        rule: None,
                        reason,
                    });
                    continue;
                }
            };
            let collection = match rsigma_parser::parse_sigma_yaml(&text) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(RuleError {
                        file,
                        rule: None,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let SigmaCollection {
                rules,
                correlations,
                errors: parse_errors,
                ..
            } = collection;
            for e in parse_errors {
                errors.push(RuleError {
                    file: file.clone(),
                    rule: None,
                    reason: e,
                });
            }
            for mut rule in rules {
                if !is_cloudtrail(&rule) {
                    let ls = &rule.logsource;
                    let label = [&ls.product, &ls.service, &ls.category]
                        .iter()
                        .filter_map(|v| v.as_deref())
                        .collect::<Vec<_>>()
                        .join("/");
                    *set.skipped.entry(label).or_default() += 1;
                    continue;
                }
                if rule.id.is_none() {
                    rule.id = Some(rule.name.clone().unwrap_or_else(|| rule.title.clone()));
                }
                let id = rule.id.clone().unwrap_or_default();
                let fail = |reason: String| RuleError {
                    file: file.clone(),
                    rule: Some(rule.title.clone()),
                    reason,
                };
                if !seen.insert(id.clone()) {
                    errors.push(fail(format!("duplicate rule id {id}")));
                    continue;
                }
                if let Err(e) = rsigma_eval::compile_rule(&rule) {
                    errors.push(fail(e.to_string()));
                    continue;
                }
                let suppress = match rule.custom_attributes.get("cairn.suppress") {
                    None => None,
                    Some(v) => match yaml_str(v).as_deref().map(parse_duration) {
                        Some(Ok(s)) => Some(s),
                        Some(Err(e)) => {
                            errors.push(fail(format!("cairn.suppress: {e}")));
                            continue;
                        }
                        None => {
                            errors.push(fail(
                                "cairn.suppress: expected a duration such as 1h".into(),
                            ));
                            continue;
                        }
                    },
                };
                let group_by = match rule.custom_attributes.get("cairn.group-by") {
                    None => DEFAULT_GROUP_BY.iter().map(|s| s.to_string()).collect(),
                    Some(v) => match yaml_list(v) {
                        Some(l) => l,
                        None => {
                            errors.push(fail("cairn.group-by: expected a list of fields".into()));
                            continue;
                        }
                    },
                };
                set.info.push(RuleInfo {
                    id,
                    name: rule.name.clone(),
                    title: rule.title.clone(),
                    level: level(rule.level),
                    kind: RuleKind::Detection,
                    description: rule.description.clone().unwrap_or_default(),
                    tags: rule.tags.clone(),
                    falsepositives: rule.falsepositives.clone(),
                    source: file.clone(),
                    suppress,
                    group_by,
                    alerts: true,
                });
                set.rules.push(rule);
            }
            for c in correlations {
                corr_files.push((file.clone(), c));
            }
        }

        // Correlations, once every detection rule is known.
        let mut known: HashSet<String> = HashSet::new();
        for r in &set.rules {
            known.extend(r.id.clone());
            known.extend(r.name.clone());
        }
        for (_, c) in &corr_files {
            known.extend(c.id.clone());
            known.extend(c.name.clone());
        }
        let mut feeds_only: HashSet<String> = HashSet::new();
        for (file, mut c) in corr_files {
            if c.id.is_none() {
                c.id = Some(c.name.clone().unwrap_or_else(|| c.title.clone()));
            }
            let id = c.id.clone().unwrap_or_default();
            // Its inputs stay quiet even if it fails below: they exist to feed it.
            if !c.generate {
                feeds_only.extend(c.rules.iter().cloned());
            }
            let fail = |reason: String| RuleError {
                file: file.clone(),
                rule: Some(c.title.clone()),
                reason,
            };
            if let Some(missing) = c.rules.iter().find(|r| !known.contains(*r)) {
                errors.push(fail(format!(
                    "references rule {missing:?}, which is not loaded (not found, not a CloudTrail rule, or failed)"
                )));
                continue;
            }
            if !seen.insert(id.clone()) {
                errors.push(fail(format!("duplicate rule id {id}")));
                continue;
            }
            let mut probe = crate::engine::correlation_engine();
            let compiled = set
                .rules
                .iter()
                .try_for_each(|r| probe.add_rule(r))
                .and_then(|_| probe.add_correlation(&c));
            if let Err(e) = compiled {
                errors.push(fail(e.to_string()));
                continue;
            }
            set.info.push(RuleInfo {
                id,
                name: c.name.clone(),
                title: c.title.clone(),
                level: level(c.level),
                kind: RuleKind::Correlation(c.correlation_type.as_str().to_string()),
                description: c.description.clone().unwrap_or_default(),
                tags: c.tags.clone(),
                falsepositives: c.falsepositives.clone(),
                source: file,
                suppress: Some(c.timespan.seconds),
                group_by: c.group_by.clone(),
                alerts: true,
            });
            set.correlations.push(c);
        }
        for info in &mut set.info {
            if info.kind == RuleKind::Detection
                && (feeds_only.contains(&info.id)
                    || info.name.as_ref().is_some_and(|n| feeds_only.contains(n)))
            {
                info.alerts = false;
            }
        }
        (set, errors)
    }

    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Adds the rules of `other` that this set does not have yet.
    pub fn merge(&mut self, other: RuleSet) {
        let have: HashSet<String> = self.info.iter().map(|i| i.id.clone()).collect();
        for r in other.rules {
            if !r.id.as_ref().is_some_and(|i| have.contains(i)) {
                self.rules.push(r);
            }
        }
        for c in other.correlations {
            if !c.id.as_ref().is_some_and(|i| have.contains(i)) {
                self.correlations.push(c);
            }
        }
        for i in other.info {
            if !have.contains(&i.id) {
                self.info.push(i);
            }
        }
        self.files = self.files.max(other.files);
    }

    pub fn len(&self) -> usize {
        self.info.len()
    }

    /// A rule by id, name or title.
    pub fn find(&self, key: &str) -> Option<&RuleInfo> {
        self.info
            .iter()
            .find(|r| r.id == key || r.name.as_deref() == Some(key))
            .or_else(|| self.info.iter().find(|r| r.title == key))
    }

    /// Only the rule `key` and, for a correlation, the rules it references.
    pub fn only(&self, key: &str) -> Option<RuleSet> {
        let info = self.find(key)?;
        let mut set = RuleSet {
            files: self.files,
            ..RuleSet::default()
        };
        let mut wanted: HashSet<String> = HashSet::from([info.id.clone()]);
        if let Some(c) = self
            .correlations
            .iter()
            .find(|c| c.id.as_deref() == Some(&info.id))
        {
            wanted.extend(c.rules.iter().cloned());
            set.correlations.push(c.clone());
        }
        for r in &self.rules {
            if r.id.as_ref().is_some_and(|i| wanted.contains(i))
                || r.name.as_ref().is_some_and(|n| wanted.contains(n))
            {
                set.rules.push(r.clone());
            }
        }
        set.info = self
            .info
            .iter()
            .filter(|i| {
                wanted.contains(&i.id) || i.name.as_ref().is_some_and(|n| wanted.contains(n))
            })
            .cloned()
            .collect();
        Some(set)
    }
}

fn read_one(path: &Path, docs: &mut Vec<(String, String)>, errors: &mut Vec<RuleError>) {
    match std::fs::read_to_string(path) {
        Ok(t) => docs.push((path.display().to_string(), t)),
        Err(e) => errors.push(RuleError {
            file: path.display().to_string(),
            rule: None,
            reason: format!("cannot read: {e}"),
        }),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
    Ok(())
}

/// `product: aws, service: cloudtrail`; older SigmaHQ rules leave the product out.
fn is_cloudtrail(rule: &SigmaRule) -> bool {
    let ls = &rule.logsource;
    ls.product
        .as_deref()
        .is_none_or(|p| p.eq_ignore_ascii_case("aws"))
        && ls
            .service
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("cloudtrail"))
}

fn level(l: Option<rsigma_parser::Level>) -> Severity {
    use rsigma_parser::Level as L;
    match l {
        Some(L::Informational) => Severity::Informational,
        Some(L::Low) => Severity::Low,
        None | Some(L::Medium) => Severity::Medium,
        Some(L::High) => Severity::High,
        Some(L::Critical) => Severity::Critical,
    }
}

fn yaml_str(v: &yaml_serde::Value) -> Option<String> {
    match v {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn yaml_list(v: &yaml_serde::Value) -> Option<Vec<String>> {
    match v {
        yaml_serde::Value::Sequence(s) => s.iter().map(yaml_str).collect(),
        yaml_serde::Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// A duration in the query language's syntax (`30s`, `10m`, `1h`, `2d`, `1d12h`) as seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let d = cairn_query::time::parse_duration(s).map_err(|e| e.to_string())?;
    Ok(d.whole_seconds().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(items: &[(&str, &str)]) -> (RuleSet, Vec<RuleError>) {
        RuleSet::from_texts(
            items
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    const ONE: &str = "title: Key pair deleted\nid: 11111111-1111-1111-1111-111111111111\n\
        logsource: {product: aws, service: cloudtrail}\n\
        detection:\n  sel:\n    eventName: DeleteKeyPair\n  condition: sel\nlevel: low\n";

    #[test]
    fn loads_cloudtrail_rules_and_skips_others() {
        let other = "title: Windows\nlogsource: {product: windows, category: process_creation}\n\
            detection:\n  sel:\n    Image: x\n  condition: sel\n";
        let (set, errors) = texts(&[("a.yml", ONE), ("b.yml", other)]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.len(), 1);
        assert_eq!(set.info[0].level, Severity::Low);
        assert_eq!(set.skipped.get("windows/process_creation"), Some(&1));
    }

    #[test]
    fn names_the_file_and_rule_of_each_failure() {
        let bad_condition = ONE.replace("condition: sel", "condition: sel and nothere");
        let bad_suppress = format!("{ONE}cairn.suppress: soon\n").replace("1111", "2222");
        let (set, errors) = texts(&[
            ("bad.yml", &bad_condition),
            ("yaml.yml", "title: [unclosed"),
            ("sup.yml", &bad_suppress),
        ]);
        assert!(set.is_empty());
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("bad.yml: rule \"Key pair deleted\": "),
            "{text:?}"
        );
        assert!(text[1].starts_with("yaml.yml: "), "{text:?}");
        assert!(text[2].contains("cairn.suppress"), "{text:?}");
    }

    #[test]
    fn a_correlation_must_reference_loaded_rules() {
        let corr = "title: Many\ncorrelation:\n  type: event_count\n  rules: [nope]\n  \
            group-by: [userIdentity.arn]\n  timespan: 5m\n  condition: {gte: 3}\n";
        let (_, errors) = texts(&[("a.yml", ONE), ("c.yml", corr)]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("\"nope\""), "{}", errors[0]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5y").is_err());
    }
}

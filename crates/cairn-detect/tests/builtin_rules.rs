//! The built-in rule pack (`rules/*.yml`) against its fixtures.
//!
//! Every rule must parse, compile, carry the metadata an alert shows, and fire on its fixtures
//! and only there. Fixtures live in `tests/fixtures/rules/<rule-name>/`, one CloudTrail record
//! a line:
//! - detection rule: every record of `fires*.jsonl` must match, no record of `misses*.jsonl`
//!   may;
//! - correlation: each file is one scenario in time order, fed to a fresh engine holding the
//!   whole pack at the records' `eventTime`; a `fires*` scenario must raise the correlation, a
//!   `misses*` scenario must not.
//!
//! The engine is rsigma's, configured as cairn runs it: `eventTime` as the clock, and detection
//! results only for rules that are not mere inputs of a correlation (`generate: false`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult, JsonEvent};
use rsigma_parser::{CorrelationRule, SigmaCollection, SigmaRule, Status, lint, parse_sigma_yaml};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The extra top-level keys cairn reads; anything else outside the Sigma schema is a typo.
const CAIRN_KEYS: &[&str] = &["cairn.suppress", "cairn.group-by"];

/// Fields every CloudTrail record has (CLOUDTRAIL.md §2). `requestID` is left out: console
/// sign-in records do not carry one.
const RECORD_FIELDS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "userIdentity",
    "eventID",
    "eventType",
    "recipientAccountId",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    crate_dir().join("tests/fixtures/rules")
}

/// A rule and the file it came from.
struct Loaded<T> {
    file: String,
    rule: T,
}

struct Pack {
    rules: Vec<Loaded<SigmaRule>>,
    correlations: Vec<Loaded<CorrelationRule>>,
}

impl Pack {
    fn load() -> Pack {
        let dir = crate_dir().join("rules");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no rule files in {}", dir.display());
        let mut pack = Pack {
            rules: Vec::new(),
            correlations: Vec::new(),
        };
        for path in files {
            let file = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            let c = parse_sigma_yaml(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(c.errors.is_empty(), "{file}: {:?}", c.errors);
            assert!(
                c.filters.is_empty(),
                "{file}: filters are not part of the pack"
            );
            assert!(
                !c.rules.is_empty() || !c.correlations.is_empty(),
                "{file}: no rule"
            );
            for rule in c.rules {
                pack.rules.push(Loaded {
                    file: file.clone(),
                    rule,
                });
            }
            for rule in c.correlations {
                pack.correlations.push(Loaded {
                    file: file.clone(),
                    rule,
                });
            }
        }
        pack
    }

    /// The id of every rule, by name.
    fn ids(&self) -> HashMap<String, String> {
        let rules = self.rules.iter().map(|r| (&r.rule.name, &r.rule.id));
        let corrs = self.correlations.iter().map(|c| (&c.rule.name, &c.rule.id));
        rules
            .chain(corrs)
            .filter_map(|(n, i)| Some((n.clone()?, i.clone()?)))
            .collect()
    }

    /// The pack as one collection for rsigma.
    ///
    /// Correlations name the rules they read; here the names become ids, because rsigma 0.23
    /// silences a correlation's input rules (`generate: false`) only when the correlation refers
    /// to them by id: `CorrelationEngine::filter_detections` compares each result's rule id
    /// with the references as written. cairn's loader must do the same.
    fn collection(&self) -> SigmaCollection {
        let ids = self.ids();
        let mut c = SigmaCollection::new();
        c.rules = self.rules.iter().map(|r| r.rule.clone()).collect();
        c.correlations = self
            .correlations
            .iter()
            .map(|l| {
                let mut corr = l.rule.clone();
                for r in &mut corr.rules {
                    if let Some(id) = ids.get(r.as_str()) {
                        r.clone_from(id);
                    }
                }
                corr
            })
            .collect();
        c
    }

    /// Ids of the detection rules that only feed correlations and raise no alert of their own.
    fn feeds_only(&self) -> HashSet<String> {
        let ids = self.ids();
        self.correlations
            .iter()
            .filter(|c| !c.rule.generate)
            .flat_map(|c| c.rule.rules.iter())
            .map(|r| ids.get(r).cloned().unwrap_or_else(|| r.clone()))
            .collect()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        let rules = self.rules.iter().filter_map(|r| r.rule.name.as_deref());
        let corrs = self
            .correlations
            .iter()
            .filter_map(|c| c.rule.name.as_deref());
        rules.chain(corrs)
    }
}

/// An engine holding the whole pack, configured as cairn runs it.
fn engine(pack: &Pack) -> CorrelationEngine {
    let mut engine = CorrelationEngine::new(CorrelationConfig {
        timestamp_fields: vec!["eventTime".into()],
        emit_detections: false,
        ..CorrelationConfig::default()
    });
    engine
        .add_collection(&pack.collection())
        .expect("the pack compiles");
    engine
}

/// One fixture record.
struct Record {
    at: String,
    event: Value,
    time: i64,
}

/// The fixture files of a rule whose names start with `prefix`, sorted.
fn fixture_files(rule: &str, prefix: &str) -> Vec<PathBuf> {
    let dir = fixtures_dir().join(rule);
    let Ok(rd) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".jsonl")
        })
        .collect();
    files.sort();
    files
}

fn read_records(path: &Path) -> Vec<Record> {
    let shown = path
        .strip_prefix(fixtures_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let records: Vec<Record> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let at = format!("{shown}:{}", i + 1);
            let event: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: not JSON: {e}"));
            for f in RECORD_FIELDS {
                assert!(event.get(f).is_some(), "{at}: no {f}");
            }
            let when = event["eventTime"].as_str().unwrap_or_default();
            let time = OffsetDateTime::parse(when, &Rfc3339)
                .unwrap_or_else(|e| panic!("{at}: eventTime {when:?}: {e}"))
                .unix_timestamp();
            Record { at, event, time }
        })
        .collect();
    assert!(!records.is_empty(), "{shown}: no records");
    let mut seen = HashSet::new();
    for r in &records {
        let id = r.event["eventID"].as_str().unwrap_or_default();
        assert!(seen.insert(id.to_string()), "{}: eventID {id} again", r.at);
    }
    records
}

fn produced(results: &[EvaluationResult], id: &str) -> bool {
    results
        .iter()
        .any(|r| r.header.rule_id.as_deref() == Some(id))
}

#[test]
fn the_pack_parses_and_compiles() {
    let pack = Pack::load();
    assert!(!pack.rules.is_empty() && !pack.correlations.is_empty());
    engine(&pack);
}

/// rsigma's linter (the Sigma specification's checks): no errors, no warnings.
#[test]
fn the_pack_passes_the_sigma_linter() {
    let dir = crate_dir().join("rules");
    let mut problems = Vec::new();
    for e in fs::read_dir(&dir).expect("the rules directory") {
        let path = e.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a readable rule file");
        for w in lint::lint_yaml_str(&text) {
            if matches!(w.severity, lint::Severity::Error | lint::Severity::Warning) {
                problems.push(format!("{}: {w}", path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// `30s`, `10m`, `1h`, `2d`: the durations cairn's loader reads.
fn is_duration(s: &str) -> bool {
    let Some(digits) = s.strip_suffix(['s', 'm', 'h', 'd']) else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && digits != "0"
}

/// The metadata detection and correlation rules share.
struct Meta<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    title: &'a str,
    status: Option<Status>,
    description: Option<&'a str>,
    author: Option<&'a str>,
    date: Option<&'a str>,
    tags: &'a [String],
    falsepositives: &'a [String],
    has_level: bool,
}

impl<'a> From<&'a SigmaRule> for Meta<'a> {
    fn from(r: &'a SigmaRule) -> Self {
        Meta {
            id: r.id.as_deref(),
            name: r.name.as_deref(),
            title: &r.title,
            status: r.status,
            description: r.description.as_deref(),
            author: r.author.as_deref(),
            date: r.date.as_deref(),
            tags: &r.tags,
            falsepositives: &r.falsepositives,
            has_level: r.level.is_some(),
        }
    }
}

impl<'a> From<&'a CorrelationRule> for Meta<'a> {
    fn from(c: &'a CorrelationRule) -> Self {
        Meta {
            id: c.id.as_deref(),
            name: c.name.as_deref(),
            title: &c.title,
            status: c.status,
            description: c.description.as_deref(),
            author: c.author.as_deref(),
            date: c.date.as_deref(),
            tags: &c.tags,
            falsepositives: &c.falsepositives,
            has_level: c.level.is_some(),
        }
    }
}

impl Meta<'_> {
    /// Pushes what is missing or malformed to `out`, prefixed with `at`.
    fn check(&self, at: &str, out: &mut Vec<String>) {
        let mut fail = |what: &str| out.push(format!("{at}: {what}"));
        if !self.id.is_some_and(is_uuid) {
            fail("id must be a lowercase UUID");
        }
        if !self.name.is_some_and(is_kebab) {
            fail("name must be kebab-case");
        }
        if self.title.trim().is_empty() {
            fail("no title");
        }
        if !matches!(self.status, Some(Status::Stable | Status::Test)) {
            fail("status must be stable or test");
        }
        match self.description.map(str::trim) {
            None | Some("") => fail("no description"),
            Some(d) => {
                let sentences = d.matches(". ").count() + usize::from(d.ends_with('.'));
                if !(1..=3).contains(&sentences) {
                    fail(&format!(
                        "description has {sentences} sentences, not 1 to 3"
                    ));
                }
            }
        }
        if self.author != Some("cairn") {
            fail("author must be cairn");
        }
        if !self.date.is_some_and(is_date) {
            fail("date must be YYYY-MM-DD");
        }
        if !self.tags.iter().any(|t| t.starts_with("attack.t")) {
            fail("no ATT&CK technique tag (attack.tNNNN)");
        }
        for t in self.tags {
            let ok = t
                .strip_prefix("attack.")
                .is_some_and(|rest| rest.split(['-', '.']).all(is_kebab));
            if !ok {
                fail(&format!("tag {t:?} is not an attack.* tag"));
            }
        }
        if self.falsepositives.iter().all(|f| f.trim().is_empty()) {
            fail("no falsepositives");
        }
        if !self.has_level {
            fail("no level");
        }
    }
}

#[test]
fn rules_carry_the_required_metadata() {
    let pack = Pack::load();
    let mut problems = Vec::new();
    for Loaded { file, rule: r } in &pack.rules {
        let at = format!("{file}: {:?}", r.title);
        Meta::from(r).check(&at, &mut problems);
        let ls = &r.logsource;
        if ls.product.as_deref() != Some("aws") || ls.service.as_deref() != Some("cloudtrail") {
            problems.push(format!("{at}: logsource must be aws/cloudtrail"));
        }
        for key in r.custom_attributes.keys() {
            if !CAIRN_KEYS.contains(&key.as_str()) {
                // rsigma.* keys in particular: rsigma 0.23 copies rsigma.suppress and
                // rsigma.action of any rule into the engine-wide defaults.
                problems.push(format!("{at}: unknown key {key:?}"));
            }
        }
        let suppress = r.custom_attributes.get("cairn.suppress");
        if let Some(v) = suppress
            && !v.as_str().is_some_and(is_duration)
        {
            problems.push(format!(
                "{at}: cairn.suppress must be a duration such as 1h"
            ));
        }
        if let Some(v) = r.custom_attributes.get("cairn.group-by") {
            let fields = v.as_sequence().map(|s| {
                s.iter()
                    .map(|f| f.as_str().filter(|f| !f.is_empty()))
                    .collect::<Option<Vec<_>>>()
            });
            if !matches!(fields, Some(Some(ref f)) if !f.is_empty()) {
                problems.push(format!("{at}: cairn.group-by must be a list of fields"));
            }
            if suppress.is_none() {
                problems.push(format!("{at}: cairn.group-by without cairn.suppress"));
            }
        }
    }
    let rule_names: HashSet<&str> = pack
        .rules
        .iter()
        .filter_map(|r| r.rule.name.as_deref())
        .collect();
    for Loaded { file, rule: c } in &pack.correlations {
        let at = format!("{file}: {:?}", c.title);
        Meta::from(c).check(&at, &mut problems);
        for r in &c.rules {
            if !rule_names.contains(r.as_str()) {
                problems.push(format!(
                    "{at}: reads {r:?}, which is not the name of a detection rule of the pack"
                ));
            }
        }
        if c.group_by.is_empty() {
            problems.push(format!("{at}: no group-by"));
        }
        if let Some(key) = c.custom_attributes.keys().next() {
            problems.push(format!("{at}: unknown key {key:?}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn ids_and_names_are_unique() {
    let pack = Pack::load();
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let all = pack
        .rules
        .iter()
        .map(|r| (&r.file, &r.rule.id, &r.rule.name))
        .chain(
            pack.correlations
                .iter()
                .map(|c| (&c.file, &c.rule.id, &c.rule.name)),
        );
    for (file, id, name) in all {
        if let Some(id) = id {
            assert!(ids.insert(id.clone()), "{file}: id {id} again");
        }
        if let Some(name) = name {
            assert!(names.insert(name.clone()), "{file}: name {name} again");
        }
    }
}

#[test]
fn every_rule_has_fixtures_and_every_fixture_a_rule() {
    let pack = Pack::load();
    let names: BTreeSet<&str> = pack.names().collect();
    let mut problems = Vec::new();
    for name in &names {
        if fixture_files(name, "fires").is_empty() {
            problems.push(format!("{name}: no fires*.jsonl"));
        }
        if fixture_files(name, "misses").is_empty() {
            problems.push(format!("{name}: no misses*.jsonl"));
        }
    }
    for e in fs::read_dir(fixtures_dir()).expect("the fixtures directory") {
        let dir = e.expect("a directory entry").file_name();
        let dir = dir.to_string_lossy();
        if !names.contains(dir.as_ref()) {
            problems.push(format!("fixtures/rules/{dir}: no rule of that name"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn detection_rules_fire_on_their_fixtures_and_only_there() {
    let pack = Pack::load();
    let feeds_only = pack.feeds_only();
    let mut problems = Vec::new();
    for Loaded { rule, .. } in &pack.rules {
        let (Some(name), Some(id)) = (rule.name.as_deref(), rule.id.as_deref()) else {
            continue;
        };
        let alerts = !feeds_only.contains(id);
        for path in fixture_files(name, "fires") {
            let mut engine = engine(&pack);
            for r in read_records(&path) {
                let event = JsonEvent::borrow(&r.event);
                if !produced(&engine.evaluate(&event), id) {
                    problems.push(format!("{}: {name} does not match", r.at));
                }
                let out = engine.process_event_at(&event, r.time);
                // cairn's suppression reads cairn.* from the result, as rsigma passes it on.
                if let Some(hit) = out.iter().find(|d| d.header.rule_id.as_deref() == Some(id)) {
                    for key in CAIRN_KEYS {
                        let want = rule
                            .custom_attributes
                            .get(*key)
                            .map(|v| serde_json::to_value(v).expect("YAML values convert to JSON"));
                        let got = hit.header.custom_attributes.get(*key).cloned();
                        if want != got {
                            problems.push(format!("{}: {name}: {key} not carried", r.at));
                        }
                    }
                }
                if produced(&out, id) != alerts {
                    problems.push(if alerts {
                        format!("{}: {name} matches but raises nothing", r.at)
                    } else {
                        format!("{}: {name} only feeds a correlation, yet raises", r.at)
                    });
                }
            }
        }
        for path in fixture_files(name, "misses") {
            let engine = engine(&pack);
            for r in read_records(&path) {
                if produced(&engine.evaluate(&JsonEvent::borrow(&r.event)), id) {
                    problems.push(format!("{}: {name} matches", r.at));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn correlations_fire_on_their_scenarios_and_only_there() {
    let pack = Pack::load();
    let feeds_only = pack.feeds_only();
    let mut problems = Vec::new();
    for Loaded { rule, .. } in &pack.correlations {
        let (Some(name), Some(id)) = (rule.name.as_deref(), rule.id.as_deref()) else {
            continue;
        };
        let scenarios = fixture_files(name, "fires")
            .into_iter()
            .map(|p| (true, p))
            .chain(
                fixture_files(name, "misses")
                    .into_iter()
                    .map(|p| (false, p)),
            );
        for (fires, path) in scenarios {
            let shown = path.strip_prefix(fixtures_dir()).unwrap_or(&path).display();
            let mut engine = engine(&pack);
            let mut raised = false;
            let mut last = i64::MIN;
            for r in read_records(&path) {
                assert!(r.time >= last, "{}: earlier than the record before", r.at);
                last = r.time;
                let out = engine.process_event_at(&JsonEvent::borrow(&r.event), r.time);
                raised |= produced(&out, id);
                for d in out.iter().filter(|d| d.is_detection()) {
                    if d.header
                        .rule_id
                        .as_ref()
                        .is_some_and(|i| feeds_only.contains(i))
                    {
                        problems.push(format!(
                            "{}: {:?} only feeds a correlation, yet raises",
                            r.at, d.header.rule_title
                        ));
                    }
                }
            }
            match (fires, raised) {
                (true, false) => problems.push(format!("{shown}: {name} is not raised")),
                (false, true) => problems.push(format!("{shown}: {name} is raised")),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// rsigma 0.23 leaves a correlation's input rules audible when the correlation refers to them
/// by name, which is why [`Pack::collection`] rewrites names to ids. When this fails, rsigma
/// resolves names itself and the rewrite can go.
#[test]
fn rsigma_silences_correlation_inputs_only_when_referred_to_by_id() {
    let yaml = |reference: &str| {
        format!(
            "title: Base\nid: 00000000-0000-4000-8000-000000000001\nname: base\n\
             logsource: {{product: aws, service: cloudtrail}}\n\
             detection:\n  sel:\n    eventName: X\n  condition: sel\n\
             ---\ntitle: Corr\nid: 00000000-0000-4000-8000-000000000002\nname: corr\n\
             correlation:\n  type: event_count\n  rules: [{reference}]\n  group-by: [userIdentity.arn]\n  \
             timespan: 5m\n  condition: {{gte: 2}}\n"
        )
    };
    let event = serde_json::json!({"eventName": "X", "userIdentity": {"arn": "a"}});
    let detections = |reference: &str| {
        let mut engine = CorrelationEngine::new(CorrelationConfig {
            emit_detections: false,
            ..CorrelationConfig::default()
        });
        let c = parse_sigma_yaml(&yaml(reference)).expect("parses");
        engine.add_collection(&c).expect("compiles");
        engine
            .process_event_at(&JsonEvent::borrow(&event), 1_000)
            .iter()
            .filter(|r| r.is_detection())
            .count()
    };
    assert_eq!(detections("base"), 1, "by name");
    assert_eq!(
        detections("00000000-0000-4000-8000-000000000001"),
        0,
        "by id"
    );
}

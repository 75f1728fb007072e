//! The built-in pack as cairn runs it (its own loader, `Detector` and `Alerter`, with
//! suppression and quiet correlation inputs), over every fixture: each `fires*` scenario raises
//! the rule's alert (or, for a correlation's input, matches), each `misses*` scenario does not.

use std::path::Path;

use cairn_detect::{Alerter, Detector, RuleSet};
use serde_json::Value;

fn scenario(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_fixture_through_cairns_own_pipeline() {
    let (set, errors) = RuleSet::builtin();
    assert!(errors.is_empty(), "{errors:?}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let mut checked = 0;
    for rule_dir in std::fs::read_dir(&dir).unwrap() {
        let rule_dir = rule_dir.unwrap().path();
        let name = rule_dir.file_name().unwrap().to_string_lossy().to_string();
        let info = set
            .find(&name)
            .unwrap_or_else(|| panic!("fixtures for {name}, which the pack does not have"));
        for f in std::fs::read_dir(&rule_dir).unwrap() {
            let f = f.unwrap().path();
            let file = f.file_name().unwrap().to_string_lossy().to_string();
            let fires = file.starts_with("fires");
            let detector = Detector::new(&set);
            let mut alerter = Alerter::new(&set);
            let mut matched = false;
            let mut findings = Vec::new();
            for ev in scenario(&f) {
                if let Some(found) = detector.inspect(&ev) {
                    matched |= found
                        .results
                        .iter()
                        .any(|r| r.header.rule_id.as_deref() == Some(info.id.as_str()));
                    findings.push(found);
                }
            }
            let alerted = alerter
                .feed(findings)
                .iter()
                .any(|(a, _)| a.rule_id == info.id);
            let hit = if info.alerts { alerted } else { matched };
            assert_eq!(hit, fires, "{name}/{file}: fired {hit}");
            if info.alerts && !fires {
                assert!(!alerted);
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} scenarios");
}

//! Sigma 1 aggregations, still used by SigmaHQ CloudTrail rules:
//! `condition: selection | count(eventName) by userIdentity.arn > 6` with `timeframe: 5m`.
//!
//! rsigma reads Sigma 2, where the same thing is a correlation rule. A rule with such a
//! condition is rewritten as the Sigma 2 specification describes it: a detection rule for the
//! search part (which raises nothing itself) and an `event_count` (or, with a field,
//! `value_count`) correlation that carries the original id, title and level.

use yaml_serde::{Mapping, Value};

/// Without `timeframe`, the window a legacy aggregation counts in.
pub const DEFAULT_TIMEFRAME: &str = "1h";

/// The documents of `text` with every legacy aggregation rewritten; `None` when there is none.
pub fn rewrite(text: &str) -> Result<Option<String>, String> {
    if !text.contains('|') {
        return Ok(None);
    }
    let mut docs = Vec::new();
    let mut changed = false;
    for d in yaml_serde::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(d).map_err(|e| e.to_string())?;
        match aggregation(&v)? {
            Some(agg) => {
                let (base, corr) = split(v, agg)?;
                docs.push(base);
                docs.push(corr);
                changed = true;
            }
            None => docs.push(v),
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&yaml_serde::to_string(&d).map_err(|e| e.to_string())?);
    }
    Ok(Some(out))
}

#[derive(Debug, PartialEq)]
struct Aggregation {
    search: String,
    field: Option<String>,
    by: Option<String>,
    op: &'static str,
    value: u64,
}

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn aggregation(doc: &Value) -> Result<Option<Aggregation>, String> {
    let Some(cond) = doc.get("detection").and_then(|d| d.get("condition")) else {
        return Ok(None);
    };
    let cond = match cond {
        Value::String(s) => s.as_str(),
        Value::Sequence(s) if s.len() == 1 => s[0].as_str().unwrap_or(""),
        _ => return Ok(None),
    };
    let Some((search, agg)) = cond.split_once('|') else {
        return Ok(None);
    };
    parse(search.trim(), agg.trim()).map(Some)
}

/// `count(field) by group > 5` and its variants.
fn parse(search: &str, agg: &str) -> Result<Aggregation, String> {
    let bad = || {
        format!(
            "the Sigma 1 aggregation `| {agg}` is not supported (only `count([field]) [by field] <op> N`); write it as a correlation rule"
        )
    };
    let rest = agg.strip_prefix("count(").ok_or_else(bad)?;
    let (field, rest) = rest.split_once(')').ok_or_else(bad)?;
    let field = (!field.trim().is_empty()).then(|| field.trim().to_string());
    let rest = rest.trim();
    let (by, rest) = match rest.strip_prefix("by ") {
        Some(r) => {
            let r = r.trim_start();
            let end = r.find(char::is_whitespace).ok_or_else(bad)?;
            (Some(r[..end].to_string()), r[end..].trim())
        }
        None => (None, rest),
    };
    let (op, n) = [
        (">=", "gte"),
        ("<=", "lte"),
        (">", "gt"),
        ("<", "lt"),
        ("==", "eq"),
        ("=", "eq"),
    ]
    .iter()
    .find_map(|(sym, name)| rest.strip_prefix(sym).map(|n| (*name, n.trim())))
    .ok_or_else(bad)?;
    let value = n.parse().map_err(|_| bad())?;
    Ok(Aggregation {
        search: search.to_string(),
        field,
        by,
        op,
        value,
    })
}

fn split(doc: Value, agg: Aggregation) -> Result<(Value, Value), String> {
    let Value::Mapping(mut base) = doc else {
        return Err("a rule is not a mapping".into());
    };
    let get = |m: &Mapping, k: &str| m.get(key(k)).cloned();
    let title = get(&base, "title")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_default();
    let id = get(&base, "id")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_else(|| title.clone());
    let name = get(&base, "name")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_else(|| id.clone());
    let mut timeframe = base.remove(key("timeframe"));
    if let Some(Value::Mapping(det)) = base.get_mut(key("detection")) {
        det.insert(key("condition"), Value::String(agg.search.clone()));
        if let Some(t) = det.remove(key("timeframe")) {
            timeframe = Some(t);
        }
    }
    let base_name = format!("{name}-events");
    // The correlation takes the rule's identity and metadata; the detection part gets its own.
    let mut corr = Mapping::new();
    for k in [
        "title",
        "id",
        "status",
        "description",
        "references",
        "author",
        "date",
        "modified",
        "tags",
        "falsepositives",
        "level",
    ] {
        if let Some(v) = get(&base, k) {
            corr.insert(key(k), v);
        }
    }
    corr.insert(key("name"), Value::String(name));
    base.insert(key("id"), Value::String(format!("{id}-events")));
    base.insert(key("name"), Value::String(base_name.clone()));
    base.insert(key("title"), Value::String(format!("{title} (events)")));
    base.insert(key("level"), Value::String("informational".into()));
    let mut c = Mapping::new();
    c.insert(
        key("type"),
        Value::String(if agg.field.is_some() {
            "value_count".into()
        } else {
            "event_count".into()
        }),
    );
    c.insert(
        key("rules"),
        Value::Sequence(vec![Value::String(base_name)]),
    );
    if let Some(b) = &agg.by {
        c.insert(
            key("group-by"),
            Value::Sequence(vec![Value::String(b.clone())]),
        );
    }
    c.insert(
        key("timespan"),
        timeframe.unwrap_or_else(|| Value::String(DEFAULT_TIMEFRAME.into())),
    );
    let mut cond = Mapping::new();
    cond.insert(key(agg.op), Value::Number(agg.value.into()));
    if let Some(f) = &agg.field {
        cond.insert(key("field"), Value::String(f.clone()));
    }
    c.insert(key("condition"), Value::Mapping(cond));
    corr.insert(key("correlation"), Value::Mapping(c));
    Ok((Value::Mapping(base), Value::Mapping(corr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_in_use() {
        let a = parse("selection", "count(eventName) by userIdentity.arn > 6").unwrap();
        assert_eq!(a.field.as_deref(), Some("eventName"));
        assert_eq!(a.by.as_deref(), Some("userIdentity.arn"));
        assert_eq!((a.op, a.value), ("gt", 6));
        let a = parse("sel", "count() > 10").unwrap();
        assert_eq!((a.field, a.by, a.op, a.value), (None, None, "gt", 10));
        assert!(parse("a", "near b").unwrap_err().contains("near b"));
    }

    #[test]
    fn a_rewritten_rule_is_a_detection_and_a_correlation() {
        let text = "title: Many secrets\nid: abc\nlevel: medium\n\
            logsource: {product: aws, service: cloudtrail}\n\
            detection:\n  selection:\n    eventName: GetSecretValue\n  \
            condition: selection | count() by userIdentity.arn > 20\ntimeframe: 10m\n";
        let out = rewrite(text).unwrap().unwrap();
        let c = rsigma_parser::parse_sigma_yaml(&out).unwrap();
        assert!(c.errors.is_empty(), "{:?}\n{out}", c.errors);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.correlations.len(), 1);
        assert_eq!(c.correlations[0].id.as_deref(), Some("abc"));
        assert_eq!(c.correlations[0].timespan.seconds, 600);
        assert_eq!(
            c.correlations[0].group_by,
            vec!["userIdentity.arn".to_string()]
        );
        assert!(
            rewrite("title: x\ndetection:\n  condition: a or b\n")
                .unwrap()
                .is_none()
        );
    }
}

//! Lowering the query AST (`cairn-query`, which knows no schema) to tantivy queries.
//!
//! How a field is matched depends on what it is:
//! - **typed attributes** ([`crate::schema::HOT`]): `eventTime` is a date (a day, a second, or
//!   a range), `readOnly` a boolean, `sourceIPAddress` an IP (exact, CIDR, range) or, for the
//!   service names AWS puts there, text; keyword attributes match their whole value,
//!   case-insensitively, and wildcards apply to the whole value (`eventName:Delete*`);
//! - **any other JSON path** matches its value's words in order (`userAgent:aws-cli` matches
//!   `aws-cli/2.15 Python/3.11`), numbers and booleans by value, wildcards word by word;
//! - **bare words** search every value of the record.
//!
//! A `json.` prefix on a field is dropped (Loggly writes `json.eventName`), and
//! `logtype:cloudtrail` matches every event, so Loggly queries run verbatim.

use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;

use cairn_query::{Bound as QBound, Query};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, InvertedIndexRangeQuery, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Type};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Index, Term};
use time::{Date, OffsetDateTime, Time};

use crate::StoreError;
use crate::doc::to_v6;
use crate::schema::{FULL_TEXT_TOKENIZER, Fields, KEYWORD_TOKENIZER, Kind, TEXT_TOKENIZER};

/// Paths that are not in the record but derived by cairn, or short aliases.
const ALIASES: &[(&str, &str)] = &[("account", "recipientAccountId"), ("region", "awsRegion")];
/// Typed attributes that exist only in cairn (no JSON path behind them).
const DERIVED: &[&str] = &["principal", "username", "cairn.object", "cairn.ingestTime"];

/// The field of events' verification state (`crate::integrity`).
pub const INTEGRITY_FIELD: &str = "cairn.integrity";

/// Lowers queries against one index's schema and tokenizers.
pub struct Lowerer {
    fields: Fields,
    text: TextAnalyzer,
    full_text: TextAnalyzer,
    keyword: TextAnalyzer,
    now: OffsetDateTime,
    /// Where `cairn.integrity` is read from, loaded when a query first names it.
    data_dir: Option<std::path::PathBuf>,
    integrity: Option<crate::integrity::Integrity>,
}

type Q = Box<dyn TQuery>;

fn err(msg: impl Into<String>) -> StoreError {
    StoreError::Query(msg.into())
}

/// The field name as a path in the record: `json.` dropped, aliases resolved.
pub fn normalize_field(field: &str) -> &str {
    let f = field.strip_prefix("json.").unwrap_or(field);
    ALIASES
        .iter()
        .find(|(a, _)| *a == f)
        .map(|(_, p)| *p)
        .unwrap_or(f)
}

/// Whether a field is derived by cairn rather than found in records.
pub fn is_derived(field: &str) -> bool {
    DERIVED.contains(&normalize_field(field))
        || normalize_field(field) == "logtype"
        || normalize_field(field) == INTEGRITY_FIELD
}

impl Lowerer {
    pub fn new(index: &Index, fields: &Fields, now: OffsetDateTime) -> Lowerer {
        let get = |name| {
            index
                .tokenizers()
                .get(name)
                .expect("cairn tokenizers are registered")
        };
        Lowerer {
            fields: fields.clone(),
            text: get(TEXT_TOKENIZER),
            full_text: get(FULL_TEXT_TOKENIZER),
            keyword: get(KEYWORD_TOKENIZER),
            now,
            data_dir: None,
            integrity: None,
        }
    }

    /// Lets queries name `cairn.integrity`, read from the store at `dir`.
    pub fn with_data_dir(mut self, dir: &std::path::Path) -> Lowerer {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// `cairn.integrity:STATE`: the events of the objects in that state (`unverified`: of
    /// every object not verified or failed).
    fn integrity(&mut self, value: &str) -> Result<Q, StoreError> {
        let Some(state) = crate::integrity::State::parse(value) else {
            return Err(err(format!(
                "{INTEGRITY_FIELD} is verified, failed or unverified, not \"{value}\""
            )));
        };
        if self.integrity.is_none() {
            self.integrity = Some(match &self.data_dir {
                Some(d) => crate::integrity::Integrity::load(d)?,
                None => crate::integrity::Integrity::default(),
            });
        }
        let integrity = self.integrity.as_ref().expect("loaded");
        let field = self.fields.hot_by_name("cairn.object");
        let mut terms = |s: crate::integrity::State| -> Vec<Term> {
            integrity
                .objects_in(s)
                .flat_map(|o| Self::tokens(&mut self.keyword, o))
                .map(|t| Term::from_field_text(field, &t))
                .collect()
        };
        use crate::integrity::State;
        Ok(match state {
            State::Verified | State::Failed => Box::new(TermSetQuery::new(terms(state))),
            State::Unverified => {
                let mut known = terms(State::Verified);
                known.extend(terms(State::Failed));
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery) as Q),
                    (Occur::MustNot, Box::new(TermSetQuery::new(known))),
                ]))
            }
        })
    }

    /// Lowers a whole query.
    pub fn lower(&mut self, q: &Query) -> Result<Q, StoreError> {
        match q {
            Query::All => Ok(Box::new(AllQuery)),
            Query::Term { field, value } => self.text_match(field.as_deref(), value),
            Query::Phrase { field, text } => self.text_match(field.as_deref(), text),
            Query::Wildcard { field, pattern } => self.wildcard(field.as_deref(), pattern),
            Query::Exists { field } => Ok(self.exists(field)),
            Query::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper),
            Query::And(items) => self.boolean(items, Occur::Must),
            Query::Or(items) => self.boolean(items, Occur::Should),
            Query::Not(inner) => {
                let inner = self.lower(inner)?;
                Ok(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery) as Q),
                    (Occur::MustNot, inner),
                ])))
            }
        }
    }

    fn boolean(&mut self, items: &[Query], occur: Occur) -> Result<Q, StoreError> {
        let mut clauses: Vec<(Occur, Q)> = Vec::new();
        for item in items {
            match (item, occur) {
                // `a AND NOT b` is one boolean query, not an intersection with a negation.
                (Query::Not(inner), Occur::Must) => {
                    clauses.push((Occur::MustNot, self.lower(inner)?))
                }
                _ => clauses.push((occur, self.lower(item)?)),
            }
        }
        if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        stream.process(&mut |t| out.push(t.text.clone()));
        out
    }

    /// Terms in order → a term query or a phrase query.
    fn sequence(terms: Vec<Term>) -> Q {
        match terms.len() {
            0 => Box::new(EmptyQuery),
            1 => Box::new(TermQuery::new(
                terms.into_iter().next().expect("one"),
                IndexRecordOption::Basic,
            )),
            _ => Box::new(PhraseQuery::new(terms)),
        }
    }

    fn text_match(&mut self, field: Option<&str>, value: &str) -> Result<Q, StoreError> {
        let Some(field) = field else {
            // The words and their dotted pairs, as the full-text field holds them; a word never
            // holds a `.`, a pair always does.
            let tokens = Self::tokens(&mut self.full_text, value);
            let terms: Vec<Term> = tokens
                .iter()
                .map(|t| Term::from_field_text(self.fields.all, t))
                .collect();
            let words: Vec<String> = tokens.into_iter().filter(|t| !t.contains('.')).collect();
            return Ok(match terms.len() {
                0 => Box::new(EmptyQuery),
                1 => Self::sequence(terms),
                // The full-text field has no positions: find the events holding every token,
                // then keep those where the words stand in this order in one value.
                _ => phrase_check(&self.fields, terms, words)?,
            });
        };
        let path = normalize_field(field);
        if path == INTEGRITY_FIELD {
            return self.integrity(value);
        }
        if path == "logtype" {
            return Ok(if value.eq_ignore_ascii_case("cloudtrail") {
                Box::new(AllQuery)
            } else {
                Box::new(EmptyQuery)
            });
        }
        match self.fields.hot(path) {
            Some((f, Kind::Date, _)) => {
                let (start, end) = self.instant_span(value)?;
                Ok(date_range(f, Bound::Included(start), Bound::Excluded(end)))
            }
            Some((f, Kind::Bool, _)) => match value.to_ascii_lowercase().as_str() {
                "true" => Ok(Box::new(TermQuery::new(
                    Term::from_field_bool(f, true),
                    IndexRecordOption::Basic,
                ))),
                "false" => Ok(Box::new(TermQuery::new(
                    Term::from_field_bool(f, false),
                    IndexRecordOption::Basic,
                ))),
                _ => Err(err(format!("{field} is true or false, not \"{value}\""))),
            },
            // An IP or CIDR; otherwise a service name (`ec2.amazonaws.com`) or a list: its words.
            Some(_) if path == "sourceIPAddress" => match self.ip_match(value)? {
                Some(q) => Ok(q),
                None => Ok(self.json_text(path, value)),
            },
            Some((f, Kind::Keyword, _)) if DERIVED.contains(&path) => {
                let t = Self::tokens(&mut self.keyword, value);
                Ok(Self::sequence(
                    t.into_iter()
                        .map(|t| Term::from_field_text(f, &t))
                        .collect(),
                ))
            }
            _ => Ok(self.json_text(path, value)),
        }
    }

    /// A value's words in order under a JSON path, or its number/boolean.
    fn json_text(&mut self, path: &str, value: &str) -> Q {
        let base = Term::from_field_json_path(self.fields.json, path, false);
        let mut alternatives: Vec<Q> = Vec::new();
        if let Some(typed) =
            tantivy::json_utils::convert_to_fast_value_and_append_to_json_term(&base, value, false)
        {
            alternatives.push(Box::new(TermQuery::new(typed, IndexRecordOption::Basic)));
        }
        let terms: Vec<Term> = Self::tokens(&mut self.text, value)
            .into_iter()
            .map(|t| {
                let mut term = base.clone();
                term.append_type_and_str(&t);
                term
            })
            .collect();
        if !terms.is_empty() {
            alternatives.push(Self::sequence(terms));
        }
        match alternatives.len() {
            0 => Box::new(EmptyQuery),
            1 => alternatives.pop().expect("one"),
            _ => Box::new(BooleanQuery::new(
                alternatives
                    .into_iter()
                    .map(|q| (Occur::Should, q))
                    .collect(),
            )),
        }
    }

    /// An IP, or a CIDR block, on `sourceIPAddress`; None when the value is neither.
    fn ip_match(&self, value: &str) -> Result<Option<Q>, StoreError> {
        if let Some((addr, bits)) = value.split_once('/') {
            let Ok(addr) = addr.parse::<IpAddr>() else {
                return Ok(None);
            };
            let bits: u32 = bits
                .parse()
                .map_err(|_| err(format!("\"{value}\": the prefix length is not a number")))?;
            let (v6, bits) = match addr {
                IpAddr::V4(_) if bits <= 32 => (to_v6(addr), bits + 96),
                IpAddr::V6(_) if bits <= 128 => (to_v6(addr), bits),
                _ => {
                    return Err(err(format!(
                        "\"{value}\": prefix length /{bits} is too long"
                    )));
                }
            };
            let n = u128::from(v6);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            let lo = Ipv6Addr::from(n & mask);
            let hi = Ipv6Addr::from((n & mask) | !mask);
            return Ok(Some(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_ip_addr(self.fields.ip, lo)),
                Bound::Included(Term::from_field_ip_addr(self.fields.ip, hi)),
            ))));
        }
        Ok(value.parse::<IpAddr>().ok().map(|a| {
            Box::new(TermQuery::new(
                Term::from_field_ip_addr(self.fields.ip, to_v6(a)),
                IndexRecordOption::Basic,
            )) as Q
        }))
    }

    fn wildcard(&mut self, field: Option<&str>, pattern: &str) -> Result<Q, StoreError> {
        let regex = wildcard_regex(&pattern.to_lowercase());
        let Some(field) = field else {
            return Ok(Box::new(
                RegexQuery::from_pattern(&regex, self.fields.all)
                    .map_err(|e| err(e.to_string()))?,
            ));
        };
        let path = normalize_field(field);
        if path == INTEGRITY_FIELD {
            return Err(err(format!(
                "{INTEGRITY_FIELD} takes verified, failed or unverified, not a pattern"
            )));
        }
        if path == "logtype" {
            return Ok(Box::new(AllQuery));
        }
        match self.fields.hot(path) {
            Some((f, Kind::Keyword, _)) => Ok(Box::new(
                RegexQuery::from_pattern(&regex, f).map_err(|e| err(e.to_string()))?,
            )),
            Some((_, Kind::Date | Kind::Bool, _)) => Err(err(format!(
                "wildcards do not apply to {field}; use a range such as {field}:[2024-01-01 TO 2024-01-31]"
            ))),
            None => {
                // Word by word under the path: the term bytes start with the path.
                let mut prefix = Term::from_field_json_path(self.fields.json, path, false);
                prefix.append_type_and_str("");
                let head: String = String::from_utf8_lossy(prefix.serialized_value_bytes())
                    .chars()
                    .map(escape_char)
                    .collect();
                let full = format!("{head}{regex}");
                Ok(Box::new(
                    RegexQuery::from_pattern(&full, self.fields.json)
                        .map_err(|e| err(e.to_string()))?,
                ))
            }
        }
    }

    fn exists(&self, field: &str) -> Q {
        let path = normalize_field(field);
        if path == INTEGRITY_FIELD || path == "logtype" {
            return Box::new(AllQuery);
        }
        if let Some((_, _, name)) = self.fields.hot(path)
            && DERIVED.contains(&path)
        {
            return Box::new(ExistsQuery::new(name.to_string(), false));
        }
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.paths, &path.to_lowercase()),
            IndexRecordOption::Basic,
        ))
    }

    fn range(&mut self, field: &str, lower: &QBound, upper: &QBound) -> Result<Q, StoreError> {
        let path = normalize_field(field);
        match self.fields.hot(path) {
            Some((f, Kind::Date, _)) => {
                let lo = match lower {
                    QBound::Unbounded => Bound::Unbounded,
                    QBound::Included(v) => Bound::Included(self.instant_span(v)?.0),
                    QBound::Excluded(v) => Bound::Included(self.instant_span(v)?.1),
                };
                let hi = match upper {
                    QBound::Unbounded => Bound::Unbounded,
                    QBound::Included(v) => Bound::Excluded(self.instant_span(v)?.1),
                    QBound::Excluded(v) => Bound::Excluded(self.instant_span(v)?.0),
                };
                Ok(date_range(f, lo, hi))
            }
            Some((_, Kind::Bool, _)) => Err(err(format!(
                "{field} is true or false; ranges do not apply"
            ))),
            _ if path == "sourceIPAddress" => {
                let ip = |v: &String| {
                    v.parse::<IpAddr>()
                        .map(|a| Term::from_field_ip_addr(self.fields.ip, to_v6(a)))
                        .map_err(|_| err(format!("\"{v}\" is not an IP address")))
                };
                Ok(Box::new(RangeQuery::new(
                    map_bound(lower, ip)?,
                    map_bound(upper, ip)?,
                )))
            }
            Some((f, Kind::Keyword, _)) => {
                let kw = |v: &String| Ok(Term::from_field_text(f, &v.to_lowercase()));
                Ok(Box::new(RangeQuery::new(
                    map_bound(lower, kw)?,
                    map_bound(upper, kw)?,
                )))
            }
            _ => {
                // Numbers under a JSON path: integers when both ends are, else floats. The
                // range runs over term bytes (path, type, order-preserving value), so open ends
                // are closed at the bounds of this path and type, never spilling into others.
                let ints = [lower, upper].iter().all(|b| match b {
                    QBound::Unbounded => true,
                    QBound::Included(v) | QBound::Excluded(v) => v.parse::<i64>().is_ok(),
                });
                let typ = if ints { Type::I64 } else { Type::F64 };
                let base = Term::from_field_json_path(self.fields.json, path, false);
                let with_type = |code: u8| {
                    let mut t = base.clone();
                    t.append_bytes(&[code]);
                    t
                };
                let num = |v: &String| -> Result<Term, StoreError> {
                    let mut t = base.clone();
                    if ints {
                        t.append_type_and_fast_value(v.parse::<i64>().expect("checked"));
                    } else {
                        let f: f64 = v.parse().map_err(|_| {
                            err(format!(
                                "\"{v}\" is not a number; ranges on {field} compare numbers"
                            ))
                        })?;
                        t.append_type_and_fast_value(f);
                    }
                    Ok(t)
                };
                let lo = match map_bound(lower, num)? {
                    Bound::Unbounded => Bound::Included(with_type(typ.to_code())),
                    b => b,
                };
                let hi = match map_bound(upper, num)? {
                    Bound::Unbounded => Bound::Excluded(with_type(typ.to_code() + 1)),
                    b => b,
                };
                Ok(Box::new(InvertedIndexRangeQuery::new(lo, hi)))
            }
        }
    }

    /// The span of time a value names: a day for `2024-01-02`, a second for a full time.
    fn instant_span(&self, value: &str) -> Result<(DateTime, DateTime), StoreError> {
        let secs = index_time;
        if let Ok(d) = Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) {
            let start = d.with_time(Time::MIDNIGHT).assume_utc();
            return Ok((secs(start), secs(start + time::Duration::DAY)));
        }
        let t =
            cairn_query::time::parse_instant(value, self.now).map_err(|e| err(e.to_string()))?;
        Ok((secs(t), secs(t + time::Duration::SECOND)))
    }
}

fn map_bound(
    b: &QBound,
    f: impl Fn(&String) -> Result<Term, StoreError>,
) -> Result<Bound<Term>, StoreError> {
    Ok(match b {
        QBound::Unbounded => Bound::Unbounded,
        QBound::Included(v) => Bound::Included(f(v)?),
        QBound::Excluded(v) => Bound::Excluded(f(v)?),
    })
}

/// The event with this `eventID` (one word of the JSON field: ids keep their dashes).
pub fn event_id_query(fields: &Fields, id: &str) -> Q {
    let mut term = Term::from_field_json_path(fields.json, "eventID", false);
    term.append_type_and_str(&id.to_lowercase());
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

/// Keeps the events in which `words` appear in this order within one string value of the
/// record, read from the stored bytes of only the events that hold every token (`terms`: the
/// words and their dotted pairs).
///
/// tantivy's `FunctionPredicate` would walk the whole segment: in an intersection, each
/// candidate that fails sends it on to read every following record until one passes, which made
/// a bare IP address read most of the store. Here the predicate's necessary condition is the
/// words' own intersection, so records outside it are never read.
fn phrase_check(fields: &Fields, terms: Vec<Term>, words: Vec<String>) -> Result<Q, StoreError> {
    use tantivy::query::EnableScoring;
    use tantivy::query::doc_predicate_query::DocPredicateQuery;
    let all_words = BooleanQuery::new(
        terms
            .into_iter()
            .map(|t| {
                (
                    Occur::Must,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Q,
                )
            })
            .collect(),
    );
    let candidates = all_words.weight(EnableScoring::disabled_from_schema(&fields.schema))?;
    Ok(Box::new(DocPredicateQuery::from(PhrasePredicate {
        words: std::sync::Arc::new(words),
        raw: fields.raw,
        candidates,
    })))
}

/// [`phrase_check`]'s predicate: the words in order, over the events that hold them all.
struct PhrasePredicate {
    words: std::sync::Arc<Vec<String>>,
    raw: Field,
    candidates: Box<dyn tantivy::query::Weight>,
}

impl std::fmt::Debug for PhrasePredicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhrasePredicate")
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

impl tantivy::query::doc_predicate_query::DocPredicate for PhrasePredicate {
    type SegmentDocPredicate = SegmentPhrase;

    fn doc_predicate(
        &self,
        segment: &tantivy::SegmentReader,
    ) -> tantivy::Result<
        tantivy::query::doc_predicate_query::ConstOrVariableSegmentPredicate<SegmentPhrase>,
    > {
        let necessary_condition: Box<dyn tantivy::DocSet> =
            Box::new(self.candidates.scorer(segment, 1.0)?);
        Ok(
            tantivy::query::doc_predicate_query::ConstOrVariableSegmentPredicate::Variable {
                predicate: SegmentPhrase {
                    store: segment.get_store_reader(16)?,
                    words: self.words.clone(),
                    raw: self.raw,
                },
                necessary_condition,
            },
        )
    }
}

struct SegmentPhrase {
    store: tantivy::store::StoreReader,
    words: std::sync::Arc<Vec<String>>,
    raw: Field,
}

impl tantivy::query::doc_predicate_query::SegmentDocPredicate for SegmentPhrase {
    fn eval(&mut self, doc: tantivy::DocId) -> bool {
        use tantivy::schema::Value as _;
        let Ok(d) = self.store.get::<tantivy::TantivyDocument>(doc) else {
            return false;
        };
        let Some(bytes) = d.get_first(self.raw).and_then(|v| v.as_bytes()) else {
            return false;
        };
        serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| contains_phrase(&v, &self.words))
    }
}

fn contains_phrase(v: &serde_json::Value, words: &[String]) -> bool {
    use tantivy::tokenizer::{TokenStream, Tokenizer};
    match v {
        serde_json::Value::String(s) => {
            let mut tokenizer = crate::tokenizer::IdTokenizer::default();
            let mut stream = tokenizer.token_stream(s);
            let mut got: Vec<String> = Vec::new();
            while stream.advance() {
                got.push(stream.token().text.clone());
            }
            got.windows(words.len()).any(|w| w == words)
        }
        serde_json::Value::Array(items) => items.iter().any(|i| contains_phrase(i, words)),
        serde_json::Value::Object(map) => map.values().any(|i| contains_phrase(i, words)),
        _ => false,
    }
}

/// A range over `eventTime`-like date fields.
pub fn date_range(field: Field, lo: Bound<DateTime>, hi: Bound<DateTime>) -> Q {
    let t = |d: DateTime| Term::from_field_date_for_search(field, d);
    Box::new(RangeQuery::new(lo.map(t), hi.map(t)))
}

/// Translates a `cairn-query` wildcard pattern (`*`, `?`, and `\*` `\?` `\\` escapes) into a
/// regular expression over a whole term.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&escape_char(n));
                }
            }
            c => out.push_str(&escape_char(c)),
        }
    }
    out
}

/// A literal character in a regex: alphanumerics and non-ASCII as they are, everything else
/// as a hex escape (which the regex syntax accepts for any character).
fn escape_char(c: char) -> String {
    if c.is_alphanumeric() || !c.is_ascii() {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

/// An instant as the index stores it (nanoseconds in an `i64`), clamped to the years the index
/// can hold (1678-2261): a query for year -2025 or 9999 matches what lies beyond, instead of
/// overflowing (fuzz/regressions/query/negative-year).
pub(crate) fn index_time(t: OffsetDateTime) -> DateTime {
    const LIMIT: i64 = i64::MAX / 1_000_000_000;
    DateTime::from_timestamp_secs(t.unix_timestamp().clamp(-LIMIT, LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_patterns() {
        assert_eq!(wildcard_regex("delete*"), "delete.*");
        assert_eq!(wildcard_regex("a?c"), "a.c");
        assert_eq!(wildcard_regex("a\\*b*"), "a\\x{2a}b.*");
        assert_eq!(wildcard_regex("10.0.*"), "10\\x{2e}0\\x{2e}.*");
    }

    #[test]
    fn field_names() {
        assert_eq!(normalize_field("json.eventName"), "eventName");
        assert_eq!(normalize_field("account"), "recipientAccountId");
        assert!(is_derived("principal"));
        assert!(!is_derived("eventName"));
    }
}

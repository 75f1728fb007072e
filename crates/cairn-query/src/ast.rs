//! The query AST: what a query means, independent of any index.

use serde::{Serialize, Serializer};

/// A parsed query.
///
/// `field: None` means full-text search over the whole record. Field names are kept exactly as
/// written (backslash escapes resolved), including a `json.` prefix, which the lowering strips.
///
/// Serialized (for tests and the API) as an object tagged by `"type"`: leaves carry their named
/// fields, `And`/`Or` carry `"clauses": [...]` and `Not` carries `"query": {...}`. The
/// serialization is written by hand because serde cannot put an internal tag on a variant that
/// holds a list or another tagged query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Matches every event: the empty query, `*`, `*:*`.
    All,
    /// An unquoted word, escapes resolved.
    Term {
        /// The field searched; `None` searches the whole record.
        field: Option<String>,
        /// The word, with backslash escapes resolved.
        value: String,
    },
    /// A `"quoted phrase"`. Inside the quotes `\"` and `\\` are escapes; any other backslash is
    /// kept as a literal character, so Windows paths and regex-like text survive quoting.
    Phrase {
        /// The field searched; `None` searches the whole record.
        field: Option<String>,
        /// The text between the quotes, escapes resolved.
        text: String,
    },
    /// An unquoted word containing an unescaped `*` (any run of characters) or `?` (any one
    /// character); the lone `*` is [`Query::All`] or [`Query::Exists`] instead.
    ///
    /// In `pattern`, a backslash escapes the character after it, and only three escapes occur:
    /// `\*` and `\?` are a literal star and question mark (written escaped in the query), and
    /// `\\` is a literal backslash. Every other character stands for itself. So the query
    /// `a\*b*` gives the pattern `a\*b*`: a literal `a*b` followed by anything.
    Wildcard {
        /// The field searched; `None` searches the whole record.
        field: Option<String>,
        /// The pattern, in the escaped form described above.
        pattern: String,
    },
    /// The field is present: `field:*` or `_exists_:field`.
    Exists {
        /// The field that must be present.
        field: String,
    },
    /// `field:[a TO b]`, `field:{a TO b}`, mixed brackets, `*` as an open end, and the
    /// comparisons `field:>v`, `field:>=v`, `field:<v`, `field:<=v`.
    Range {
        /// The field compared.
        field: String,
        /// The lower end.
        lower: Bound,
        /// The upper end.
        upper: Bound,
    },
    /// Every clause matches. Never nested directly in another `And`, never of length one.
    And(Vec<Query>),
    /// At least one clause matches. Never nested directly in another `Or`, never of length one.
    Or(Vec<Query>),
    /// The inner query does not match.
    Not(Box<Query>),
}

/// One end of a [`Query::Range`]. Values are strings: the query language has no schema, so
/// the lowering decides whether `10` is a number, a date or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Bound {
    /// An open end (`*`, or the missing side of a comparison).
    Unbounded,
    /// The end value matches (`[`, `]`, `>=`, `<=`).
    Included(String),
    /// The end value itself does not match (`{`, `}`, `>`, `<`).
    Excluded(String),
}

impl Query {
    /// Every field name the query mentions, each once, in order of first appearance.
    ///
    /// Meant for the CLI's "no event has this field" warning, so it lists fields as written
    /// (with any `json.` prefix).
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        let field = match self {
            Query::All => None,
            Query::Term { field, .. }
            | Query::Phrase { field, .. }
            | Query::Wildcard { field, .. } => field.as_deref(),
            Query::Exists { field } | Query::Range { field, .. } => Some(field.as_str()),
            Query::And(clauses) | Query::Or(clauses) => {
                for clause in clauses {
                    clause.collect_fields(out);
                }
                None
            }
            Query::Not(inner) => {
                inner.collect_fields(out);
                None
            }
        };
        if let Some(field) = field
            && !out.contains(&field)
        {
            out.push(field);
        }
    }

    /// Conjunction of `clauses`, flattening nested conjunctions; one clause is returned as is.
    pub(crate) fn and(clauses: Vec<Query>) -> Query {
        Self::flatten(clauses, true)
    }

    /// Disjunction of `clauses`, flattening nested disjunctions; one clause is returned as is.
    pub(crate) fn or(clauses: Vec<Query>) -> Query {
        Self::flatten(clauses, false)
    }

    fn flatten(clauses: Vec<Query>, and: bool) -> Query {
        let mut flat = Vec::with_capacity(clauses.len());
        for clause in clauses {
            match clause {
                Query::And(inner) if and => flat.extend(inner),
                Query::Or(inner) if !and => flat.extend(inner),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            flat.pop().unwrap_or(Query::All)
        } else if and {
            Query::And(flat)
        } else {
            Query::Or(flat)
        }
    }
}

/// The serialized shape of [`Query`]; see its documentation.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Repr<'a> {
    All,
    Term {
        field: Option<&'a str>,
        value: &'a str,
    },
    Phrase {
        field: Option<&'a str>,
        text: &'a str,
    },
    Wildcard {
        field: Option<&'a str>,
        pattern: &'a str,
    },
    Exists {
        field: &'a str,
    },
    Range {
        field: &'a str,
        lower: &'a Bound,
        upper: &'a Bound,
    },
    And {
        clauses: &'a [Query],
    },
    Or {
        clauses: &'a [Query],
    },
    Not {
        query: &'a Query,
    },
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let repr = match self {
            Query::All => Repr::All,
            Query::Term { field, value } => Repr::Term {
                field: field.as_deref(),
                value,
            },
            Query::Phrase { field, text } => Repr::Phrase {
                field: field.as_deref(),
                text,
            },
            Query::Wildcard { field, pattern } => Repr::Wildcard {
                field: field.as_deref(),
                pattern,
            },
            Query::Exists { field } => Repr::Exists { field },
            Query::Range {
                field,
                lower,
                upper,
            } => Repr::Range {
                field,
                lower,
                upper,
            },
            Query::And(clauses) => Repr::And { clauses },
            Query::Or(clauses) => Repr::Or { clauses },
            Query::Not(query) => Repr::Not { query },
        };
        repr.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: &str, value: &str) -> Query {
        Query::Term {
            field: Some(field.into()),
            value: value.into(),
        }
    }

    #[test]
    fn flattening() {
        let a = term("f", "a");
        let b = term("f", "b");
        let c = term("f", "c");
        assert_eq!(Query::and(vec![a.clone()]), a);
        assert_eq!(
            Query::and(vec![Query::And(vec![a.clone(), b.clone()]), c.clone()]),
            Query::And(vec![a.clone(), b.clone(), c.clone()])
        );
        // An Or inside an And is a different kind and stays nested.
        assert_eq!(
            Query::and(vec![Query::Or(vec![a.clone(), b.clone()]), c.clone()]),
            Query::And(vec![Query::Or(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            Query::or(vec![a.clone(), Query::Or(vec![b.clone(), c.clone()])]),
            Query::Or(vec![a, b, c])
        );
    }

    #[test]
    fn fields_are_unique_and_ordered() {
        let q = Query::And(vec![
            term("b", "x"),
            Query::Not(Box::new(Query::Exists { field: "a".into() })),
            Query::Or(vec![
                term("b", "y"),
                Query::Term {
                    field: None,
                    value: "z".into(),
                },
                Query::Range {
                    field: "c".into(),
                    lower: Bound::Unbounded,
                    upper: Bound::Included("1".into()),
                },
            ]),
        ]);
        assert_eq!(q.fields(), vec!["b", "a", "c"]);
        assert!(Query::All.fields().is_empty());
    }
}

//! A hand-written recursive-descent parser over the query text.
//!
//! It works on characters rather than on a token stream because what a character means depends
//! on where it is: `:` ends a field name but is plain text inside a value, `)` closes a group
//! only when it is not balanced inside a word, and `TO` is a keyword only inside brackets.

use crate::ast::{Bound, Query};
use crate::error::ParseError;

/// How deeply parentheses and negations may nest (together) before the parser gives up.
///
/// Recursion is bounded so that a hostile query cannot overflow the stack, neither while
/// parsing nor later while the AST is walked or dropped.
pub const MAX_DEPTH: usize = 64;

/// The field name that turns `_exists_:name` into [`Query::Exists`].
const EXISTS_FIELD: &str = "_exists_";

/// Parses a query. Empty or all-whitespace input is [`Query::All`].
///
/// See the crate documentation for the grammar.
///
/// ```
/// use cairn_query::{Query, parse};
///
/// let query = parse(r#"eventName:DeleteKeyPair AND userIdentity.userName:"monitor""#)?;
/// assert!(matches!(&query, Query::And(clauses) if clauses.len() == 2));
/// assert_eq!(query.fields(), ["eventName", "userIdentity.userName"]);
///
/// let err = parse("eventName:").unwrap_err();
/// assert_eq!(err.position, 10);
/// # Ok::<(), cairn_query::ParseError>(())
/// ```
pub fn parse(input: &str) -> Result<Query, ParseError> {
    Parser {
        src: input,
        pos: 0,
        depth: 0,
        open_groups: 0,
    }
    .parse_query()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Not,
    Plus,
}

/// An unquoted word as read from the query.
struct Word<'a> {
    /// The source text, escapes and all.
    raw: &'a str,
    /// Escapes resolved.
    value: String,
    /// Escapes resolved except that literal `*`, `?` and `\` are backslash-escaped.
    pattern: String,
    /// An unescaped `*` or `?` occurs.
    wildcard: bool,
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    /// Current nesting of groups and negations, bounded by [`MAX_DEPTH`].
    depth: usize,
    /// Groups opened and not yet closed, to tell a stray `)` from one that closes a group.
    open_groups: usize,
}

impl<'a> Parser<'a> {
    fn parse_query(mut self) -> Result<Query, ParseError> {
        self.skip_ws();
        if self.at_end() {
            return Ok(Query::All);
        }
        let query = self.parse_or(None)?;
        self.skip_ws();
        match self.peek() {
            None => Ok(query),
            Some(')') => Err(self.stray_paren()),
            // parse_or stops only at the end, at `)`, or with an error.
            Some(_) => Err(ParseError::new(
                self.pos,
                "unexpected text",
                "check the query around this point",
            )),
        }
    }

    /// `and_expr (OR and_expr)*`
    fn parse_or(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut clauses = vec![self.parse_and(field)?];
        loop {
            self.skip_ws();
            match self.operator() {
                Some((Op::Or, len)) => {
                    let op_pos = self.pos;
                    self.pos += len;
                    self.expect_operand(op_pos, len)?;
                    clauses.push(self.parse_and(field)?);
                }
                _ => return Ok(Query::or(clauses)),
            }
        }
    }

    /// `unary ((AND)? unary)*`: juxtaposition is AND.
    fn parse_and(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        self.skip_ws();
        if let Some((Op::And | Op::Or, len)) = self.operator() {
            let word = &self.src[self.pos..self.pos + len];
            return Err(ParseError::new(
                self.pos,
                format!("\"{word}\" needs a query on its left"),
                format!("remove \"{word}\", or put a query before it: a {word} b"),
            ));
        }
        let mut clauses = vec![self.parse_unary(field)?];
        loop {
            self.skip_ws();
            if matches!(self.peek(), None | Some(')')) {
                break;
            }
            match self.operator() {
                Some((Op::Or, _)) => break,
                Some((Op::And, len)) => {
                    let op_pos = self.pos;
                    self.pos += len;
                    self.expect_operand(op_pos, len)?;
                }
                _ => {}
            }
            clauses.push(self.parse_unary(field)?);
        }
        Ok(Query::and(clauses))
    }

    /// Prefix operators, then a primary. Iterative, so a run of operators costs no stack; each
    /// negation still counts towards [`MAX_DEPTH`] because the AST nests.
    fn parse_unary(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut negations = 0;
        let mut last_op = None;
        loop {
            self.skip_ws();
            match self.operator() {
                Some((Op::Not, len)) => {
                    self.enter(self.pos)?;
                    negations += 1;
                    last_op = Some((self.pos, len));
                    self.pos += len;
                }
                Some((Op::Plus, len)) => {
                    last_op = Some((self.pos, len));
                    self.pos += len;
                }
                _ => break,
            }
        }
        if let Some((op_pos, len)) = last_op {
            self.expect_operand(op_pos, len)?;
        }
        let mut query = self.parse_primary(field)?;
        for _ in 0..negations {
            query = Query::Not(Box::new(query));
        }
        self.depth -= negations;
        Ok(query)
    }

    /// A group, a phrase, a range or comparison on the inherited field, `field:value`, or a
    /// bare word.
    fn parse_primary(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let start = self.pos;
        match self.peek() {
            None => Err(ParseError::new(
                start,
                "expected a query here",
                "the query ends too early",
            )),
            Some('(') => self.parse_group(field),
            Some(')') if self.open_groups == 0 => Err(self.stray_paren()),
            Some(')') => Err(ParseError::new(
                start,
                "expected a query before \")\"",
                "put a query inside the parentheses or remove them",
            )),
            Some('"') => {
                let text = self.parse_phrase()?;
                phrase_leaf(field, text, start)
            }
            Some('[' | '{') => match field {
                Some(name) => self.parse_range(name.to_owned()),
                None => Err(ParseError::new(
                    start,
                    "a range needs a field name before it",
                    "write field:[low TO high], e.g. eventTime:[2024-01-01 TO 2024-02-01]",
                )),
            },
            Some('>' | '<') => match field {
                Some(name) => self.parse_comparison(name.to_owned(), start),
                None => Err(ParseError::new(
                    start,
                    "a comparison needs a field name before it",
                    "write field:>=value, e.g. eventTime:>=2024-01-01; to search for the \
                     text itself, quote it",
                )),
            },
            Some(_) => {
                if let Some((name, after_colon)) = self.field_prefix() {
                    self.pos = after_colon;
                    return self.parse_field_value(name, start);
                }
                let word = self.lex_word(is_word_end)?;
                word_leaf(field, word, start)
            }
        }
    }

    /// What follows `field:`. `field_start` is where the field name began.
    fn parse_field_value(&mut self, name: String, field_start: usize) -> Result<Query, ParseError> {
        let value_start = self.pos;
        match self.peek() {
            None | Some(')') => Err(self.missing_value(field_start, &name, false)),
            Some(c) if c.is_whitespace() => {
                let rest = self.src[value_start..].trim_start();
                let more = !rest.is_empty() && !rest.starts_with(')');
                Err(self.missing_value(field_start, &name, more))
            }
            Some('(') => self.parse_group(Some(&name)),
            Some('"') => {
                let text = self.parse_phrase()?;
                phrase_leaf(Some(&name), text, value_start)
            }
            Some('[' | '{') => self.parse_range(name),
            Some('>' | '<') => self.parse_comparison(name, field_start),
            Some(_) => {
                let word = self.lex_word(is_word_end)?;
                word_leaf(Some(&name), word, value_start)
            }
        }
    }

    fn missing_value(&self, field_start: usize, name: &str, space_then_text: bool) -> ParseError {
        let written = &self.src[field_start..self.pos];
        let hint = if space_then_text {
            format!(
                "remove the space after the colon, or quote values with spaces: \
                 {name}:\"Some Value\""
            )
        } else {
            format!("quote values with spaces: {name}:\"Some Value\"")
        };
        ParseError::new(
            self.pos,
            format!("expected a value after \"{written}\""),
            hint,
        )
    }

    /// `( or_expr )`, with `field` inherited by unfielded clauses inside.
    fn parse_group(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let open = self.pos;
        self.enter(open)?;
        self.bump();
        self.open_groups += 1;
        self.skip_ws();
        match self.peek() {
            None => return Err(unclosed_paren(open)),
            Some(')') => {
                return Err(ParseError::new(
                    open,
                    "empty parentheses",
                    "put a query inside the parentheses or remove them",
                ));
            }
            Some(_) => {}
        }
        let query = self.parse_or(field)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(unclosed_paren(open));
        }
        self.bump();
        self.open_groups -= 1;
        self.depth -= 1;
        Ok(query)
    }

    /// A `"quoted phrase"`; the cursor is on the opening quote.
    fn parse_phrase(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(ParseError::new(
                        open,
                        "this quote is never closed",
                        "add the closing \"; write a quote inside a phrase as \\\"",
                    ));
                }
                Some('"') => return Ok(text),
                Some('\\') => match self.peek() {
                    Some(c @ ('"' | '\\')) => {
                        self.bump();
                        text.push(c);
                    }
                    _ => text.push('\\'),
                },
                Some(c) => text.push(c),
            }
        }
    }

    /// `[low TO high]` with `[`/`{` and `]`/`}` in any combination; the cursor is on the
    /// opening bracket.
    fn parse_range(&mut self, field: String) -> Result<Query, ParseError> {
        let open = self.pos;
        let lower_inclusive = self.bump() == Some('[');
        self.skip_ws();
        if self.rest().starts_with("TO") && self.keyword_ends(self.pos + 2) {
            return Err(ParseError::new(
                self.pos,
                "expected a lower bound before \"TO\"",
                "use * for an open end: field:[* TO high]",
            ));
        }
        let lower = self.range_bound(open, "lower")?;
        self.skip_ws();
        if self.at_end() {
            return Err(unclosed_range(open));
        }
        if !(self.rest().starts_with("TO") && self.keyword_ends(self.pos + 2)) {
            let lowercase = self.rest().starts_with("to") && self.keyword_ends(self.pos + 2);
            let hint = if lowercase {
                "TO must be uppercase: field:[low TO high]"
            } else {
                "write ranges as field:[low TO high]; use * for an open end"
            };
            return Err(ParseError::new(
                self.pos,
                "expected \"TO\" between the range bounds",
                hint,
            ));
        }
        self.pos += 2;
        self.skip_ws();
        let upper = self.range_bound(open, "upper")?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            None => return Err(unclosed_range(open)),
            Some(']') => true,
            Some('}') => false,
            Some(_) => {
                return Err(ParseError::new(
                    self.pos,
                    "expected \"]\" or \"}\" to close the range",
                    "write ranges as field:[low TO high]; quote bounds that contain spaces",
                ));
            }
        };
        self.bump();
        Ok(Query::Range {
            field,
            lower: make_bound(lower, lower_inclusive),
            upper: make_bound(upper, upper_inclusive),
        })
    }

    /// One end of a range: `None` for an unescaped `*`.
    fn range_bound(&mut self, open: usize, which: &str) -> Result<Option<String>, ParseError> {
        match self.peek() {
            None => Err(unclosed_range(open)),
            Some(']' | '}' | ')') => Err(ParseError::new(
                self.pos,
                format!("expected an {which} bound"),
                "use * for an open end: field:[low TO *]",
            )),
            Some('"') => self.parse_phrase().map(Some),
            Some(_) => {
                let word = self.lex_word(is_range_word_end)?;
                Ok((word.raw != "*").then_some(word.value))
            }
        }
    }

    /// `>v`, `>=v`, `<v`, `<=v`; the cursor is on the `>` or `<`.
    fn parse_comparison(
        &mut self,
        field: String,
        written_from: usize,
    ) -> Result<Query, ParseError> {
        let greater = self.bump() == Some('>');
        let inclusive = self.peek() == Some('=');
        if inclusive {
            self.bump();
        }
        let value = match self.peek() {
            Some('"') => self.parse_phrase()?,
            Some(c) if !c.is_whitespace() && c != ')' => self.lex_word(is_word_end)?.value,
            _ => {
                let written = &self.src[written_from..self.pos];
                return Err(ParseError::new(
                    self.pos,
                    format!("expected a value after \"{written}\""),
                    format!("compare with a value right after the operator: {written}10"),
                ));
            }
        };
        let bound = if inclusive {
            Bound::Included(value)
        } else {
            Bound::Excluded(value)
        };
        let (lower, upper) = if greater {
            (bound, Bound::Unbounded)
        } else {
            (Bound::Unbounded, bound)
        };
        Ok(Query::Range {
            field,
            lower,
            upper,
        })
    }

    /// Reads an unquoted word up to a character for which `end` says stop (given the number of
    /// parentheses opened inside the word and not yet closed).
    fn lex_word(&mut self, end: fn(char, usize) -> bool) -> Result<Word<'a>, ParseError> {
        let start = self.pos;
        let mut value = String::new();
        let mut pattern = String::new();
        let mut wildcard = false;
        let mut parens = 0usize;
        while let Some(c) = self.peek() {
            if end(c, parens) {
                break;
            }
            let at = self.pos;
            self.bump();
            match c {
                '\\' => {
                    let Some(escaped) = self.bump() else {
                        return Err(ParseError::new(
                            at,
                            "a backslash at the end of the query escapes nothing",
                            "remove it, or write a literal backslash as \\\\",
                        ));
                    };
                    value.push(escaped);
                    if matches!(escaped, '*' | '?' | '\\') {
                        pattern.push('\\');
                    }
                    pattern.push(escaped);
                }
                '*' | '?' => {
                    wildcard = true;
                    value.push(c);
                    pattern.push(c);
                }
                _ => {
                    if c == '(' {
                        parens += 1;
                    } else if c == ')' {
                        parens = parens.saturating_sub(1);
                    }
                    value.push(c);
                    pattern.push(c);
                }
            }
        }
        Ok(Word {
            raw: &self.src[start..self.pos],
            value,
            pattern,
            wildcard,
        })
    }

    /// If a field name followed by `:` starts at the cursor, returns the name (escapes
    /// resolved) and the offset just past the colon. Does not move the cursor.
    fn field_prefix(&self) -> Option<(String, usize)> {
        let mut name = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                ':' if i > 0 => return Some((name, self.pos + i + 1)),
                '\\' => name.push(chars.next()?.1),
                c if is_field_char(c) => name.push(c),
                _ => return None,
            }
        }
        None
    }

    /// The operator at the cursor and its length in bytes, if any.
    fn operator(&self) -> Option<(Op, usize)> {
        let rest = self.rest();
        if rest.starts_with("&&") {
            return Some((Op::And, 2));
        }
        if rest.starts_with("||") {
            return Some((Op::Or, 2));
        }
        for (word, op) in [("AND", Op::And), ("OR", Op::Or), ("NOT", Op::Not)] {
            if rest.starts_with(word) && self.keyword_ends(self.pos + word.len()) {
                return Some((op, word.len()));
            }
        }
        match rest.chars().next() {
            Some('!' | '-') => Some((Op::Not, 1)),
            Some('+') => Some((Op::Plus, 1)),
            _ => None,
        }
    }

    /// Whether a keyword ending at byte `at` stands alone rather than starting a longer word
    /// (`ANDROID`, `ORACLE`, `TOKEN`).
    fn keyword_ends(&self, at: usize) -> bool {
        self.src[at..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | ')' | '"' | ']' | '}'))
    }

    /// After the operator at `op_pos`, something it can apply to must follow.
    fn expect_operand(&mut self, op_pos: usize, len: usize) -> Result<(), ParseError> {
        self.skip_ws();
        let missing = match self.peek() {
            None | Some(')') => true,
            Some(_) => matches!(self.operator(), Some((Op::And | Op::Or, _))),
        };
        if !missing {
            return Ok(());
        }
        let op = &self.src[op_pos..op_pos + len];
        let hint = match op {
            "AND" | "OR" | "&&" | "||" => {
                format!("put a query after \"{op}\", or remove it")
            }
            "-" | "!" | "+" => format!(
                "put a query right after \"{op}\"; to search for the character itself, quote \
                 it: \"{op}\""
            ),
            _ => format!("put a query after \"{op}\", e.g. {op} errorCode:*"),
        };
        Err(ParseError::new(
            op_pos,
            format!("\"{op}\" is missing the query it applies to"),
            hint,
        ))
    }

    /// One more level of nesting, starting at `at`.
    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                at,
                format!("the query nests more than {MAX_DEPTH} levels deep"),
                "remove redundant parentheses or negations",
            ));
        }
        Ok(())
    }

    fn stray_paren(&self) -> ParseError {
        ParseError::new(
            self.pos,
            "this \")\" has no matching \"(\"",
            "remove it, or write a literal parenthesis as \\)",
        )
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '$' | '-')
}

/// Words end at whitespace and at a `)` that was not opened inside the word.
fn is_word_end(c: char, parens: usize) -> bool {
    c.is_whitespace() || (c == ')' && parens == 0)
}

/// Range bounds also end at the closing brackets.
fn is_range_word_end(c: char, parens: usize) -> bool {
    is_word_end(c, parens) || matches!(c, ']' | '}')
}

fn make_bound(value: Option<String>, inclusive: bool) -> Bound {
    match value {
        None => Bound::Unbounded,
        Some(v) if inclusive => Bound::Included(v),
        Some(v) => Bound::Excluded(v),
    }
}

fn unclosed_paren(open: usize) -> ParseError {
    ParseError::new(
        open,
        "this \"(\" is never closed",
        "add the missing \")\", or write a literal parenthesis as \\(",
    )
}

fn unclosed_range(open: usize) -> ParseError {
    ParseError::new(
        open,
        "this range is never closed",
        "close it with \"]\" (inclusive) or \"}\" (exclusive): field:[low TO high]",
    )
}

fn exists_needs_name(at: usize) -> ParseError {
    ParseError::new(
        at,
        "expected a field name after \"_exists_:\"",
        "write _exists_:fieldName, e.g. _exists_:errorCode",
    )
}

/// The query for an unquoted word on `field`.
fn word_leaf(field: Option<&str>, word: Word<'_>, at: usize) -> Result<Query, ParseError> {
    if word.raw == "*:*" {
        return Ok(Query::All);
    }
    if field == Some(EXISTS_FIELD) {
        if word.wildcard {
            return Err(exists_needs_name(at));
        }
        return Ok(Query::Exists { field: word.value });
    }
    let field = field.map(str::to_owned);
    Ok(if word.raw == "*" {
        match field {
            Some(field) => Query::Exists { field },
            None => Query::All,
        }
    } else if word.wildcard {
        Query::Wildcard {
            field,
            pattern: word.pattern,
        }
    } else {
        Query::Term {
            field,
            value: word.value,
        }
    })
}

/// The query for a quoted phrase on `field`.
fn phrase_leaf(field: Option<&str>, text: String, at: usize) -> Result<Query, ParseError> {
    if field == Some(EXISTS_FIELD) {
        if text.is_empty() {
            return Err(exists_needs_name(at));
        }
        return Ok(Query::Exists { field: text });
    }
    Ok(Query::Phrase {
        field: field.map(str::to_owned),
        text,
    })
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

    fn text(value: &str) -> Query {
        Query::Term {
            field: None,
            value: value.into(),
        }
    }

    fn phrase(field: &str, text: &str) -> Query {
        Query::Phrase {
            field: Some(field.into()),
            text: text.into(),
        }
    }

    fn bare_phrase(text: &str) -> Query {
        Query::Phrase {
            field: None,
            text: text.into(),
        }
    }

    fn wild(field: Option<&str>, pattern: &str) -> Query {
        Query::Wildcard {
            field: field.map(Into::into),
            pattern: pattern.into(),
        }
    }

    fn exists(field: &str) -> Query {
        Query::Exists {
            field: field.into(),
        }
    }

    fn range(field: &str, lower: Bound, upper: Bound) -> Query {
        Query::Range {
            field: field.into(),
            lower,
            upper,
        }
    }

    fn inc(v: &str) -> Bound {
        Bound::Included(v.into())
    }

    fn exc(v: &str) -> Bound {
        Bound::Excluded(v.into())
    }

    fn and(clauses: impl IntoIterator<Item = Query>) -> Query {
        Query::And(clauses.into_iter().collect())
    }

    fn or(clauses: impl IntoIterator<Item = Query>) -> Query {
        Query::Or(clauses.into_iter().collect())
    }

    fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }

    fn check(cases: Vec<(&str, Query)>) {
        for (input, expected) in cases {
            match parse(input) {
                Ok(got) => assert_eq!(got, expected, "query {input:?}"),
                Err(e) => panic!("query {input:?} failed: {e}\n{}", e.render(input)),
            }
        }
    }

    #[test]
    fn the_loggly_queries_parse_verbatim() {
        check(vec![
            (
                r#"logtype:cloudtrail AND json.eventName:"GetTrailStatus" AND json.userIdentity.userName:"monitor""#,
                and([
                    term("logtype", "cloudtrail"),
                    phrase("json.eventName", "GetTrailStatus"),
                    phrase("json.userIdentity.userName", "monitor"),
                ]),
            ),
            (
                r#"eventName:DeleteKeyPair AND userIdentity.userName:"monitor""#,
                and([
                    term("eventName", "DeleteKeyPair"),
                    phrase("userIdentity.userName", "monitor"),
                ]),
            ),
        ]);
    }

    #[test]
    fn match_all() {
        check(vec![
            ("", Query::All),
            ("   \t\n ", Query::All),
            ("*", Query::All),
            ("*:*", Query::All),
            (" *:* ", Query::All),
            ("(*)", Query::All),
        ]);
    }

    #[test]
    fn boolean_operators() {
        let (a, b, c, d) = (text("a"), text("b"), text("c"), text("d"));
        check(vec![
            ("a b", and([a.clone(), b.clone()])),
            ("a AND b", and([a.clone(), b.clone()])),
            ("a && b", and([a.clone(), b.clone()])),
            ("a&&b", text("a&&b")),
            ("a OR b", or([a.clone(), b.clone()])),
            ("a || b", or([a.clone(), b.clone()])),
            ("NOT a", not(a.clone())),
            ("!a", not(a.clone())),
            ("! a", not(a.clone())),
            ("-a", not(a.clone())),
            ("+a", a.clone()),
            ("+a -b", and([a.clone(), not(b.clone())])),
            ("a NOT b", and([a.clone(), not(b.clone())])),
            ("a AND NOT b", and([a.clone(), not(b.clone())])),
            ("NOT NOT a", not(not(a.clone()))),
            ("-!a", not(not(a.clone()))),
            // Precedence: OR < AND < NOT.
            ("a OR b c", or([a.clone(), and([b.clone(), c.clone()])])),
            ("a OR b AND c", or([a.clone(), and([b.clone(), c.clone()])])),
            ("a b OR c", or([and([a.clone(), b.clone()]), c.clone()])),
            (
                "a AND b OR c AND d",
                or([and([a.clone(), b.clone()]), and([c.clone(), d.clone()])]),
            ),
            ("NOT a OR b", or([not(a.clone()), b.clone()])),
            ("NOT a b", and([not(a.clone()), b.clone()])),
            ("(a OR b) c", and([or([a.clone(), b.clone()]), c.clone()])),
            ("NOT (a OR b)", not(or([a.clone(), b.clone()]))),
            ("NOT(a)", not(a.clone())),
            ("a AND(b)", and([a.clone(), b.clone()])),
            // Flattening, including through parentheses.
            ("a AND b AND c", and([a.clone(), b.clone(), c.clone()])),
            (
                "(a b) (c d)",
                and([a.clone(), b.clone(), c.clone(), d.clone()]),
            ),
            (
                "a OR (b OR c) OR d",
                or([a.clone(), b.clone(), c.clone(), d.clone()]),
            ),
            ("((a))", a.clone()),
            (
                "(a OR b) AND (c OR d)",
                and([or([a.clone(), b.clone()]), or([c, d])]),
            ),
        ]);
    }

    #[test]
    fn keywords_are_uppercase_whole_words() {
        check(vec![
            ("a and b", and([text("a"), text("and"), text("b")])),
            ("a or b", and([text("a"), text("or"), text("b")])),
            ("not a", and([text("not"), text("a")])),
            (
                "ANDROID ORACLE NOTE",
                and([text("ANDROID"), text("ORACLE"), text("NOTE")]),
            ),
            ("eventName:AND", term("eventName", "AND")),
            ("a-b", text("a-b")),
            ("a!", text("a!")),
            ("TO", text("TO")),
        ]);
    }

    #[test]
    fn fields_and_values() {
        check(vec![
            ("eventName:ConsoleLogin", term("eventName", "ConsoleLogin")),
            (
                "userIdentity.sessionContext.sessionIssuer.userName:admin",
                term(
                    "userIdentity.sessionContext.sessionIssuer.userName",
                    "admin",
                ),
            ),
            (
                "requestParameters.x-amz-acl:public-read",
                term("requestParameters.x-amz-acl", "public-read"),
            ),
            ("json.eventName:X", term("json.eventName", "X")),
            ("a_b@c$d:1", term("a_b@c$d", "1")),
            (
                "eventTime:2024-01-01T10:00:00Z",
                term("eventTime", "2024-01-01T10:00:00Z"),
            ),
            (
                "sourceIPAddress:10.0.0.0/8",
                term("sourceIPAddress", "10.0.0.0/8"),
            ),
            (
                "sourceIPAddress:2001:db8::1",
                term("sourceIPAddress", "2001:db8::1"),
            ),
            (
                "userIdentity.arn:arn:aws:iam::123456789012:user/alice",
                term("userIdentity.arn", "arn:aws:iam::123456789012:user/alice"),
            ),
            ("errorCode:-", term("errorCode", "-")),
            ("x:-5", term("x", "-5")),
            ("x:a(b)c", term("x", "a(b)c")),
            ("x:a\"b", term("x", "a\"b")),
            ("x:é", term("x", "é")),
            // A bare word with a field-like prefix is field:value, as in Lucene.
            ("arn:aws:iam::1:root", term("arn", "aws:iam::1:root")),
            ("2001:db8::1", term("2001", "db8::1")),
            // Not a field name: bare text.
            (":x", text(":x")),
            ("a/b:c", text("a/b:c")),
            ("café:x", text("café:x")),
            ("-a:b", not(term("a", "b"))),
        ]);
    }

    #[test]
    fn escapes() {
        check(vec![
            ("a\\:b", text("a:b")),
            ("a\\ b", text("a b")),
            ("\\(x\\)", text("(x)")),
            ("\\-x", text("-x")),
            ("\\NOT", text("NOT")),
            ("x:a\\)", term("x", "a)")),
            ("(x:a\\))", term("x", "a)")),
            ("a\\\\b", text("a\\b")),
            ("my\\ field:v", term("my field", "v")),
            ("a\\:b:c", term("a:b", "c")),
            ("x:\\*", term("x", "*")),
            ("\\*", text("*")),
            // Escaped characters are allowed in field names.
            ("\\*:\\*", term("*", "*")),
            ("x:\\>5", term("x", ">5")),
        ]);
    }

    #[test]
    fn phrases() {
        check(vec![
            ("\"hello world\"", bare_phrase("hello world")),
            ("x:\"a b\"", phrase("x", "a b")),
            ("x:\"\"", phrase("x", "")),
            (r#""say \"hi\"""#, bare_phrase("say \"hi\"")),
            (r#""a\\b""#, bare_phrase("a\\b")),
            (r#""C:\Users\x""#, bare_phrase("C:\\Users\\x")),
            ("\"a*b?\"", bare_phrase("a*b?")),
            ("\"AND\"", bare_phrase("AND")),
            ("\"(\"", bare_phrase("(")),
            ("\"a\"b", and([bare_phrase("a"), text("b")])),
            ("NOT\"a\"", not(bare_phrase("a"))),
            ("\"héllo ☃\"", bare_phrase("héllo ☃")),
        ]);
    }

    #[test]
    fn wildcards() {
        check(vec![
            ("Delete*", wild(None, "Delete*")),
            ("eventName:Delete*", wild(Some("eventName"), "Delete*")),
            ("eventName:*Bucket*", wild(Some("eventName"), "*Bucket*")),
            ("x:a?c", wild(Some("x"), "a?c")),
            ("x:**", wild(Some("x"), "**")),
            // Escaped wildcard characters stay escaped in the pattern; so do backslashes.
            ("x:a\\*b*", wild(Some("x"), "a\\*b*")),
            ("x:a\\?*", wild(Some("x"), "a\\?*")),
            ("x:a\\\\*", wild(Some("x"), "a\\\\*")),
            ("x:a\\:b*", wild(Some("x"), "a:b*")),
            ("*:foo", wild(None, "*:foo")),
        ]);
    }

    #[test]
    fn existence() {
        check(vec![
            ("errorCode:*", exists("errorCode")),
            ("_exists_:errorCode", exists("errorCode")),
            ("_exists_:\"a b\"", exists("a b")),
            ("NOT _exists_:errorCode", not(exists("errorCode"))),
            ("-errorCode:*", not(exists("errorCode"))),
            ("_exists_:(a OR b)", or([exists("a"), exists("b")])),
            ("x:(*)", exists("x")),
        ]);
    }

    #[test]
    fn field_groups() {
        check(vec![
            (
                "eventName:(CreateUser OR DeleteUser)",
                or([
                    term("eventName", "CreateUser"),
                    term("eventName", "DeleteUser"),
                ]),
            ),
            ("x:(a b)", and([term("x", "a"), term("x", "b")])),
            ("x:(a -b)", and([term("x", "a"), not(term("x", "b"))])),
            ("x:(a y:b)", and([term("x", "a"), term("y", "b")])),
            (
                "x:(a y:(b c))",
                and([term("x", "a"), term("y", "b"), term("y", "c")]),
            ),
            (
                "x:(\"a b\" c* [1 TO 2] >5)",
                and([
                    phrase("x", "a b"),
                    wild(Some("x"), "c*"),
                    range("x", inc("1"), inc("2")),
                    range("x", exc("5"), Bound::Unbounded),
                ]),
            ),
            (
                "x:(a OR b) c",
                and([or([term("x", "a"), term("x", "b")]), text("c")]),
            ),
            ("x:(a(b))", term("x", "a(b)")),
            ("(x:a)", term("x", "a")),
            ("(x:a OR y:b)", or([term("x", "a"), term("y", "b")])),
            ("x:(a)(b)", and([term("x", "a"), text("b")])),
        ]);
    }

    #[test]
    fn ranges_and_comparisons() {
        let un = || Bound::Unbounded;
        check(vec![
            ("x:[1 TO 5]", range("x", inc("1"), inc("5"))),
            ("x:{1 TO 5}", range("x", exc("1"), exc("5"))),
            ("x:[1 TO 5}", range("x", inc("1"), exc("5"))),
            ("x:{1 TO 5]", range("x", exc("1"), inc("5"))),
            ("x:[* TO 5]", range("x", un(), inc("5"))),
            ("x:[1 TO *]", range("x", inc("1"), un())),
            ("x:[* TO *]", range("x", un(), un())),
            ("x:[ 1   TO   5 ]", range("x", inc("1"), inc("5"))),
            ("x:[\"a b\" TO \"*\"]", range("x", inc("a b"), inc("*"))),
            ("x:[\\* TO a\\]]", range("x", inc("*"), inc("a]"))),
            (
                "eventTime:[2024-01-01T00:00:00Z TO 2024-02-01T00:00:00Z}",
                range(
                    "eventTime",
                    inc("2024-01-01T00:00:00Z"),
                    exc("2024-02-01T00:00:00Z"),
                ),
            ),
            ("x:>5", range("x", exc("5"), un())),
            ("x:>=5", range("x", inc("5"), un())),
            ("x:<5", range("x", un(), exc("5"))),
            ("x:<=5", range("x", un(), inc("5"))),
            ("x:>=2024-01-01", range("x", inc("2024-01-01"), un())),
            ("x:<\"a b\"", range("x", un(), exc("a b"))),
            ("x:>-1", range("x", exc("-1"), un())),
            ("x:>a*", range("x", exc("a*"), un())),
            (
                "x:[1 TO 5] AND y:>2",
                and([range("x", inc("1"), inc("5")), range("y", exc("2"), un())]),
            ),
            ("(x:<5)", range("x", un(), exc("5"))),
            ("-x:[1 TO 2]", not(range("x", inc("1"), inc("2")))),
        ]);
    }

    #[test]
    fn realistic_queries() {
        check(vec![
            (
                "eventSource:iam.amazonaws.com AND eventName:(CreateAccessKey OR \
                 CreateLoginProfile) -userIdentity.invokedBy:*",
                and([
                    term("eventSource", "iam.amazonaws.com"),
                    or([
                        term("eventName", "CreateAccessKey"),
                        term("eventName", "CreateLoginProfile"),
                    ]),
                    not(exists("userIdentity.invokedBy")),
                ]),
            ),
            (
                "errorCode:AccessDenied* sourceIPAddress:203.0.113.7",
                and([
                    wild(Some("errorCode"), "AccessDenied*"),
                    term("sourceIPAddress", "203.0.113.7"),
                ]),
            ),
            (
                "userIdentity.type:Root NOT eventType:AwsServiceEvent",
                and([
                    term("userIdentity.type", "Root"),
                    not(term("eventType", "AwsServiceEvent")),
                ]),
            ),
        ]);
    }

    /// (input, error position, a fragment of the message)
    fn check_errors(cases: Vec<(&str, usize, &str)>) {
        for (input, position, fragment) in cases {
            let err = match parse(input) {
                Ok(q) => panic!("query {input:?} parsed as {q:?}"),
                Err(e) => e,
            };
            assert_eq!(err.position, position, "query {input:?}: {err}");
            assert!(
                err.message.contains(fragment),
                "query {input:?}: message {:?} lacks {fragment:?}",
                err.message
            );
            assert!(
                err.hint.as_deref().is_some_and(|h| !h.is_empty()),
                "query {input:?} has no hint"
            );
        }
    }

    #[test]
    fn errors() {
        check_errors(vec![
            // Unbalanced parentheses: at the unmatched one.
            ("(a", 0, "never closed"),
            ("(a OR b", 0, "never closed"),
            ("a (b (c)", 2, "never closed"),
            ("x:(a", 2, "never closed"),
            ("(", 0, "never closed"),
            ("a)", 1, "no matching"),
            (")", 0, "no matching"),
            ("(a))", 3, "no matching"),
            ("x:a) b", 3, "no matching"),
            ("()", 0, "empty parentheses"),
            ("x:( )", 2, "empty parentheses"),
            // Dangling operators.
            ("a AND", 2, "\"AND\" is missing"),
            ("a AND ", 2, "\"AND\" is missing"),
            ("a OR", 2, "\"OR\" is missing"),
            ("a &&", 2, "\"&&\" is missing"),
            ("a AND OR b", 2, "\"AND\" is missing"),
            ("(a OR)", 3, "\"OR\" is missing"),
            ("OR b", 0, "needs a query on its left"),
            ("AND b", 0, "needs a query on its left"),
            ("(AND b)", 1, "needs a query on its left"),
            ("NOT", 0, "\"NOT\" is missing"),
            ("a NOT", 2, "\"NOT\" is missing"),
            ("NOT )", 0, "\"NOT\" is missing"),
            ("NOT AND a", 0, "\"NOT\" is missing"),
            ("a -", 2, "\"-\" is missing"),
            ("!", 0, "\"!\" is missing"),
            ("+", 0, "\"+\" is missing"),
            // Empty field values.
            ("eventName:", 10, "expected a value after \"eventName:\""),
            ("eventName: x", 10, "expected a value after \"eventName:\""),
            ("(eventName:)", 11, "expected a value after \"eventName:\""),
            ("x:>", 3, "expected a value after \"x:>\""),
            ("x:>= 5", 4, "expected a value after \"x:>=\""),
            ("x:(<)", 4, "expected a value after \"<\""),
            // Malformed ranges.
            ("x:[1 5]", 5, "expected \"TO\""),
            ("x:[1 to 5]", 5, "expected \"TO\""),
            ("x:[1 TO 5", 2, "never closed"),
            ("x:[1 TO", 2, "never closed"),
            ("x:[1", 2, "never closed"),
            ("x:[", 2, "never closed"),
            ("x:[1 TO 5 6]", 10, "expected \"]\" or \"}\""),
            ("x:[TO 5]", 3, "lower bound"),
            ("x:[1 TO ]", 8, "upper bound"),
            ("x:[]", 3, "lower bound"),
            ("(x:[1 TO 5)", 10, "expected \"]\" or \"}\""),
            ("[1 TO 5]", 0, "range needs a field"),
            (">5", 0, "comparison needs a field"),
            // Unterminated quotes: at the opening quote.
            ("\"abc", 0, "quote is never closed"),
            ("x:\"abc", 2, "quote is never closed"),
            ("a \"b\\\"", 2, "quote is never closed"),
            ("x:[\"a TO b]", 3, "quote is never closed"),
            // Trailing backslash.
            ("a\\", 1, "backslash"),
            ("x:ab\\", 4, "backslash"),
            ("x:[a TO b\\", 9, "backslash"),
            // _exists_ without a name.
            ("_exists_:a*", 9, "field name"),
            ("_exists_:*", 9, "field name"),
            ("_exists_:\"\"", 9, "field name"),
        ]);
    }

    #[test]
    fn the_empty_value_hint_names_the_field() {
        let err = parse("eventName:").unwrap_err();
        assert_eq!(err.message, "expected a value after \"eventName:\"");
        assert_eq!(
            err.hint.as_deref(),
            Some("quote values with spaces: eventName:\"Some Value\"")
        );
        let err = parse("eventName: CreateUser").unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .starts_with("remove the space after the colon")
        );
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok), Ok(text("a")));
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let err = parse(&deep).unwrap_err();
        assert_eq!(err.position, MAX_DEPTH);
        assert!(err.message.contains("nests more than 64"));

        let nots = format!("{}a", "-".repeat(MAX_DEPTH));
        assert!(parse(&nots).is_ok());
        let err = parse(&format!("{}a", "NOT ".repeat(MAX_DEPTH + 1))).unwrap_err();
        assert_eq!(err.position, MAX_DEPTH * 4);

        // Depth is released after each group: many shallow groups in a row are fine.
        let wide = "(a) ".repeat(10 * MAX_DEPTH);
        assert!(parse(&wide).is_ok());
        let wide_nots = "-a ".repeat(10 * MAX_DEPTH);
        assert!(parse(&wide_nots).is_ok());
    }

    #[test]
    fn positions_are_byte_offsets() {
        let err = parse("é ☃ (a").unwrap_err();
        assert_eq!(err.position, "é ☃ ".len());
        // Non-ASCII letters are not field-name characters: this is full text.
        assert_eq!(parse("é:"), Ok(text("é:")));
    }
}

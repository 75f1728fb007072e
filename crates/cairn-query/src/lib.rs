//! The cairn query language: text in, a schema-free AST out.
//!
//! Queries follow the Lucene/Loggly style that CloudTrail users already know:
//!
//! ```text
//! eventName:DeleteKeyPair AND userIdentity.userName:"monitor"
//! eventSource:iam.amazonaws.com -errorCode:* eventName:(CreateUser OR DeleteUser)
//! eventTime:[2024-01-01 TO 2024-02-01} sourceIPAddress:10.0.0.0/8
//! ```
//!
//! [`parse`] turns such text into a [`Query`]. The parser knows nothing of the index or of which
//! fields exist: `cairn-store` lowers the AST to index queries, and [`Query::fields`] lets a
//! caller warn about field names no event carries. Errors carry a byte position and a hint, and
//! [`ParseError::render`] draws a caret under the problem.
//!
//! # Grammar in brief
//!
//! - `OR` binds loosest, then `AND` (written `AND`, `&&`, or nothing at all: juxtaposition means
//!   AND, as in Loggly), then the prefix operators `NOT`, `!`, `-` (negate) and `+` (no effect).
//!   `AND`, `OR`, `NOT` and `TO` are keywords only in uppercase, as in Lucene.
//! - `field:value`, `field:"a phrase"`, `field:(a OR b)` (the field applies to every unfielded
//!   clause inside), `field:*` (the field exists), `_exists_:field`, `field:[a TO b]`,
//!   `field:{a TO b}`, `field:>=v` and friends, bare words and phrases (full text).
//! - Field names are runs of `A-Z a-z 0-9 _ . @ $ -` (or backslash-escaped characters) followed
//!   by `:`. Values after the colon may contain `:` `/` `.` `-`, so ARNs, IPv6 addresses and
//!   timestamps need no quotes. A bare word whose beginning looks like a field name followed by
//!   `:` *is* read as `field:value`, as Lucene does: `arn:aws:iam::1:root` searches the field
//!   `arn`. Quote it (`"arn:aws:iam::1:root"`) or escape the colon to search the text.
//! - A backslash escapes any character in a word. Words containing an unescaped `*` or `?`
//!   become [`Query::Wildcard`]; see its documentation for how escaped wildcard characters are
//!   kept apart from real ones.
//! - Inside a word, parentheses that open and close within the word stay part of it
//!   (`userAgent:Boto3(test)`); an unmatched `)` ends the word, closing the enclosing group.
//!   A `)` with no group to close is an error, not part of a value.
//! - Nesting (parentheses and negations together) is limited to [`MAX_DEPTH`] levels so that a
//!   hostile query cannot exhaust the stack.
//!
//! Time-range expressions for command-line flags (`7d`, `now-1h`, `2024-01-02`) live in
//! [`time`].

mod ast;
mod error;
mod parser;
pub mod time;

pub use ast::{Bound, Query};
pub use error::ParseError;
pub use parser::{MAX_DEPTH, parse};

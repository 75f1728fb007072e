//! The tokenizer of the JSON and full-text fields.
//!
//! Words are runs of letters, digits, `-` and `_`, lowercased, with leading and trailing `-`
//! and `_` trimmed. Keeping `-` and `_` inside words keeps AWS identifiers whole
//! (`sg-0abc123`, `i-0123456789abcdef0`, `us-east-1`, `aws-cli`, an `eventID` UUID): searches
//! for them are single terms instead of phrases, and the index holds half as many distinct terms
//! as with a split on every punctuation mark (measured on generated trails). `.`, `/`, `:` and
//! spaces separate words, so ARNs, hosts and paths are searchable by their parts.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

#[derive(Clone, Default)]
pub struct IdTokenizer {
    token: Token,
}

pub struct IdTokenStream<'a> {
    text: &'a str,
    pos: usize,
    token: &'a mut Token,
}

impl Tokenizer for IdTokenizer {
    type TokenStream<'a> = IdTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IdTokenStream<'a> {
        self.token.reset();
        IdTokenStream {
            text,
            pos: 0,
            token: &mut self.token,
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

impl TokenStream for IdTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        loop {
            // Skip separators.
            let rest = &self.text[self.pos..];
            let Some(start_rel) = rest.find(is_word) else {
                self.pos = self.text.len();
                return false;
            };
            let start = self.pos + start_rel;
            let end = self.text[start..]
                .find(|c: char| !is_word(c))
                .map_or(self.text.len(), |e| start + e);
            self.pos = end;
            // Trim `-` and `_` at both ends; a run of only those is no word.
            let mut s = start;
            let mut e = end;
            while s < e && matches!(bytes[s], b'-' | b'_') {
                s += 1;
            }
            while e > s && matches!(bytes[e - 1], b'-' | b'_') {
                e -= 1;
            }
            if s == e {
                continue;
            }
            let word = &self.text[s..e];
            self.token.text.clear();
            if word.is_ascii() {
                self.token.text.push_str(word);
                self.token.text.make_ascii_lowercase();
            } else {
                self.token
                    .text
                    .extend(word.chars().flat_map(char::to_lowercase));
            }
            self.token.offset_from = s;
            self.token.offset_to = e;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The full-text field's tokenizer: the words of [`IdTokenizer`], and after each word that
/// follows the one before it across a single `.`, the two joined as one more token
/// (`10.0.1.23` gives `10`, `0`, `10.0`, `1`, `0.1`, `23`, `1.23`).
///
/// The full-text field keeps no positions, so a bare phrase is found through the events that
/// hold all its tokens and then checked against the stored record. Numbers and host-name parts
/// are in most events, their dotted pairs in few: with the pairs, a bare IP address or host
/// name reads a handful of records instead of most of the store.
#[derive(Clone, Default)]
pub struct FullTextTokenizer {
    words: IdTokenizer,
}

pub struct FullTextTokenStream<'a> {
    text: &'a str,
    words: IdTokenStream<'a>,
    /// The word before, by its byte range and lowercased text.
    prev: Option<(usize, usize)>,
    prev_text: String,
    pair: Token,
    pair_next: bool,
    on_pair: bool,
}

impl Tokenizer for FullTextTokenizer {
    type TokenStream<'a> = FullTextTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FullTextTokenStream<'a> {
        FullTextTokenStream {
            text,
            words: self.words.token_stream(text),
            prev: None,
            prev_text: String::new(),
            pair: Token::default(),
            pair_next: false,
            on_pair: false,
        }
    }
}

impl TokenStream for FullTextTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.pair_next {
            self.pair_next = false;
            self.on_pair = true;
            return true;
        }
        self.on_pair = false;
        if !self.words.advance() {
            return false;
        }
        let word = self.words.token();
        if let Some((from, to)) = self.prev
            && self.text.get(to..word.offset_from) == Some(".")
        {
            self.pair.text.clear();
            self.pair.text.push_str(&self.prev_text);
            self.pair.text.push('.');
            self.pair.text.push_str(&word.text);
            self.pair.offset_from = from;
            self.pair.offset_to = word.offset_to;
            self.pair.position = word.position;
            self.pair_next = true;
        }
        self.prev = Some((word.offset_from, word.offset_to));
        self.prev_text.clear();
        self.prev_text.push_str(&word.text);
        true
    }

    fn token(&self) -> &Token {
        if self.on_pair {
            &self.pair
        } else {
            self.words.token()
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        if self.on_pair {
            &mut self.pair
        } else {
            self.words.token_mut()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(mut t: impl Tokenizer, s: &str) -> Vec<String> {
        let mut stream = t.token_stream(s);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn words(s: &str) -> Vec<String> {
        tokens(IdTokenizer::default(), s)
    }

    #[test]
    fn keeps_identifiers_whole() {
        assert_eq!(words("sg-0ABC123"), ["sg-0abc123"]);
        assert_eq!(
            words("aws-cli/2.15.0 Python/3.11"),
            ["aws-cli", "2", "15", "0", "python", "3", "11"]
        );
        assert_eq!(
            words("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com"),
            [
                "arn",
                "aws",
                "sts",
                "111122223333",
                "assumed-role",
                "admin",
                "alice",
                "example",
                "com"
            ]
        );
        assert_eq!(words("--x-- _y_ -- Ünïcode"), ["x", "y", "ünïcode"]);
        assert_eq!(
            words("7f3e2d1c-0000-4000-8000-000000000001"),
            ["7f3e2d1c-0000-4000-8000-000000000001"]
        );
        assert!(words("").is_empty());
        assert!(words(" ./:- ").is_empty());
    }

    fn full_text(s: &str) -> Vec<String> {
        tokens(FullTextTokenizer::default(), s)
    }

    #[test]
    fn full_text_adds_dotted_pairs() {
        assert_eq!(
            full_text("10.0.1.23"),
            ["10", "0", "10.0", "1", "0.1", "23", "1.23"]
        );
        assert_eq!(
            full_text("S3.AmazonAWS.com\nx"),
            [
                "s3",
                "amazonaws",
                "s3.amazonaws",
                "com",
                "amazonaws.com",
                "x"
            ]
        );
        // Only a single `.` between two words makes a pair; trimmed `-` and `_` count as
        // separators, as do lines, spaces and other marks.
        assert_eq!(full_text("a..b c. d e_.f"), ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(full_text("aws-cli/2.15"), ["aws-cli", "2", "15", "2.15"]);
        assert_eq!(full_text("über.straße"), ["über", "straße", "über.straße"]);
        assert!(full_text(". .").is_empty());
    }

    #[test]
    fn positions_count_words() {
        let mut t = IdTokenizer::default();
        let mut stream = t.token_stream("a -- b");
        let mut pos = Vec::new();
        while stream.advance() {
            pos.push(stream.token().position);
        }
        assert_eq!(pos, [0, 1]);
    }
}

//! Hostile and random input: the parser must answer (a query or an error) and never panic or
//! overflow the stack.

use std::panic::{AssertUnwindSafe, catch_unwind};

use cairn_query::{MAX_DEPTH, ParseError, Query, parse};

/// Parses `input`, turning a panic into a test failure that names the input, and checks the
/// invariants of whatever comes back.
fn parse_checked(input: &str) -> Result<Query, ParseError> {
    let result = catch_unwind(AssertUnwindSafe(|| parse(input)))
        .unwrap_or_else(|_| panic!("parse panicked on {input:?}"));
    match &result {
        Ok(query) => check_shape(query, input, 0),
        Err(err) => {
            assert!(err.position <= input.len(), "{input:?}: {err}");
            assert!(input.is_char_boundary(err.position), "{input:?}: {err}");
            assert!(err.hint.is_some(), "{input:?}: no hint");
            let rendered = catch_unwind(AssertUnwindSafe(|| err.render(input)))
                .unwrap_or_else(|_| panic!("render panicked on {input:?}"));
            assert!(rendered.contains(&err.message));
        }
    }
    result
}

/// And/Or are flat and have two clauses or more; nesting stays within the limit.
fn check_shape(query: &Query, input: &str, depth: usize) {
    assert!(depth <= MAX_DEPTH + 1, "{input:?} nests too deep");
    match query {
        Query::And(clauses) => {
            assert!(clauses.len() >= 2, "{input:?}: short And");
            for clause in clauses {
                assert!(!matches!(clause, Query::And(_)), "{input:?}: nested And");
                check_shape(clause, input, depth + 1);
            }
        }
        Query::Or(clauses) => {
            assert!(clauses.len() >= 2, "{input:?}: short Or");
            for clause in clauses {
                assert!(!matches!(clause, Query::Or(_)), "{input:?}: nested Or");
                check_shape(clause, input, depth + 1);
            }
        }
        Query::Not(inner) => check_shape(inner, input, depth + 1),
        _ => {}
    }
}

#[test]
fn odd_inputs() {
    let inputs = [
        "\0",
        "\u{feff}",
        "\\",
        "\"",
        "\"\\",
        "(((",
        ")))",
        "[",
        "{",
        "]",
        "}",
        "x:[",
        "x:{* TO",
        "x:[* TO *",
        ":::",
        "*:",
        ":*",
        "-",
        "--",
        "!!!",
        "+-!",
        "NOT NOT",
        "&&",
        "||",
        "AND OR NOT",
        "\u{1F600}:x",
        "x:\u{1F600}",
        "é\\",
        "x:\"\\",
        "a\u{0}b:c",
        "\r\n\t",
        "x:(y:(z:(",
        "x:>",
        "x:>=",
        "x:<\"",
        "_exists_:",
        "_exists_:(",
        "\u{202e}x:y",
        "ﾟ:ﾟ",
        "x:\u{85}",
        "\u{3000}AND\u{3000}",
        "a\\\u{1F600}",
        "TO TO TO",
        "x:[TO TO TO]",
        "x:[a TO b]]",
        "x:[[a TO b]",
    ];
    for input in inputs {
        let _ = parse_checked(input);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let n = 100_000;
    let cases = [
        "(".repeat(n),
        format!("{}a{}", "(".repeat(n), ")".repeat(n)),
        "NOT ".repeat(n) + "a",
        "-".repeat(n) + "a",
        "!".repeat(n) + "a",
        "x:(".repeat(n),
        "(NOT ".repeat(n) + "a",
        "+".repeat(n) + "a",
    ];
    for input in &cases {
        let result = parse_checked(input);
        if input.starts_with('+') {
            // `+` does not nest: a long run of it is harmless.
            assert!(result.is_ok());
        } else {
            let err = result.unwrap_err();
            assert!(err.message.contains("nests more than"), "{err}");
        }
    }
}

#[test]
fn long_flat_queries_are_fine() {
    let n = 20_000;
    let and = "eventName:x ".repeat(n);
    assert!(matches!(parse_checked(&and), Ok(Query::And(c)) if c.len() == n));
    let or = vec!["a"; n].join(" OR ");
    assert!(matches!(parse_checked(&or), Ok(Query::Or(c)) if c.len() == n));
    let word = "a".repeat(1 << 20);
    assert!(parse_checked(&word).is_ok());
}

/// A small deterministic generator (xorshift), so failures reproduce without a seed file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_token_soup_never_panics() {
    const PIECES: &[&str] = &[
        "a",
        "eventName",
        "x:",
        "json.a.b:",
        "_exists_:",
        "(",
        ")",
        "\"",
        "\\",
        "*",
        "?",
        "[",
        "]",
        "{",
        "}",
        " TO ",
        "TO",
        "to",
        "AND",
        " AND ",
        " OR ",
        "OR",
        "NOT ",
        "NOT",
        "-",
        "+",
        "!",
        "&&",
        "||",
        ">",
        ">=",
        "<",
        "<=",
        ":",
        " ",
        "  ",
        "\t",
        "\n",
        "é",
        "☃",
        "\u{1F600}",
        "1",
        "2024-01-01T00:00:00Z",
        "arn:aws:iam::1:root",
        "10.0.0.0/8",
        "\\*",
        "\\ ",
        "*:*",
        "\0",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..30_000 {
        let len = rng.below(24);
        let input: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        if parse_checked(&input).is_ok() {
            parsed += 1;
        }
    }
    // The soup should exercise both paths, not only errors.
    assert!(parsed > 1_000, "only {parsed} inputs parsed");
}

#[test]
fn random_bytes_never_panic() {
    const ALPHABET: &[u8] = b"()[]{}\":\\*?-+! ATONRxy>=<&|";
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..20_000 {
        let len = rng.below(32);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                // Mostly ASCII punctuation and letters, sometimes high bytes.
                let b = rng.below(256) as u8;
                if b < 200 {
                    ALPHABET[b as usize % ALPHABET.len()]
                } else {
                    b
                }
            })
            .collect();
        let input = String::from_utf8_lossy(&bytes);
        let _ = parse_checked(&input);
    }
}

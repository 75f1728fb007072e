//! Errors through the public API: every error has a position and a hint, and `render` draws
//! the caret where the problem is (snapshots under `tests/snapshots/`).

use cairn_query::parse;

fn render(query: &str) -> String {
    match parse(query) {
        Ok(q) => panic!("query {query:?} parsed as {q:?}"),
        Err(e) => e.render(query),
    }
}

#[test]
fn render_empty_value() {
    insta::assert_snapshot!("render_empty_value", render("eventName: AND x"));
}

#[test]
fn render_unclosed_paren() {
    insta::assert_snapshot!(
        "render_unclosed_paren",
        render("eventSource:s3.amazonaws.com (eventName:PutObject OR eventName:GetObject")
    );
}

#[test]
fn render_unterminated_quote() {
    insta::assert_snapshot!(
        "render_unterminated_quote",
        render(r#"userIdentity.userName:"monitor AND eventName:X"#)
    );
}

#[test]
fn render_range_without_to() {
    insta::assert_snapshot!(
        "render_range_without_to",
        render("eventTime:[2024-01-01 2024-02-01]")
    );
}

#[test]
fn render_dangling_operator_after_unicode() {
    // The caret counts characters, not bytes.
    insta::assert_snapshot!("render_dangling_operator", render("userName:José OR"));
}

#[test]
fn every_error_has_a_position_inside_the_input_and_a_hint() {
    let cases = [
        ("(a", 0),
        ("a)", 1),
        ("a AND", 2),
        ("OR b", 0),
        ("NOT", 0),
        ("eventName:", 10),
        ("x:[1 5]", 5),
        ("x:[1 TO 5", 2),
        ("\"abc", 0),
        ("abc\\", 3),
        ("()", 0),
        ("[1 TO 2]", 0),
    ];
    for (query, position) in cases {
        let err = parse(query).unwrap_err();
        assert_eq!(err.position, position, "{query:?}: {err}");
        assert!(err.position <= query.len());
        assert!(err.hint.is_some(), "{query:?} has no hint");
        assert!(
            err.to_string()
                .ends_with(&format!("at position {position}")),
            "{err}"
        );
    }
}

//! The AST of representative queries, as JSON snapshots under `tests/snapshots/`.
//!
//! Each snapshot's `description` is the query text, so a reviewer can read query and AST side
//! by side. Regenerate with `INSTA_UPDATE=always cargo test -p cairn-query`, then read the diff.

use cairn_query::parse;

fn snapshot(name: &str, query: &str) {
    let ast = parse(query)
        .unwrap_or_else(|e| panic!("query {query:?} failed to parse:\n{}", e.render(query)));
    insta::with_settings!({ description => query, omit_expression => true }, {
        insta::assert_json_snapshot!(name, ast);
    });
}

macro_rules! snapshots {
    ($($name:ident: $query:expr,)*) => {
        $(
            #[test]
            fn $name() {
                snapshot(stringify!($name), $query);
            }
        )*
    };
}

snapshots! {
    loggly_verbatim: r#"logtype:cloudtrail AND json.eventName:"GetTrailStatus" AND json.userIdentity.userName:"monitor""#,
    delete_key_pair: r#"eventName:DeleteKeyPair AND userIdentity.userName:"monitor""#,
    empty: "  ",
    star_colon_star: "*:*",
    implicit_and: "eventSource:iam.amazonaws.com eventName:CreateUser",
    or_binds_looser_than_implicit_and: "a OR b c",
    negations: "NOT errorCode:* -readOnly:true !eventType:AwsServiceEvent +userIdentity.type:Root",
    field_group: "eventName:(CreateUser OR DeleteUser)",
    field_group_mixed: r#"eventName:(Create* -CreateTags "Put Bucket" >M)"#,
    nested_groups: "(eventName:Delete* OR eventName:Put*) AND NOT (userIdentity.type:AWSService OR _exists_:userIdentity.invokedBy)",
    flattening: "(a AND (b AND c)) AND d OR (e OR f)",
    symbol_operators: "a && b || c && !d",
    lowercase_keywords_are_words: "deny and allow",
    full_text: r#"AccessDenied "access key" s3"#,
    wildcard_escapes: r"requestParameters.key:logs/2024\*/*.gz",
    range_inclusive: "eventTime:[2024-01-01T00:00:00Z TO 2024-02-01T00:00:00Z]",
    range_mixed_open: "eventTime:{2024-01-01 TO *]",
    range_quoted: r#"userAgent:["aws-cli/2.0" TO "aws-cli/3.0"}"#,
    comparisons: "eventTime:>=2024-01-01 eventTime:<2024-02-01 responseElements.count:>10 x:<=5",
    arn_unquoted: "userIdentity.arn:arn:aws:iam::123456789012:user/alice",
    ip_addresses: "sourceIPAddress:2001:db8::1 OR sourceIPAddress:10.0.0.0/8",
    phrase_escapes: r#"userAgent:"say \"hi\" from C:\tools\\""#,
    exists_forms: "_exists_:errorCode errorMessage:*",
    bare_word_with_colon_is_fielded: "arn:aws:s3:::my-bucket",
    json_prefix_kept: "json.requestParameters.x-amz-acl:public-read-write",
    unicode: r#"userIdentity.userName:José "naïve ☃""#,
    console_login_failure: "eventName:ConsoleLogin responseElements.ConsoleLogin:Failure -additionalEventData.MFAUsed:Yes",
}

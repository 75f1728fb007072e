//! The store end to end on hand-written records: every query form, dedupe, the ledger, bad
//! input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_model::{Object, ObjectMeta};
use cairn_store::search::{Lookup, TimeRange};
use cairn_store::{IngestOptions, IngestReport, Progress, Scope, Store};
use serde_json::json;

struct Bytes(ObjectMeta, Vec<u8>);

impl Object for Bytes {
    fn meta(&self) -> &ObjectMeta {
        &self.0
    }
    fn open(self: Box<Self>) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.1)))
    }
}

fn object(key: &str, data: Vec<u8>) -> Box<dyn Object> {
    let version = format!("{}", data.len());
    Box::new(Bytes(
        ObjectMeta {
            location: key.into(),
            key: key.into(),
            size: Some(data.len() as u64),
            version,
        },
        data,
    ))
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn wrap(records: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Records covering the identity types, big values, IPs and service names.
fn records() -> Vec<serde_json::Value> {
    vec![
        json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/monitor","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE1","userName":"monitor"},
            "eventTime":"2024-03-05T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"GetTrailStatus","awsRegion":"us-east-1",
            "sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.15.0 Python/3.11.6","requestParameters":{"name":"main-trail"},"responseElements":null,
            "requestID":"r1","eventID":uuid(1),"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}),
        json!({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAX:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountId":"111122223333","accessKeyId":"ASIAEXAMPLE2","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"}}},
            "eventTime":"2024-03-05T11:30:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1",
            "sourceIPAddress":"203.0.113.7","userAgent":"console.amazonaws.com",
            "requestParameters":{"groupId":"sg-0abc123","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},
            "responseElements":{"_return":true},"requestID":"r2","eventID":uuid(2),"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333",
            "resources":[{"ARN":"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0abc123","accountId":"111122223333","type":"AWS::EC2::SecurityGroup"}],"eventCategory":"Management"}),
        json!({"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"444455556666","arn":"arn:aws:iam::444455556666:root","accountId":"444455556666"},
            "eventTime":"2024-03-06T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",
            "sourceIPAddress":"2001:db8::5","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},
            "additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"},"eventID":uuid(3),"eventType":"AwsConsoleSignIn","recipientAccountId":"444455556666","eventCategory":"Management"}),
        json!({"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},
            "eventTime":"2024-03-06T09:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1",
            "sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{"encryptionContext":{"aws:ebs:id":"vol-1"}},
            "eventID":uuid(4),"readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"444455556666","errorCode":"AccessDenied","errorMessage":"User is not authorized"}),
        // A CloudFormation template far beyond Lucene's 32 KB term limit.
        json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"deployer","accessKeyId":"AKIAEXAMPLE3","arn":"arn:aws:iam::111122223333:user/deployer"},
            "eventTime":"2024-03-07T12:00:00Z","eventSource":"cloudformation.amazonaws.com","eventName":"CreateStack","awsRegion":"us-west-2",
            "sourceIPAddress":"198.51.100.9","userAgent":"Boto3/1.34.0","requestParameters":{"stackName":"big","templateBody":format!("{}needleinthehaystack{}", "x ".repeat(30_000), " y".repeat(30_000))},
            "eventID":uuid(5),"eventType":"AwsApiCall","recipientAccountId":"111122223333","readOnly":false}),
    ]
}

struct Env {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    Env { _dir: dir, path }
}

fn run(path: &Path, objects: Vec<Box<dyn Object>>) -> IngestReport {
    let store = Store::open_or_create(path).unwrap();
    let opts = IngestOptions {
        threads: 2,
        ..IngestOptions::default()
    };
    cairn_store::ingest::ingest(&store, objects, &opts, &Arc::new(Progress::default())).unwrap()
}

fn count(store: &Store, q: &str) -> u64 {
    let ast = cairn_query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let c = store
        .compile(&ast, TimeRange::default(), &Scope::ALL)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    store.count(&c).unwrap()
}

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T1005Z_AbCdEf0123456789.json.gz";

#[test]
fn every_query_form() {
    let e = env();
    let r = run(&e.path, vec![object(KEY, gz(&wrap(&records())))]);
    assert_eq!((r.events_indexed, r.objects_failed), (5, 0), "{r:?}");
    let s = Store::open(&e.path).unwrap();
    let cases: &[(&str, u64)] = &[
        ("", 5),
        ("*", 5),
        (
            "logtype:cloudtrail AND json.eventName:\"GetTrailStatus\" AND json.userIdentity.userName:\"monitor\"",
            1,
        ),
        (
            "eventName:GetTrailStatus AND userIdentity.userName:\"monitor\"",
            1,
        ),
        ("eventName:gettrailstatus", 1),
        ("eventName:Delete*", 0),
        ("eventName:Authorize*", 1),
        ("eventName:*Login", 1),
        ("eventName:Console?ogin", 1),
        ("requestParameters.groupId:sg-0abc123", 1),
        (
            "userIdentity.sessionContext.sessionIssuer.userName:Admin",
            1,
        ),
        ("requestParameters.ipPermissions.items.fromPort:22", 1),
        (
            "requestParameters.ipPermissions.items.fromPort:[20 TO 25]",
            1,
        ),
        ("requestParameters.ipPermissions.items.fromPort:>22", 0),
        (
            "requestParameters.ipPermissions.items.ipRanges.items.cidrIp:\"0.0.0.0/0\"",
            1,
        ),
        (
            "additionalEventData.MFAUsed:No AND userIdentity.type:Root",
            1,
        ),
        ("userAgent:aws-cli", 1),
        ("userAgent:*boto3*", 1),
        ("sourceIPAddress:10.0.0.0/8", 1),
        ("sourceIPAddress:203.0.113.7", 1),
        ("sourceIPAddress:2001:db8::/32", 1),
        ("sourceIPAddress:[10.0.0.0 TO 10.255.255.255]", 1),
        ("sourceIPAddress:ec2.amazonaws.com", 1),
        ("readOnly:true", 2),
        ("readOnly:false", 2),
        ("eventTime:2024-03-05", 2),
        ("eventTime:[2024-03-05 TO 2024-03-06]", 4),
        ("eventTime:{2024-03-05 TO 2024-03-07}", 2),
        ("eventTime:>=2024-03-07", 1),
        ("eventTime:<2024-03-06T00:00:00Z", 2),
        ("eventTime:\"2024-03-05T10:00:00Z\"", 1),
        ("errorCode:*", 1),
        ("_exists_:errorCode", 1),
        ("NOT errorCode:*", 4),
        ("-errorCode:* AND readOnly:true", 1),
        ("requestParameters.encryptionContext:*", 1),
        ("needleinthehaystack", 1),
        ("requestParameters.templateBody:needleinthehaystack", 1),
        ("\"not authorized\"", 1),
        // Both words are there, but not in this order: the phrase does not match.
        ("\"authorized not\"", 0),
        ("\"user is\"", 1),
        ("\"not user\"", 0),
        ("\"is not authorized\"", 1),
        ("authorized", 1),
        // Phrases among other clauses, negated, and a bare IP address (a phrase of numbers).
        ("\"is not authorized\" AND readOnly:true", 1),
        ("\"is not authorized\" AND readOnly:false", 0),
        ("NOT \"not authorized\"", 4),
        ("\"not authorized\" OR needleinthehaystack", 2),
        ("203.0.113.7", 1),
        ("203.0.113.8", 0),
        ("ec2.amazonaws.com", 2),
        ("AccessDenied OR ConsoleLogin", 2),
        (
            "(eventName:Decrypt OR eventName:ConsoleLogin) AND awsRegion:us-east-1",
            2,
        ),
        ("eventName:(Decrypt OR CreateStack)", 2),
        ("principal:Admin/alice", 1),
        ("principal:root", 1),
        ("principal:ec2.amazonaws.com", 1),
        ("principal:Admin*", 1),
        ("username:alice", 1),
        ("account:444455556666", 2),
        ("recipientAccountId:111122223333", 3),
        ("resources.type:AWS\\:\\:EC2\\:\\:SecurityGroup", 1),
        ("eventSource:ec2.amazonaws.com", 1),
        ("noSuchField:x", 0),
        ("cairn.object:*", 5),
    ];
    for (q, want) in cases {
        assert_eq!(count(&s, q), *want, "query {q}");
    }

    // Newest first, and the original bytes kept.
    let all = s
        .compile(&cairn_query::Query::All, TimeRange::default(), &Scope::ALL)
        .unwrap();
    let hits = s.search(&all, 10, 0).unwrap();
    let times: Vec<String> = hits
        .iter()
        .map(|h| h.record()["eventTime"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert!(hits.iter().all(|h| h.object == KEY));
    let original = serde_json::to_vec(&records()[2]).unwrap();
    assert_eq!(s.get(&uuid(3), &Scope::ALL).unwrap().unwrap().raw, original);

    // Lookups, Event-history style.
    let lk = |l: Lookup| {
        s.count(
            &s.compile_lookup(&l, TimeRange::default(), &Scope::ALL)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        lk(Lookup {
            username: Some("alice".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            username: Some("root".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            access_key_id: Some("AKIAEXAMPLE1".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            resource_name: Some("sg-0abc123".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            resource_type: Some("AWS::EC2::SecurityGroup".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            read_only: Some(true),
            event_source: Some("kms.amazonaws.com".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lk(Lookup {
            event_name: Some("Decrypt".into()),
            read_only: Some(false),
            ..Default::default()
        }),
        0
    );

    // Aggregations.
    let (top, _) = s.top("awsRegion", &all, 10).unwrap();
    assert_eq!(top[0], ("us-east-1".to_string(), 3));
    let (top, _) = s.top("requestParameters.groupId", &all, 10).unwrap();
    assert_eq!(top, vec![("sg-0abc123".to_string(), 1)]);
    let line = s.timeline(&all, 86_400).unwrap();
    assert_eq!(
        line.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let stats = s.stats(&Scope::ALL).unwrap();
    assert_eq!(stats.events, 5);
    assert_eq!(stats.accounts.len(), 2);
    assert!(s.has_field("requestParameters.groupId").unwrap());
    assert!(!s.has_field("requestParameters.nope").unwrap());
}

#[test]
fn a_reader_sees_each_commit_of_another_writer() {
    let e = env();
    let recs = records();
    run(&e.path, vec![object(KEY, gz(&wrap(&recs[..2])))]);
    // A long-lived reader, as `cairn serve` beside a separate `ingest --follow`.
    let reader = Store::open(&e.path).unwrap();
    assert_eq!(count(&reader, "*"), 2);
    assert_eq!(count(&reader, "*"), 2, "asked again with nothing new");
    let other = KEY.replace("AbCdEf0123456789", "ZZZZZZ0123456789");
    run(&e.path, vec![object(&other, gz(&wrap(&recs[2..3])))]);
    assert_eq!(count(&reader, "*"), 3, "the next question sees the commit");
    let third = KEY.replace("AbCdEf0123456789", "YYYYYY0123456789");
    run(&e.path, vec![object(&third, gz(&wrap(&recs[3..])))]);
    assert_eq!(count(&reader, "*"), recs.len() as u64);
}

#[test]
fn duplicates_and_reruns() {
    let e = env();
    let recs = records();
    let first = object(KEY, gz(&wrap(&recs[..3])));
    // The same events again in another file, plus one new.
    let other = KEY.replace("AbCdEf0123456789", "ZZZZZZ0123456789");
    let second = object(
        &other,
        gz(&wrap(&[recs[1].clone(), recs[2].clone(), recs[3].clone()])),
    );
    let r = run(&e.path, vec![first, second]);
    assert_eq!((r.events_indexed, r.duplicates_dropped), (4, 2), "{r:?}");
    // The same objects again: nothing is read.
    let r = run(
        &e.path,
        vec![
            object(KEY, gz(&wrap(&recs[..3]))),
            object(&other, gz(&wrap(&recs[1..4]))),
        ],
    );
    assert_eq!(
        (r.objects_read, r.objects_unchanged, r.events_indexed),
        (0, 2, 0),
        "{r:?}"
    );
    // A changed object is read again; its known events are dropped as duplicates.
    let r = run(&e.path, vec![object(KEY, gz(&wrap(&recs)))]);
    assert_eq!(
        (r.objects_read, r.events_indexed, r.duplicates_dropped),
        (1, 1, 4),
        "{r:?}"
    );
    assert_eq!(count(&Store::open(&e.path).unwrap(), "*"), 5);
}

#[test]
fn bad_input_is_named_and_the_rest_ingested() {
    let e = env();
    let recs = records();
    let good = gz(&wrap(&recs[..2]));
    let mut truncated = gz(&wrap(&recs[2..4]));
    truncated.truncate(truncated.len() - 20);
    let mut trailing = gz(&wrap(&recs[4..5]));
    trailing.extend_from_slice(b"junk");
    // Without an eventID: a CloudTrail-looking record is kept under an id derived from its
    // content; an object with nothing of CloudTrail is skipped, named.
    let missing = wrap(&[
        json!({"eventTime":"2024-03-05T10:00:00Z","note":"NoId"}),
        json!({"eventTime":"2024-03-05T10:00:00Z","eventName":"NoId"}),
    ]);
    let digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240305T120512Z.json.gz";
    let r = run(
        &e.path,
        vec![
            object("good.json.gz", good),
            object("truncated.json.gz", truncated),
            object("trailing.json.gz", trailing),
            object(
                "corrupt.json.gz",
                vec![
                    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe, 0xfd, 0, 1, 2,
                ],
            ),
            object("missing-id.json", missing),
            object("empty.json", Vec::new()),
            object("notes.json", b"this is not json".to_vec()),
            object(digest_key, gz(b"{\"digestStartTime\":\"x\"}")),
            object(
                "AWSLogs/111122223333/Config/ConfigWritabilityCheckFile",
                b"x".to_vec(),
            ),
        ],
    );
    let failed: Vec<&str> = r.failures.iter().map(|f| f.object.as_str()).collect();
    assert_eq!(
        failed
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            "corrupt.json.gz",
            "empty.json",
            "missing-id.json",
            "notes.json",
            "trailing.json.gz",
            "truncated.json.gz"
        ]
        .into(),
        "{r:#?}"
    );
    let why = |o: &str| {
        r.failures
            .iter()
            .find(|f| f.object == o)
            .unwrap()
            .errors
            .join("; ")
    };
    assert!(
        why("truncated.json.gz").contains("truncated"),
        "{}",
        why("truncated.json.gz")
    );
    assert!(
        why("trailing.json.gz").contains("trailing bytes"),
        "{}",
        why("trailing.json.gz")
    );
    assert!(
        why("corrupt.json.gz").contains("gzip") || why("corrupt.json.gz").contains("truncated"),
        "{}",
        why("corrupt.json.gz")
    );
    assert!(
        why("missing-id.json").contains("eventID"),
        "{}",
        why("missing-id.json")
    );
    assert!(why("empty.json").contains("empty"), "{}", why("empty.json"));
    assert!(
        why("notes.json").contains("not a CloudTrail file"),
        "{}",
        why("notes.json")
    );
    assert_eq!(r.objects_skipped.values().sum::<u64>(), 2, "{r:?}");
    // The good file, the record before the truncation, the one before the trailing junk and
    // the one without an id are in.
    assert_eq!(r.events_indexed, 5, "{r:?}");
    assert_eq!(
        r.events_repaired,
        [("synthetic_event_id".to_string(), 1)].into(),
        "{r:?}"
    );
    assert!(r.has_failures());
    // Failed objects are remembered, and retried by the next run.
    let ledger = Store::open(&e.path).unwrap().ledger().unwrap();
    assert_eq!(
        ledger.get("notes.json").unwrap().status,
        cairn_store::Status::Failed
    );
    let r2 = run(
        &e.path,
        vec![object("notes.json", b"this is not json".to_vec())],
    );
    assert_eq!(r2.objects_failed, 1);
}

#[test]
fn a_second_writer_fails_clearly() {
    let e = env();
    let store = Store::open_or_create(&e.path).unwrap();
    let _w = store
        .writer(1, 32 << 20, cairn_store::LockWait::Fail)
        .unwrap();
    let other = Store::open(&e.path).unwrap();
    let err = other
        .writer(1, 32 << 20, cairn_store::LockWait::Fail)
        .unwrap_err();
    assert!(err.to_string().contains("another cairn process"), "{err}");
}

//! What one SQS message names (CLOUDTRAIL.md §3): the body in, the objects to fetch out.
//!
//! Shapes understood, at the top level or inside an SNS envelope's `Message` string:
//! - **S3 event notification**: `{"Records":[{"eventSource":"aws:s3","eventName":
//!   "ObjectCreated:Put","s3":{"bucket":{"name":..},"object":{"key":..}}}]}`; keys are
//!   form-encoded and decoded here ([`decode_s3_event_key`]);
//! - **CloudTrail's SNS notification**: `{"s3Bucket":..,"s3ObjectKey":[..]}`; keys as is;
//! - **EventBridge** `Object Created`: `{"source":"aws.s3","detail-type":..,"detail":{..}}`;
//!   keys as is;
//! - the **S3 test event** `{"Service":"Amazon S3","Event":"s3:TestEvent",..}`, which only
//!   asks to be deleted.
//!
//! An SNS envelope (`{"Type":"Notification","Message":"<json>",..}`) is unwrapped once; with
//! raw message delivery the inner JSON arrives bare and is read the same way. Anything else is
//! a [`NotifyError`] whose reason says what was wrong.

use serde::Serialize;
use serde_json::{Map, Value};

/// Which shape a message had (for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// An S3 event notification sent straight to SQS.
    S3Event,
    /// An S3 event notification wrapped by SNS.
    SnsS3Event,
    /// CloudTrail's own notification, `{"s3Bucket":..,"s3ObjectKey":[..]}` (SNS-wrapped or raw).
    CloudTrailSns,
    /// An EventBridge S3 event sent straight to SQS.
    EventBridge,
    /// An EventBridge S3 event wrapped by SNS.
    SnsEventBridge,
    /// The S3 test event sent when a notification is configured.
    S3TestEvent,
}

/// One object a notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifiedObject {
    pub bucket: String,
    /// The object key, decoded (S3 event notifications URL-encode it; the others do not).
    pub key: String,
    pub size: Option<u64>,
    /// The ETag without its surrounding quotes.
    pub etag: Option<String>,
}

/// What one message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// Objects to fetch. May be empty, e.g. an S3 event whose records are all
    /// `ObjectRemoved:*`: those are ignored, but the message is still understood.
    Objects {
        shape: Shape,
        objects: Vec<NotifiedObject>,
    },
    /// The S3 test event sent when notifications are configured: delete it.
    Test,
}

/// Why a message body is not a notification cairn understands: one clear line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NotifyError {
    pub reason: String,
}

fn fail<T>(reason: impl Into<String>) -> Result<T, NotifyError> {
    Err(NotifyError {
        reason: reason.into(),
    })
}

/// Parses the body of one SQS message into what it names.
pub fn parse(body: &str) -> Result<Notification, NotifyError> {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => parse_value(&value, false),
        Err(e) => fail(format!("not JSON: {e}")),
    }
}

/// Decodes an S3 event key: percent-encoding, and `+` as space (S3 event notifications encode
/// keys as form values). Invalid escapes are kept literally; decoded bytes that are not UTF-8
/// (never a real S3 key) become U+FFFD.
pub fn decode_s3_event_key(key: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = bytes
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(bytes.get(i + 2).copied().and_then(hex));
                if let Some((hi, lo)) = pair {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn parse_value(value: &Value, in_sns: bool) -> Result<Notification, NotifyError> {
    let Some(obj) = value.as_object() else {
        return fail(format!(
            "JSON {}, not an object: not a notification cairn knows",
            kind(value)
        ));
    };
    if obj.contains_key("Records") {
        let shape = if in_sns {
            Shape::SnsS3Event
        } else {
            Shape::S3Event
        };
        return s3_event(obj, shape);
    }
    if obj.contains_key("s3Bucket") {
        return cloudtrail(value);
    }
    if obj.contains_key("Message") {
        if in_sns {
            return fail("SNS Message holds another SNS envelope");
        }
        return sns(obj);
    }
    if obj.contains_key("detail") {
        let shape = if in_sns {
            Shape::SnsEventBridge
        } else {
            Shape::EventBridge
        };
        return eventbridge(value, shape);
    }
    if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    let keys: Vec<String> = obj.keys().take(10).map(|k| show(k)).collect();
    let more = if obj.len() > 10 { ", ..." } else { "" };
    fail(format!(
        "JSON without Records, s3Bucket, Message, detail or Event: not a notification cairn knows (keys: {}{more})",
        keys.join(", ")
    ))
}

fn sns(obj: &Map<String, Value>) -> Result<Notification, NotifyError> {
    match obj.get("Type") {
        None => {}
        Some(Value::String(t)) if t == "Notification" => {}
        Some(Value::String(t)) if t == "SubscriptionConfirmation" => {
            return fail(
                "SNS SubscriptionConfirmation: a subscription confirmation, not a notification (confirm it with its SubscribeURL)",
            );
        }
        Some(Value::String(t)) => {
            return fail(format!(
                "SNS message of Type {}, not a Notification",
                show(t)
            ));
        }
        Some(other) => return fail(format!("SNS Type is {}, not a string", kind(other))),
    }
    let message = match obj.get("Message") {
        Some(Value::String(m)) => m,
        Some(other) => return fail(format!("SNS Message is {}, not a string", kind(other))),
        None => return fail("SNS envelope has no Message"),
    };
    let inner: Value = match serde_json::from_str(message) {
        Ok(v) => v,
        Err(e) => return fail(format!("SNS Message is not JSON: {e}")),
    };
    parse_value(&inner, true).map_err(|e| NotifyError {
        reason: format!("SNS Message: {}", e.reason),
    })
}

fn s3_event(obj: &Map<String, Value>, shape: Shape) -> Result<Notification, NotifyError> {
    let Some(records) = obj.get("Records").and_then(Value::as_array) else {
        return fail("Records is not an array");
    };
    let mut objects = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let ctx = format!("S3 event record {i}");
        if !record.is_object() {
            return fail(format!("{ctx} is {}, not an object", kind(record)));
        }
        let source = req_str(record, "eventSource", &ctx)?;
        if source != "aws:s3" {
            let hint = if record.get("eventID").is_some() {
                " (a CloudTrail log record, not a notification)"
            } else {
                ""
            };
            return fail(format!(
                "{ctx} has eventSource {}, not aws:s3{hint}",
                show(source)
            ));
        }
        if !req_str(record, "eventName", &ctx)?.starts_with("ObjectCreated:") {
            continue;
        }
        objects.push(NotifiedObject {
            bucket: req_str(record, "s3.bucket.name", &ctx)?.to_owned(),
            key: decode_s3_event_key(req_str(record, "s3.object.key", &ctx)?),
            size: opt_u64(record, "s3.object.size", &ctx)?,
            etag: opt_etag(record, "s3.object.eTag", &ctx)?,
        });
    }
    Ok(Notification::Objects { shape, objects })
}

fn cloudtrail(value: &Value) -> Result<Notification, NotifyError> {
    let ctx = "CloudTrail notification";
    let bucket = req_str(value, "s3Bucket", ctx)?;
    let keys = match value.get("s3ObjectKey") {
        Some(Value::Array(keys)) => keys,
        Some(other) => {
            return fail(format!(
                "{ctx}: s3ObjectKey is {}, not an array",
                kind(other)
            ));
        }
        None => return fail(format!("{ctx} has no s3ObjectKey")),
    };
    let mut objects = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        match key.as_str() {
            Some(k) if !k.is_empty() => objects.push(NotifiedObject {
                bucket: bucket.to_owned(),
                key: k.to_owned(),
                size: None,
                etag: None,
            }),
            Some(_) => return fail(format!("{ctx}: s3ObjectKey[{i}] is empty")),
            None => {
                return fail(format!(
                    "{ctx}: s3ObjectKey[{i}] is {}, not a string",
                    kind(key)
                ));
            }
        }
    }
    Ok(Notification::Objects {
        shape: Shape::CloudTrailSns,
        objects,
    })
}

fn eventbridge(value: &Value, shape: Shape) -> Result<Notification, NotifyError> {
    let ctx = "EventBridge event";
    let source = req_str(value, "source", ctx)?;
    if source != "aws.s3" {
        return fail(format!("{ctx} from source {}, not aws.s3", show(source)));
    }
    let mut objects = Vec::new();
    if req_str(value, "detail-type", ctx)? == "Object Created" {
        objects.push(NotifiedObject {
            bucket: req_str(value, "detail.bucket.name", ctx)?.to_owned(),
            key: req_str(value, "detail.object.key", ctx)?.to_owned(),
            size: opt_u64(value, "detail.object.size", ctx)?,
            etag: opt_etag(value, "detail.object.etag", ctx)?,
        });
    }
    Ok(Notification::Objects { shape, objects })
}

/// The value at a dotted path; `null` counts as absent.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, name| v.get(name))
        .filter(|v| !v.is_null())
}

/// A required, non-empty string at a dotted path; `ctx` names the thing in errors.
fn req_str<'a>(value: &'a Value, path: &str, ctx: &str) -> Result<&'a str, NotifyError> {
    match lookup(value, path) {
        None => fail(format!("{ctx} has no {path}")),
        Some(Value::String(s)) if s.is_empty() => fail(format!("{ctx} has an empty {path}")),
        Some(Value::String(s)) => Ok(s),
        Some(other) => fail(format!("{ctx}: {path} is {}, not a string", kind(other))),
    }
}

fn opt_u64(value: &Value, path: &str, ctx: &str) -> Result<Option<u64>, NotifyError> {
    match lookup(value, path) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(n)),
            None => fail(format!("{ctx}: {path} is {}, not a size in bytes", kind(v))),
        },
    }
}

fn opt_etag(value: &Value, path: &str, ctx: &str) -> Result<Option<String>, NotifyError> {
    match lookup(value, path) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let bare = s
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(s);
            Ok((!bare.is_empty()).then(|| bare.to_owned()))
        }
        Some(other) => fail(format!("{ctx}: {path} is {}, not a string", kind(other))),
    }
}

/// What a JSON value is, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string from the message, quoted, escaped and shortened so the reason stays one short line.
fn show(s: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    format!("\"{out}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: &str = "org-trail-logs";
    const KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2024/05/06/111122223333_CloudTrail_us-east-1_20240506T1015Z_AbCdEf0123456789.json.gz";

    /// An S3 event notification as S3 writes it to SQS, with the key URL-encoded.
    fn s3_event_body(event_name: &str, key: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-05-06T10:15:42.123Z","eventName":"{event_name}","userIdentity":{{"principalId":"AWS:AROAEXAMPLEID:regionalDeliverySession"}},"requestParameters":{{"sourceIPAddress":"10.0.12.34"}},"responseElements":{{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"}},"s3":{{"s3SchemaVersion":"1.0","configurationId":"cairn-ingest","bucket":{{"name":"{BUCKET}","ownerIdentity":{{"principalId":"A3NL1KOZZKEXAMPLE"}},"arn":"arn:aws:s3:::{BUCKET}"}},"object":{{"key":"{key}","size":2748,"eTag":"0c4a7b1e2f3d4c5b6a7980a1b2c3d4e5","sequencer":"00663BD2A6E2F1C9A4"}}}}}}]}}"#
        )
    }

    /// An SNS envelope as SNS delivers it to SQS without raw message delivery.
    fn sns_body(message: &str) -> String {
        format!(
            r#"{{
  "Type" : "Notification",
  "MessageId" : "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
  "TopicArn" : "arn:aws:sns:us-east-1:111122223333:cloudtrail-logs",
  "Subject" : "Amazon S3 Notification",
  "Message" : {},
  "Timestamp" : "2024-05-06T10:15:43.456Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
  "SigningCertURL" : "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-60eadc530605d63b8e62a523676ef735.pem",
  "UnsubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:111122223333:cloudtrail-logs:4f5c2b1e-0000-4c2c-8f9d-bdfb0c7bf324"
}}"#,
            serde_json::to_string(message).unwrap()
        )
    }

    fn cloudtrail_message() -> String {
        format!(
            r#"{{"s3Bucket":"{BUCKET}","s3ObjectKey":["{KEY}","AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/111122223333_CloudTrail_eu-west-1_20240506T1015Z_Zy9Xw8Vu7Ts6Rq5P.json.gz","AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/06/111122223333_CloudTrail_us-east-1_20240506T1020Z_a+b%2Fc0123456789.json.gz"]}}"#
        )
    }

    fn eventbridge_body(detail_type: &str) -> String {
        format!(
            r#"{{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"{detail_type}","source":"aws.s3","account":"111122223333","time":"2024-05-06T10:15:42Z","region":"us-east-1","resources":["arn:aws:s3:::{BUCKET}"],"detail":{{"version":"0","bucket":{{"name":"{BUCKET}"}},"object":{{"key":"AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/06/a b+c.json.gz","size":2748,"etag":"\"0c4a7b1e2f3d4c5b6a7980a1b2c3d4e5\"","sequencer":"00663BD2A6E2F1C9A4"}},"request-id":"N4N7GDK58NMKJ12R","requester":"111122223333","source-ip-address":"10.0.12.34","reason":"PutObject"}}}}"#
        )
    }

    const TEST_EVENT: &str = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-06T10:01:02.345Z","Bucket":"org-trail-logs","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;

    const SUBSCRIPTION_CONFIRMATION: &str = r#"{
  "Type" : "SubscriptionConfirmation",
  "MessageId" : "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
  "Token" : "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
  "TopicArn" : "arn:aws:sns:us-east-1:111122223333:cloudtrail-logs",
  "Message" : "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:111122223333:cloudtrail-logs.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
  "SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:111122223333:cloudtrail-logs&Token=2336412f37",
  "Timestamp" : "2024-05-06T10:00:00.000Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
  "SigningCertURL" : "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-60eadc530605d63b8e62a523676ef735.pem"
}"#;

    fn objects(body: &str) -> (Shape, Vec<NotifiedObject>) {
        match parse(body) {
            Ok(Notification::Objects { shape, objects }) => (shape, objects),
            other => panic!("expected objects from {body}, got {other:?}"),
        }
    }

    fn reason(body: &str) -> String {
        match parse(body) {
            Err(e) => e.reason,
            Ok(n) => panic!("expected an error from {body}, got {n:?}"),
        }
    }

    fn obj(key: &str, size: Option<u64>, etag: Option<&str>) -> NotifiedObject {
        NotifiedObject {
            bucket: BUCKET.to_owned(),
            key: key.to_owned(),
            size,
            etag: etag.map(str::to_owned),
        }
    }

    const ETAG: &str = "0c4a7b1e2f3d4c5b6a7980a1b2c3d4e5";

    #[test]
    fn s3_event_direct_decodes_the_key() {
        let body = s3_event_body(
            "ObjectCreated:Put",
            "AWSLogs/111122223333/CloudTrail/a+b%2Bc%3D.json.gz",
        );
        let (shape, found) = objects(&body);
        assert_eq!(shape, Shape::S3Event);
        assert_eq!(
            found,
            vec![obj(
                "AWSLogs/111122223333/CloudTrail/a b+c=.json.gz",
                Some(2748),
                Some(ETAG)
            )]
        );
    }

    #[test]
    fn s3_event_in_sns() {
        let (shape, found) = objects(&sns_body(&s3_event_body(
            "ObjectCreated:CompleteMultipartUpload",
            KEY,
        )));
        assert_eq!(shape, Shape::SnsS3Event);
        assert_eq!(found, vec![obj(KEY, Some(2748), Some(ETAG))]);
    }

    #[test]
    fn s3_event_object_removed_is_ignored() {
        let (shape, found) = objects(&s3_event_body("ObjectRemoved:Delete", KEY));
        assert_eq!(shape, Shape::S3Event);
        assert!(found.is_empty());
    }

    #[test]
    fn cloudtrail_in_sns_names_three_keys_verbatim() {
        let (shape, found) = objects(&sns_body(&cloudtrail_message()));
        assert_eq!(shape, Shape::CloudTrailSns);
        let keys: Vec<&str> = found.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0], KEY);
        // CloudTrail does not URL-encode: `+` and `%2F` stay as they are.
        assert!(
            keys[2].ends_with("_a+b%2Fc0123456789.json.gz"),
            "{}",
            keys[2]
        );
        assert!(
            found
                .iter()
                .all(|o| o.bucket == BUCKET && o.size.is_none() && o.etag.is_none())
        );
    }

    #[test]
    fn cloudtrail_raw_delivery() {
        let (shape, found) = objects(&cloudtrail_message());
        assert_eq!(shape, Shape::CloudTrailSns);
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn eventbridge_direct_and_in_sns() {
        let want = vec![obj(
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/06/a b+c.json.gz",
            Some(2748),
            Some(ETAG),
        )];
        assert_eq!(
            objects(&eventbridge_body("Object Created")),
            (Shape::EventBridge, want.clone())
        );
        assert_eq!(
            objects(&sns_body(&eventbridge_body("Object Created"))),
            (Shape::SnsEventBridge, want)
        );
    }

    #[test]
    fn eventbridge_other_detail_type_names_nothing() {
        assert_eq!(
            objects(&eventbridge_body("Object Deleted")),
            (Shape::EventBridge, vec![])
        );
    }

    #[test]
    fn s3_test_event_direct_and_in_sns() {
        assert_eq!(parse(TEST_EVENT), Ok(Notification::Test));
        assert_eq!(parse(&sns_body(TEST_EVENT)), Ok(Notification::Test));
    }

    #[test]
    fn subscription_confirmation_is_an_error() {
        assert!(
            reason(SUBSCRIPTION_CONFIRMATION)
                .contains("subscription confirmation, not a notification")
        );
    }

    #[test]
    fn decodes_s3_event_keys() {
        for (encoded, decoded) in [
            ("a%2Fb+c%3D", "a/b c="),
            ("bad%zzescape", "bad%zzescape"),
            ("trailing%", "trailing%"),
            ("short%4", "short%4"),
            ("%C3%A9t%C3%A9", "été"),
            ("%e2%82%ac", "€"),
            ("%%41", "%A"),
            ("%é", "%é"),
            ("plain/key.json.gz", "plain/key.json.gz"),
            ("%FF", "\u{FFFD}"),
        ] {
            assert_eq!(decode_s3_event_key(encoded), decoded, "{encoded}");
        }
    }

    #[test]
    fn garbage_gives_a_clear_reason() {
        let s3_with_object = |object: &str| {
            format!(
                r#"{{"Records":[{{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{{"bucket":{{"name":"b"}},"object":{object}}}}}]}}"#
            )
        };
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "not JSON: EOF while parsing"),
            ("hello".into(), "not JSON: expected value at line 1 column 1"),
            ("[1,2]".into(), "JSON an array, not an object"),
            (r#"{"a":1,"b":2}"#.into(), "not a notification cairn knows (keys: \"a\", \"b\")"),
            (r#"{"Records":{}}"#.into(), "Records is not an array"),
            (r#"{"Records":[42]}"#.into(), "S3 event record 0 is a number, not an object"),
            (
                r#"{"Records":[{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventID":"x"}]}"#.into(),
                "record 0 has eventSource \"ec2.amazonaws.com\", not aws:s3 (a CloudTrail log record",
            ),
            (s3_with_object(r#"{"size":1}"#), "S3 event record 0 has no s3.object.key"),
            (s3_with_object(r#"{"key":""}"#), "S3 event record 0 has an empty s3.object.key"),
            (s3_with_object(r#"{"key":7}"#), "s3.object.key is a number, not a string"),
            (s3_with_object(r#"{"key":"k","size":"12"}"#), "s3.object.size is a string, not a size in bytes"),
            (s3_with_object(r#"{"key":"k","size":-1}"#), "s3.object.size is a number, not a size in bytes"),
            (r#"{"s3Bucket":"b","s3ObjectKey":"k"}"#.into(), "s3ObjectKey is a string, not an array"),
            (r#"{"s3Bucket":"","s3ObjectKey":["k"]}"#.into(), "CloudTrail notification has an empty s3Bucket"),
            (r#"{"s3Bucket":"b","s3ObjectKey":["k",""]}"#.into(), "s3ObjectKey[1] is empty"),
            (r#"{"Type":"Notification","Message":"oops"}"#.into(), "SNS Message is not JSON: expected value"),
            (r#"{"Type":"Notification","Message":{"s3Bucket":"b"}}"#.into(), "SNS Message is an object, not a string"),
            (r#"{"Type":"UnsubscribeConfirmation","Message":"bye"}"#.into(), "SNS message of Type \"UnsubscribeConfirmation\""),
            (sns_body("{\"Type\":\"Notification\",\"Message\":\"{}\"}"), "SNS Message holds another SNS envelope"),
            (sns_body("{\"s3Bucket\":\"b\"}"), "SNS Message: CloudTrail notification has no s3ObjectKey"),
            (
                r#"{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}"#.into(),
                "EventBridge event from source \"aws.ec2\", not aws.s3",
            ),
            (r#"{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"}}}"#.into(), "EventBridge event has no detail.object.key"),
            (r#"{"Service":"Amazon S3","Event":"s3:ObjectCreated:Put"}"#.into(), "keys: \"Event\", \"Service\""),
        ];
        for (body, want) in cases {
            let got = reason(&body);
            assert!(
                got.contains(want),
                "body {body}\n  reason: {got}\n  wanted: {want}"
            );
            assert!(!got.contains('\n'), "reason is not one line: {got}");
        }
    }

    #[test]
    fn mutated_bodies_never_panic() {
        let seeds = [
            s3_event_body("ObjectCreated:Put", "AWSLogs/a%2Fb+c%3D%zz.json.gz"),
            sns_body(&s3_event_body("ObjectCreated:Put", KEY)),
            sns_body(&cloudtrail_message()),
            cloudtrail_message(),
            eventbridge_body("Object Created"),
            sns_body(&eventbridge_body("Object Created")),
            TEST_EVENT.to_owned(),
            SUBSCRIPTION_CONFIRMATION.to_owned(),
        ];
        const ALPHABET: &[u8] = b"{}[]\":,\\%+-0123456789aeE .\xc3\xa9\xff";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut ok, mut err) = (0, 0);
        for round in 0..6000 {
            let mut bytes = seeds[round % seeds.len()].clone().into_bytes();
            for _ in 0..=next() % 4 {
                let at = (next() % (bytes.len() as u64 + 1)) as usize;
                match next() % 4 {
                    0 => bytes.truncate(at),
                    1 if at < bytes.len() => bytes[at] ^= 1 << (next() % 8),
                    2 => bytes.insert(at, ALPHABET[(next() % ALPHABET.len() as u64) as usize]),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            match parse(&String::from_utf8_lossy(&bytes)) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(!e.reason.is_empty());
                    err += 1;
                }
            }
        }
        // Both outcomes must be exercised, or the mutations are too weak or too strong.
        assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
    }
}

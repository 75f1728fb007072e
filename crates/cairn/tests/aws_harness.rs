//! Self-tests of the AWS test harness in `common/aws.rs`: moto, the AWS CLI, the fault proxy and
//! the small HTTP client, so a failing cairn test can trust them.

#[path = "common/aws.rs"]
mod aws;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws::{FaultProxy, Faults, Moto, UNCHECKED_AUTH, header, http};

/// A bucket `harness` holding `bytes` at `key`.
fn bucket_with(moto: &Moto, key: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("object");
    std::fs::write(&file, bytes).unwrap();
    moto.aws(&["s3", "mb", "s3://harness"]);
    let path = file.to_str().unwrap();
    moto.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "harness",
        "--key",
        key,
        "--body",
        path,
    ]);
}

/// Bytes that are not all alike, so a truncated or shifted body cannot pass for the original.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn fault_proxy_errors_slows_and_drops_by_request_number() {
    let moto = Moto::start();
    let object = pattern(10_000);
    bucket_with(&moto, "k.bin", &object);
    let slow = Duration::from_millis(300);
    let faults = Faults {
        error_every: 3,
        slow_every: 4,
        slow_ms: slow.as_millis() as u64,
        drop_every: 5,
    };
    let proxy = FaultProxy::start(&moto.endpoint, faults);
    let url = format!("{}/harness/k.bin", proxy.endpoint);

    for n in 1..=15 {
        let started = Instant::now();
        let (status, headers, body) = http("GET", &url, &[UNCHECKED_AUTH], b"");
        let took = started.elapsed();
        assert_eq!(header(&headers, "connection"), Some("close"), "request {n}");
        if n % 3 == 0 {
            assert_eq!(status, 503, "request {n}");
            assert_eq!(header(&headers, "content-type"), Some("application/xml"));
            assert!(String::from_utf8_lossy(&body).contains("<Code>SlowDown</Code>"));
            continue;
        }
        assert_eq!(status, 200, "request {n}");
        assert_eq!(
            header(&headers, "content-length"),
            Some("10000"),
            "request {n}"
        );
        if n % 5 == 0 {
            assert_eq!(body, object[..5_000], "request {n} should be cut in half");
        } else {
            assert_eq!(body, object, "request {n}");
        }
        if n % 4 == 0 {
            assert!(took >= slow, "request {n} took {took:?}");
        }
    }

    let stats = &proxy.stats;
    assert_eq!(stats.requests.load(Ordering::SeqCst), 15);
    assert_eq!(stats.errors.load(Ordering::SeqCst), 5);
    assert_eq!(
        stats.slowed.load(Ordering::SeqCst),
        2,
        "4 and 8; 12 is an error"
    );
    assert_eq!(
        stats.dropped.load(Ordering::SeqCst),
        2,
        "5 and 10; 15 is an error"
    );
}

#[test]
fn fault_proxy_relays_head_expect_continue_and_chunked_bodies() {
    let moto = Moto::start();
    let object = pattern(3_000);
    bucket_with(&moto, "k.bin", &object);
    let proxy = FaultProxy::start(&moto.endpoint, Faults::default());

    // HEAD: the length of the object, and no body.
    let (status, headers, body) = http(
        "HEAD",
        &format!("{}/harness/k.bin", proxy.endpoint),
        &[UNCHECKED_AUTH],
        b"",
    );
    assert_eq!(
        (status, header(&headers, "content-length")),
        (200, Some("3000"))
    );
    assert!(body.is_empty());

    // A PUT that waits for `100 Continue`.
    let url = format!("{}/harness/continued", proxy.endpoint);
    let (status, _, body) = http(
        "PUT",
        &url,
        &[UNCHECKED_AUTH, ("Expect", "100-continue")],
        b"hello",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    // A chunked PUT reaches the server de-chunked.
    let url = format!("{}/harness/chunked", proxy.endpoint);
    let chunked = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";
    let (status, _, body) = http(
        "PUT",
        &url,
        &[UNCHECKED_AUTH, ("Transfer-Encoding", "chunked")],
        chunked,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    for (key, want) in [("continued", "hello"), ("chunked", "hello, world")] {
        let (status, _, body) = http(
            "GET",
            &format!("{}/harness/{key}", moto.endpoint),
            &[UNCHECKED_AUTH],
            b"",
        );
        assert_eq!(
            (status, String::from_utf8_lossy(&body).as_ref()),
            (200, want)
        );
    }
    assert_eq!(proxy.stats.requests.load(Ordering::SeqCst), 3);
}

#[test]
fn aws_cli_retries_through_throttling_and_uploads_with_expect_continue() {
    let moto = Moto::start();
    bucket_with(&moto, "a/b.txt", b"x");
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            error_every: 3,
            ..Faults::default()
        },
    );

    for _ in 0..3 {
        let buckets = moto.aws_at(&proxy.endpoint, &["s3", "ls"]);
        assert!(buckets.contains(" harness\n"), "{buckets}");
        let objects = moto.aws_at(
            &proxy.endpoint,
            &["s3", "ls", "s3://harness/", "--recursive"],
        );
        assert!(objects.contains("a/b.txt"), "{objects}");
    }
    assert!(proxy.stats.errors.load(Ordering::SeqCst) >= 2);

    // Large enough that the CLI sends `Expect: 100-continue` and a multipart upload.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    let big = pattern(9 << 20);
    std::fs::write(&file, &big).unwrap();
    moto.aws_at(
        &proxy.endpoint,
        &["s3", "cp", file.to_str().unwrap(), "s3://harness/big"],
    );
    let (status, _, body) = http(
        "GET",
        &format!("{}/harness/big", moto.endpoint),
        &[UNCHECKED_AUTH],
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        body == big,
        "uploaded {} bytes, read back {}",
        big.len(),
        body.len()
    );
}

#[test]
fn moto_reset_clears_state_and_env_points_at_it() {
    let moto = Moto::start();
    moto.aws(&["s3", "mb", "s3://gone"]);
    let before = moto.aws_json(&["s3api", "list-buckets"]);
    assert_eq!(
        before["Buckets"].as_array().map(Vec::len),
        Some(1),
        "{before}"
    );
    moto.reset();
    let after = moto.aws_json(&["s3api", "list-buckets"]);
    assert_eq!(
        after["Buckets"].as_array().map(Vec::len),
        Some(0),
        "{after}"
    );

    let env = moto.aws_env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("AWS_ENDPOINT_URL"), Some(moto.endpoint.as_str()));
    assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("testing"));
    assert_eq!(get("AWS_DEFAULT_REGION"), Some("us-east-1"));
}

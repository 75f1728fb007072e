//! Writing, reading back and compacting a lake on a local directory.

use std::sync::Arc;

use arrow_array::{Array, StringArray, StructArray, TimestampMicrosecondArray};
use cairn_lake::compact::{compact, read_rows};
use cairn_lake::{Dest, LakeWriter, LocalDest, Options, Partition};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

fn record(n: u32, account: &str, region: &str, day: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/u{n}"),
            "accountId": account, "userName": format!("u{n}"),
            "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
        "eventTime": format!("2025-05-{day:02}T{:02}:00:00Z", n % 24),
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": region,
        "sourceIPAddress": "10.0.0.1", "userAgent": "aws-cli",
        "requestParameters": {"bucketName": "b", "key": format!("k{n}")},
        "resources": [{"ARN": "arn:aws:s3:::b", "type": "AWS::S3::Bucket"}],
        "eventID": format!("00000000-0000-4000-8000-{n:012x}"), "readOnly": true,
        "eventType": "AwsApiCall", "recipientAccountId": account,
        "someFutureField": {"x": 1}
    }))
    .unwrap()
}

#[test]
fn written_partitioned_read_back_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let dest: Arc<dyn Dest> = Arc::new(LocalDest::new(dir.path()).unwrap());
    let opts = Options {
        max_buffer_bytes: 64 << 10, // small: several files per partition
        ..Options::default()
    };
    let mut w = LakeWriter::new(dest.clone(), opts);
    let mut expected = 0;
    for n in 0..600u32 {
        let (account, region) = if n % 3 == 0 {
            ("111111111111", "us-east-1")
        } else {
            ("222222222222", "eu-west-1")
        };
        w.add(
            &record(n, account, region, 1 + n % 2),
            "AWSLogs/obj.json.gz",
        )
        .unwrap();
        expected += 1;
    }
    // Re-delivery: the first 100 events again, in a later flush.
    w.flush().unwrap();
    for n in 0..100u32 {
        let (account, region) = if n % 3 == 0 {
            ("111111111111", "us-east-1")
        } else {
            ("222222222222", "eu-west-1")
        };
        w.add(
            &record(n, account, region, 1 + n % 2),
            "AWSLogs/again.json.gz",
        )
        .unwrap();
    }
    let written = w.finish().unwrap();
    assert_eq!(written.rows, 700);
    let files = dest.list().unwrap();
    assert_eq!(files.len() as u64, written.files);
    assert!(files.len() > 4, "{files:?}");
    let mut partitions: Vec<Partition> = files
        .iter()
        .map(|(p, _)| Partition::parse(p.rsplit_once('/').unwrap().0).unwrap())
        .collect();
    partitions.dedup();
    assert!(partitions.contains(&Partition {
        account: "111111111111".into(),
        region: "us-east-1".into(),
        date: "2025-05-01".into()
    }));
    // No temporary file is visible, and the typed columns read back.
    let (first, _) = &files[0];
    let bytes = dest.read(first).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    let times = batch
        .column_by_name("eventTime")
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    let t: Vec<i64> = (0..times.len()).map(|i| times.value(i)).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "sorted by eventTime");
    let identity = batch
        .column_by_name("userIdentity")
        .unwrap()
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap();
    let arn = identity
        .column_by_name("arn")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert!(arn.value(0).starts_with("arn:aws:iam::"));
    let extra = batch
        .column_by_name("extra")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(extra.value(0), r#"{"someFutureField":{"x":1}}"#);

    let report = compact(&*dest, &Options::default(), 128 << 20).unwrap();
    assert_eq!(report.duplicates, 100, "{report:?}");
    assert_eq!(report.rows_after, expected);
    let after = dest.list().unwrap();
    assert_eq!(after.len(), 4, "one file per partition: {after:?}");
    let mut total = 0;
    for (p, _) in &after {
        total += read_rows(dest.read(p).unwrap(), p).unwrap().len();
    }
    assert_eq!(total as u64, expected);
    // Nothing left behind: no hidden partition directories, temporary directory empty.
    for e in walk(dir.path()) {
        let name = e.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.starts_with(".date=") && !name.starts_with(".part"),
            "{}",
            e.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join(".cairn-tmp"))
            .unwrap()
            .count(),
        0
    );
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() {
            out.extend(walk(&e));
        }
        out.push(e);
    }
    out
}

/// What a crash leaves (a temporary file, a compaction's staged partition) is recovered by the
/// next compaction: no event is lost, none is counted twice afterwards.
#[test]
fn leftovers_of_a_crash_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let dest: Arc<dyn Dest> = Arc::new(LocalDest::new(dir.path()).unwrap());
    let mut w = LakeWriter::new(dest.clone(), Options::default());
    for n in 0..50u32 {
        w.add(&record(n, "111111111111", "us-east-1", 1), "o")
            .unwrap();
    }
    w.finish().unwrap();
    let files = dest.list().unwrap();
    assert_eq!(files.len(), 1);
    let (file, _) = &files[0];
    let (part, _) = file.rsplit_once('/').unwrap();
    let live = dir.path().join(part);
    // A compaction that died after staging: its staged partition holds a copy of the events
    // and one file a writer committed into it.
    let staged = live.parent().unwrap().join(".date=2025-05-01.0123abcd");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::copy(dir.path().join(file), staged.join("part-1-copy.parquet")).unwrap();
    let mut late = LakeWriter::new(
        Arc::new(LocalDest::new(&dir.path().join("scratch")).unwrap()),
        Options::default(),
    );
    for n in 50..60u32 {
        late.add(&record(n, "111111111111", "us-east-1", 1), "o")
            .unwrap();
    }
    late.finish().unwrap();
    let scratch = LocalDest::new(&dir.path().join("scratch")).unwrap();
    let (late_file, _) = &scratch.list().unwrap()[0];
    std::fs::rename(
        dir.path().join("scratch").join(late_file),
        staged.join("part-2-late.parquet"),
    )
    .unwrap();
    std::fs::remove_dir_all(dir.path().join("scratch")).unwrap();
    // A writer that died mid-file.
    std::fs::write(dir.path().join(".cairn-tmp/0badc0de"), b"PAR1 half").unwrap();

    // Too recent to be taken for a crash: left alone.
    assert_eq!(
        dest.recover(std::time::Duration::from_secs(3600)).unwrap(),
        0
    );
    assert!(staged.exists());
    assert_eq!(dest.recover(std::time::Duration::ZERO).unwrap(), 2);
    assert!(!staged.exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join(".cairn-tmp"))
            .unwrap()
            .count(),
        0
    );
    let report = compact(&*dest, &Options::default(), 128 << 20).unwrap();
    assert_eq!(report.rows_after, 60, "{report:?}");
    assert_eq!(report.duplicates, 50, "{report:?}");
}

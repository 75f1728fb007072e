//! Decoder throughput on a CloudTrail-shaped file, gzip and plain.

use std::io::Write;

use cairn_model::{Limits, Records};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn file(records: usize) -> Vec<u8> {
    let mut s = String::from("{\"Records\":[");
    for i in 0..records {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:session-{i}","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/session-{i}","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE{i:08}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Deploy","accountId":"111122223333","userName":"Deploy"}},"attributes":{{"creationDate":"2024-03-05T09:00:00Z","mfaAuthenticated":"false"}}}}}},"eventTime":"2024-03-05T10:{:02}:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.{}","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2","requestParameters":{{"instancesSet":{{}},"filterSet":{{"items":[{{"name":"tag:Env","valueSet":{{"items":[{{"value":"prod"}}]}}}}]}}}},"responseElements":null,"requestID":"5a1c3b2d-0000-4000-8000-{i:012}","eventID":"7f3e2d1c-0000-4000-8000-{i:012}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}}}"#,
            i % 60,
            i % 250
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let plain = file(2_000);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&plain).unwrap();
    let gz = e.finish().unwrap();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(2_000));
    g.bench_function("gzip 2000 records", |b| {
        b.iter(|| {
            Records::new(&gz[..], Limits::default())
                .unwrap()
                .filter(|r| r.is_ok())
                .count()
        })
    });
    g.bench_function("plain 2000 records", |b| {
        b.iter(|| {
            Records::new(&plain[..], Limits::default())
                .unwrap()
                .filter(|r| r.is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

#!/usr/bin/env python3
"""S3 and SQS benchmarks of cairn against a local AWS-API server (moto_server on 127.0.0.1).

    scripts/bench_s3.sh [EVENTS]    (builds the release binary, then runs this in .venv)

Measures, in one run on one machine:
  1. S3 ingest throughput, and its overhead over ingesting the same tree from local files;
  2. listing that scales with what is new: a bucket of 10,000 old objects plus 10 new ones;
  3. notification-to-searchable latency in follow mode (p50/p95): an object is uploaded, S3
     notifies the queue, cairn fetches and commits it; the ledger line written after the commit
     marks the moment it is searchable.
Numbers depend on moto (a Python server) as much as on cairn: read ratios, not absolutes.
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAIRN = os.path.join(ROOT, "target", "release", "cairn")
VENV = os.environ.get("CAIRN_VENV", os.path.join(ROOT, ".venv"))
EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(log):
    port = free_port()
    proc = subprocess.Popen(
        [os.path.join(VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except Exception:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def env(endpoint):
    e = dict(os.environ)
    e.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        NO_COLOR="1",
    )
    e.pop("CAIRN_CONFIG", None)
    return e


def cairn(args, endpoint, **kw):
    return subprocess.run([CAIRN, *args], env=env(endpoint), check=True, capture_output=True, text=True, **kw)


def timed_ingest(data, source, endpoint):
    t = time.monotonic()
    out = cairn(["--data-dir", data, "ingest", source, "--format", "json"], endpoint)
    return time.monotonic() - t, json.loads(out.stdout)


def generate(out, endpoint, *args):
    cairn(["generate", "--out", out, *args], endpoint)
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


def upload_tree(s3, bucket, root, prefix=""):
    n = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            key = prefix + os.path.relpath(path, root)
            s3.upload_file(path, bucket, key)
            n += 1
    return n


def main():
    if not os.path.exists(CAIRN):
        raise SystemExit(f"{CAIRN} is missing: run scripts/bench_s3.sh")
    work = tempfile.mkdtemp(prefix="cairn-bench-s3-")
    log = open(os.path.join(work, "moto.log"), "w")
    moto, endpoint = start_moto(log)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    results = {}
    try:
        # 1. Throughput: the same tree from local files and from S3.
        trail = os.path.join(work, "trail")
        m = generate(trail, endpoint, "--events", str(EVENTS), "--accounts", "3", "--regions", "2",
                     "--days", "2", "--end", "2025-06-01T00:00:00Z")
        s3.create_bucket(Bucket="trail")
        t = time.monotonic()
        files = upload_tree(s3, "trail", os.path.join(trail, "AWSLogs"), "AWSLogs/")
        upload_s = time.monotonic() - t
        local_s, local = timed_ingest(os.path.join(work, "d-local"), os.path.join(trail, "AWSLogs"), endpoint)
        s3_s, remote = timed_ingest(os.path.join(work, "d-s3"), "s3://trail/", endpoint)
        assert remote["events_indexed"] == local["events_indexed"] == m["unique_events"], (local, remote)
        results["throughput"] = {
            "events": m["unique_events"],
            "objects": files,
            "local_seconds": round(local_s, 2),
            "s3_seconds": round(s3_s, 2),
            "local_events_per_second": round(m["unique_events"] / local_s),
            "s3_events_per_second": round(m["unique_events"] / s3_s),
            "s3_over_local": round(s3_s / local_s, 2),
            "upload_seconds_boto3": round(upload_s, 1),
        }
        print(json.dumps({"throughput": results["throughput"]}), flush=True)

        # 2. Listing scales with what is new: 10,000 old objects, then 10 new ones.
        s3.create_bucket(Bucket="big")
        old = os.path.join(work, "old")
        # One account, two regions, 21 days of 5-minute files: about 10,000 objects.
        generate(old, endpoint, "--events", "40000", "--accounts", "1", "--regions", "2",
                 "--days", "21", "--end", "2025-06-01T00:00:00Z", "--duplicate-rate", "0")
        n_old = upload_tree(s3, "big", os.path.join(old, "AWSLogs"), "AWSLogs/")
        data = os.path.join(work, "d-big")
        first_s, first = timed_ingest(data, "s3://big/", endpoint)
        again_s, again = timed_ingest(data, "s3://big/", endpoint)
        new = os.path.join(work, "new")
        generate(new, endpoint, "--events", "200", "--accounts", "1", "--regions", "2", "--days", "1",
                 "--end", "2025-06-02T00:00:00Z", "--seed", "7", "--duplicate-rate", "0")
        new_files = sorted(
            os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(new, "AWSLogs")) for f in fs
        )[-10:]
        for p in new_files:
            s3.upload_file(p, "big", "AWSLogs/" + os.path.relpath(p, os.path.join(new, "AWSLogs")))
        third_s, third = timed_ingest(data, "s3://big/", endpoint)
        assert third["objects_read"] == 10, third
        results["listing"] = {
            "old_objects": n_old,
            "first_run": {"seconds": round(first_s, 2), "list_requests": first["list_requests"],
                          "keys_listed": first["keys_listed"], "objects_read": first["objects_read"]},
            "nothing_new": {"seconds": round(again_s, 2), "list_requests": again["list_requests"],
                            "keys_listed": again["keys_listed"], "objects_read": again["objects_read"]},
            "ten_new": {"seconds": round(third_s, 2), "list_requests": third["list_requests"],
                        "keys_listed": third["keys_listed"], "objects_read": third["objects_read"]},
        }
        print(json.dumps({"listing": results["listing"]}), flush=True)

        # 3. Notification to searchable, following a queue fed by S3 event notifications.
        s3.create_bucket(Bucket="live")
        q = sqs.create_queue(QueueName="live")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket="live",
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
        live = os.path.join(work, "live")
        generate(live, endpoint, "--events", "3000", "--accounts", "1", "--regions", "1", "--days", "1",
                 "--end", "2025-06-03T00:00:00Z", "--seed", "9", "--duplicate-rate", "0")
        live_files = sorted(
            os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(live, "AWSLogs")) for f in fs
        )[:60]
        ldata = os.path.join(work, "d-live")
        follower = subprocess.Popen(
            [CAIRN, "--data-dir", ldata, "ingest", "--follow", "sqs://" + q, "--batch", "10"],
            env=env(endpoint), stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "follow.log"), "w"),
        )
        ledger = os.path.join(ldata, "ledger.jsonl")

        def committed(key):
            try:
                with open(ledger) as f:
                    return key in f.read()
            except FileNotFoundError:
                return False

        latencies = []
        time.sleep(2)
        for p in live_files:
            key = "AWSLogs/" + os.path.relpath(p, os.path.join(live, "AWSLogs"))
            s3.upload_file(p, "live", key)
            t = time.monotonic()
            while not committed(key):
                time.sleep(0.005)
                if time.monotonic() - t > 60:
                    raise SystemExit(f"{key} not committed within 60 s")
            latencies.append(time.monotonic() - t)
            time.sleep(0.2)
        follower.send_signal(signal.SIGTERM)
        follower.wait(timeout=60)
        lat = sorted(latencies)
        results["notification_to_searchable"] = {
            "objects": len(lat),
            "p50_ms": round(statistics.median(lat) * 1000),
            "p95_ms": round(lat[int(len(lat) * 0.95) - 1] * 1000),
            "max_ms": round(lat[-1] * 1000),
        }
        print(json.dumps({"notification_to_searchable": results["notification_to_searchable"]}), flush=True)
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)
    out = os.path.join(ROOT, "bench-out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "s3.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

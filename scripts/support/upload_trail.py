#!/usr/bin/env python3
"""Uploads a local copy of a trail (as `cairn generate --digests` writes it) to an S3 bucket,
the way CloudTrail stores it: each digest's `.signature` file becomes its
`x-amz-meta-signature` (with `signature-algorithm`, and `backfill-generation-timestamp` on
`_backfill` digests); the `.signature` files themselves are not uploaded.

    upload_trail.py --endpoint http://127.0.0.1:PORT DIR BUCKET

Creates the bucket if needed. Uses the standard AWS environment for credentials.
"""
import argparse
import concurrent.futures
import os
import sys

import boto3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("dir")
    p.add_argument("bucket")
    a = p.parse_args()
    s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1")
    try:
        s3.create_bucket(Bucket=a.bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    jobs = []
    for root, _, files in os.walk(a.dir):
        for f in files:
            path = os.path.join(root, f)
            key = os.path.relpath(path, a.dir).replace(os.sep, "/")
            if "AWSLogs/" not in key or key.endswith(".signature") or ".tmp" in f:
                continue
            jobs.append((path, key))

    def put(job):
        path, key = job
        meta = {}
        sig = path + ".signature"
        if os.path.exists(sig):
            with open(sig) as f:
                meta["signature"] = f.read().strip()
            meta["signature-algorithm"] = "SHA256withRSA"
            if key.endswith("_backfill.json.gz"):
                meta["backfill-generation-timestamp"] = "2025-06-01T00:00:00Z"
        with open(path, "rb") as f:
            s3.put_object(Bucket=a.bucket, Key=key, Body=f.read(), Metadata=meta)

    with concurrent.futures.ThreadPoolExecutor(a.threads) as pool:
        for _ in pool.map(put, jobs):
            pass
    print(f"uploaded {len(jobs)} objects to s3://{a.bucket}", file=sys.stderr)


if __name__ == "__main__":
    main()

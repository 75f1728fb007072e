#!/usr/bin/env python3
"""A stand-in for the two CloudTrail calls `aws cloudtrail validate-logs` makes, and the
Organizations call it makes for an organization trail, answering from a test key list.

moto implements neither ListPublicKeys nor a signed trail, so tests and benchmarks point
`AWS_ENDPOINT_URL_CLOUDTRAIL` and `AWS_ENDPOINT_URL_ORGANIZATIONS` here, and S3 at moto.

    cloudtrail_standin.py --keys public-keys.json --bucket B --trail-arn ARN [--org o-...]

Listens on 127.0.0.1 (a free port unless --port), prints `PORT <n>` once ready, and serves
until killed. Only 127.0.0.1 is ever used.
"""
import argparse
import http.server
import json
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--keys", required=True, help="ListPublicKeys response shape (JSON)")
    p.add_argument("--bucket", required=True)
    p.add_argument("--trail-arn", required=True)
    p.add_argument("--org")
    p.add_argument("--prefix")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    with open(a.keys) as f:
        keys = json.load(f)
    arn = a.trail_arn
    name = arn.rsplit("/", 1)[-1]
    home = arn.split(":")[3]
    trail = {
        "Name": name,
        "S3BucketName": a.bucket,
        "TrailARN": arn,
        "HomeRegion": home,
        "IsMultiRegionTrail": True,
        "IsOrganizationTrail": bool(a.org),
        "LogFileValidationEnabled": True,
        "IncludeGlobalServiceEvents": True,
    }
    if a.prefix:
        trail["S3KeyPrefix"] = a.prefix

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            op = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
            if op == "ListPublicKeys":
                self.reply(200, keys)
            elif op == "DescribeTrails":
                self.reply(200, {"trailList": [trail]})
            elif op == "DescribeOrganization" and a.org:
                self.reply(200, {"Organization": {"Id": a.org, "Arn": f"arn:aws:organizations::000000000000:organization/{a.org}"}})
            else:
                self.reply(400, {"__type": "UnknownOperationException", "message": f"stand-in does not answer {op!r}"})

        def reply(self, status, doc):
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

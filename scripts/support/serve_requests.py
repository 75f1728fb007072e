#!/usr/bin/env python3
"""Request lists for scripts/bench_serve.sh, and a check that each one is answered.

    serve_requests.py write DIR --values VALUES.json --from T --to T
    serve_requests.py check URL FILE [--header 'Name: value' ...]

`write` turns values that exist in the store (VALUES.json: {"eventName": [...],
"userIdentity.userName": [...], "sourceIPAddress": [...]}, from `cairn top`) into one file per
kind of request, in the format of wrk_rotate.lua (METHOD<TAB>PATH[<TAB>BODY] a line):

- lookup.tsv       LookupEvents by EventName and by Username, MaxResults 50
- search_field.tsv /api/search, field queries (eventName:X, userIdentity.userName:"U",
                   sourceIPAddress:IP), newest 50 over the trail's 7 days
- search_text.tsv  /api/search, the same values as bare full-text terms
- facets.tsv       /api/facets of the field queries: the UI's 7 default fields, top 10 each
- timeline.tsv     /api/timeline of the field queries, 60 buckets

The search, facets and timeline requests carry the parameters the UI sends.

`check` sends every request of FILE once and fails unless each is answered 200 with at least
one event (or value, or bucket). Prints one JSON line: requests, how many found nothing,
mean events per answer, mean body bytes.
"""

import argparse
import json
import sys
import urllib.parse
import urllib.request

LOOKUP_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
FACETS = "eventName,principal,sourceIPAddress,awsRegion,recipientAccountId,errorCode,userAgent"


def field_queries(values):
    out = [f"eventName:{v}" for v in values["eventName"]]
    out += [f'userIdentity.userName:"{v}"' for v in values["userIdentity.userName"]]
    out += [f'sourceIPAddress:"{v}"' for v in values["sourceIPAddress"]]
    return out


def text_queries(values):
    out = list(values["eventName"])
    out += [f'"{v}"' if " " in v else v for v in values["userIdentity.userName"]]
    out += list(values["sourceIPAddress"])
    return out


def write(a):
    values = json.load(open(a.values))
    rng = {"from": a.from_, "to": a.to}

    def get(path, **params):
        return "GET\t" + path + "?" + urllib.parse.urlencode(params)

    files = {
        "lookup.tsv": [
            "POST\t/\t"
            + json.dumps(
                {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": v}], "MaxResults": 50},
                separators=(",", ":"),
            )
            for key, field in (("EventName", "eventName"), ("Username", "userIdentity.userName"))
            for v in values[field]
        ],
        "search_field.tsv": [get("/api/search", q=q, **rng, limit=50) for q in field_queries(values)],
        "search_text.tsv": [get("/api/search", q=q, **rng, limit=50) for q in text_queries(values)],
        "facets.tsv": [get("/api/facets", q=q, **rng, fields=FACETS, n=10) for q in field_queries(values)],
        "timeline.tsv": [get("/api/timeline", q=q, **rng, buckets=60) for q in field_queries(values)],
    }
    for name, lines in files.items():
        with open(f"{a.dir}/{name}", "w") as f:
            f.write("\n".join(lines) + "\n")


def found(body):
    """Events, values or non-empty buckets in an answer."""
    if "Events" in body:
        return len(body["Events"])
    if "hits" in body:
        return len(body["hits"])
    if "facets" in body:
        return sum(len(f.get("values", [])) for f in body["facets"])
    if "buckets" in body:
        return sum(1 for b in body["buckets"] if b.get("count", 0) > 0)
    raise ValueError(f"unknown answer shape: {sorted(body)}")


def check(a):
    headers = dict(h.split(": ", 1) for h in a.header)
    n = empty = events = size = 0
    for line in open(a.file):
        line = line.rstrip("\n")
        if not line:
            continue
        method, path, *body = line.split("\t")
        data = body[0].encode() if body else None
        req = urllib.request.Request(a.url.rstrip("/") + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            sys.exit(f"{method} {path}: HTTP {e.code}: {e.read()[:300]!r}")
        k = found(json.loads(raw))
        n += 1
        empty += k == 0
        events += k
        size += len(raw)
    if n == 0 or empty == n:
        sys.exit(f"{a.file}: no request found anything")
    print(json.dumps({"requests": n, "found_nothing": empty, "mean_found": round(events / n, 1),
                      "mean_bytes": round(size / n)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("dir")
    w.add_argument("--values", required=True)
    w.add_argument("--from", dest="from_", required=True)
    w.add_argument("--to", required=True)
    c = sub.add_parser("check")
    c.add_argument("url")
    c.add_argument("file")
    c.add_argument("--header", action="append", default=[])
    a = ap.parse_args()
    write(a) if a.cmd == "write" else check(a)


if __name__ == "__main__":
    main()

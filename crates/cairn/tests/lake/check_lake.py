"""Reads a cairn lake with a real query engine, through the DDL cairn printed, and checks it
against the generated trail it was written from.

    check_lake.py --engine duckdb|spark --ddl FILE --trail DIR [--s3-endpoint URL]

The ground truth is independent of cairn: the generator's manifest (unique events per event
name and per account/region) and the trail's own files, read here with gzip and json (unique
events per account/region/date, and the original records for a field-by-field spot check).
Prints a JSON summary; exits 1 with the first difference found.
"""

import argparse
import collections
import datetime
import gzip
import json
import os
import random
import sys
import sysconfig


def originals(trail):
    """Every unique record of the trail's log files, by eventID."""
    records = {}
    for root, _dirs, files in os.walk(os.path.join(trail, "AWSLogs")):
        for f in files:
            if not f.endswith(".json.gz") or "CloudTrail-Digest" in root:
                continue
            with gzip.open(os.path.join(root, f)) as fh:
                for r in json.load(fh)["Records"]:
                    records.setdefault(r["eventID"], r)
    return records


def partition(r):
    day = r["eventTime"][:10]
    return (r["recipientAccountId"], r["awsRegion"], day)


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def statements(ddl):
    return [s.strip() for s in ddl.split(";\n") if s.strip().rstrip(";")]


def duckdb_session(ddl, s3_endpoint):
    import duckdb

    if s3_endpoint:
        # The httpfs extension from PyPI (duckdb-ext-httpfs), not downloaded at run time.
        ext = os.path.join(sysconfig.get_paths()["purelib"], "duckdb_ext", "extensions")
        con = duckdb.connect(config={"extension_directory": ext, "autoinstall_known_extensions": False})
        host = s3_endpoint.split("://", 1)[1]
        con.execute("LOAD httpfs")
        con.execute(
            "CREATE SECRET lake (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1', "
            f"ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)"
        )
    else:
        con = duckdb.connect()
    for s in statements(ddl):
        con.execute(s.rstrip(";"))

    def query(sql):
        return [tuple(row) for row in con.execute(sql).fetchall()]

    return query, None


def spark_session(ddl, s3_endpoint):
    from pyspark.sql import SparkSession

    b = (
        SparkSession.builder.master("local[2]")
        .appName("cairn-lake-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.warehouse.dir", os.path.join(os.getcwd(), "spark-warehouse"))
    )
    if s3_endpoint:
        b = (
            b.config("spark.jars.packages", os.environ["CAIRN_HADOOP_AWS"])
            .config("spark.hadoop.fs.s3a.endpoint", s3_endpoint)
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config("spark.hadoop.fs.s3a.access.key", "testing")
            .config("spark.hadoop.fs.s3a.secret.key", "testing")
        )
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for s in statements(ddl):
        spark.sql(s.rstrip(";"))

    def query(sql):
        return [tuple(row) for row in spark.sql(sql).collect()]

    return query, spark


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True, choices=["duckdb", "spark"])
    ap.add_argument("--ddl", required=True)
    ap.add_argument("--trail", required=True)
    ap.add_argument("--table", default="cloudtrail")
    ap.add_argument("--s3-endpoint")
    ap.add_argument("--sample", type=int, default=40)
    a = ap.parse_args()

    manifest = json.load(open(os.path.join(a.trail, "manifest.json")))
    truth = originals(a.trail)
    if len(truth) != manifest["unique_events"]:
        fail(f"the trail holds {len(truth)} unique events, its manifest says {manifest['unique_events']}")
    per_partition = collections.Counter(partition(r) for r in truth.values())

    ddl = open(a.ddl).read()
    query, spark = (duckdb_session if a.engine == "duckdb" else spark_session)(ddl, a.s3_endpoint)
    t = a.table
    try:
        total = query(f"SELECT count(*), count(DISTINCT eventID) FROM {t}")[0]
        if total != (manifest["unique_events"], manifest["unique_events"]):
            fail(f"{t} holds {total[0]} rows, {total[1]} distinct eventIDs; the manifest {manifest['unique_events']} events")

        names = dict(query(f"SELECT eventName, count(*) FROM {t} GROUP BY eventName"))
        if names != manifest["per_event_name"]:
            diff = {k: (names.get(k), manifest["per_event_name"].get(k))
                    for k in set(names) | set(manifest["per_event_name"])
                    if names.get(k) != manifest["per_event_name"].get(k)}
            fail(f"counts per eventName differ (lake, manifest): {diff}")

        parts = {
            (acc, reg, str(day)): n
            for acc, reg, day, n in query(
                f"SELECT account, region, CAST(date AS VARCHAR(10)) AS d, count(*) FROM {t} GROUP BY account, region, d"
                if a.engine == "duckdb"
                else f"SELECT account, region, CAST(date AS STRING) AS d, count(*) FROM {t} GROUP BY account, region, date"
            )
        }
        if parts != dict(per_partition):
            diff = {"/".join(k): (parts.get(k), per_partition.get(k))
                    for k in set(parts) | set(per_partition) if parts.get(k) != per_partition.get(k)}
            fail(f"counts per partition differ (lake, trail): {dict(list(diff.items())[:10])}")
        per_ar = collections.Counter()
        for (acc, reg, _), n in parts.items():
            per_ar[f"{acc}/{reg}"] += n
        if dict(per_ar) != manifest["per_account_region"]:
            fail("counts per account/region differ from the manifest")

        # Field by field: the original record, and the typed columns against its fields.
        rng = random.Random(7)
        ids = rng.sample(sorted(truth), min(a.sample, len(truth)))
        id_list = ", ".join(f"'{i}'" for i in ids)
        rows = query(
            f"SELECT eventID, record, eventName, eventSource, eventTime, readOnly, "
            f"userIdentity.type, userIdentity.arn, userIdentity.accountId, "
            f"requestParameters, sourceIPAddress, recipientAccountId, account, region "
            f"FROM {t} WHERE eventID IN ({id_list})"
        )
        if len(rows) != len(ids):
            fail(f"{len(ids)} sampled eventIDs, {len(rows)} rows found")
        for (eid, record, name, source, etime, ro, utype, uarn, uacct, req, ip, recipient, acc, reg) in rows:
            o = truth[eid]
            if json.loads(record) != o:
                fail(f"{eid}: the stored record differs from the original")
            want_time = datetime.datetime.fromisoformat(o["eventTime"].replace("Z", "+00:00"))
            got_time = etime if etime.tzinfo else etime.replace(tzinfo=datetime.timezone.utc)
            ui = o.get("userIdentity") or {}
            checks = {
                "eventName": (name, o.get("eventName")),
                "eventSource": (source, o.get("eventSource")),
                "eventTime": (got_time, want_time),
                "readOnly": (ro, o.get("readOnly") if isinstance(o.get("readOnly"), bool) else
                             {"true": True, "false": False}.get(str(o.get("readOnly")).lower())),
                "userIdentity.type": (utype, ui.get("type")),
                "userIdentity.arn": (uarn, ui.get("arn")),
                "userIdentity.accountId": (uacct, ui.get("accountId")),
                "requestParameters": (json.loads(req) if req is not None else None, o.get("requestParameters")),
                "sourceIPAddress": (ip, o.get("sourceIPAddress")),
                "recipientAccountId": (recipient, o.get("recipientAccountId")),
                "account": (acc, o.get("recipientAccountId")),
                "region": (reg, o.get("awsRegion")),
            }
            for field, (got, want) in checks.items():
                if got != want:
                    fail(f"{eid}: {field} is {got!r} in the lake, {want!r} in the original")
    finally:
        if spark is not None:
            spark.stop()
    print(json.dumps({
        "ok": True,
        "engine": a.engine,
        "events": total[0],
        "event_names": len(names),
        "partitions": len(parts),
        "spot_checked": len(rows),
    }))


if __name__ == "__main__":
    main()

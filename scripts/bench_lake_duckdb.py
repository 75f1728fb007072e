"""DuckDB's side of scripts/bench_lake.sh: the four questions of scripts/bench.sh, asked of the
trail's raw .json.gz files through read_json and of cairn's Parquet lake through read_parquet.
Each engine reads the files on every query (no table loaded first). Prints one JSON object."""
import json
import statistics
import sys
import time

import duckdb

trail, lake, user, day, next_day = sys.argv[1:6]
runs = int(sys.argv[6]) if len(sys.argv) > 6 else 3

con = duckdb.connect()
con.execute("SET preserve_insertion_order=false")
raw = (
    f"(SELECT unnest(Records) AS r FROM read_json('{trail}/**/*.json.gz', "
    "maximum_object_size=268435456, union_by_name=true))"
)
pq = f"read_parquet('{lake}/*/*/*/*.parquet', hive_partitioning = true)"


def col(p):
    return "r." + ".".join(f'"{x}"' for x in p.split("."))


t = col("eventTime")
queries = {
    "raw": {
        "a_event_name": f"SELECT r FROM {raw} WHERE {col('eventName')} = 'DeleteKeyPair' ORDER BY {t} DESC LIMIT 50",
        "b_user_one_day": f"SELECT r FROM {raw} WHERE {col('userIdentity.userName')} = '{user}' "
        f"AND CAST({t} AS VARCHAR) >= '{day}' AND CAST({t} AS VARCHAR) < '{next_day}' ORDER BY {t} DESC LIMIT 50",
        "c_full_text": f"SELECT r FROM {raw} WHERE lower(CAST(r AS VARCHAR)) LIKE '%accessdenied%' ORDER BY {t} DESC LIMIT 50",
        "d_top_event_names": f"SELECT {col('eventName')} AS n, count(*) c FROM {raw} GROUP BY n ORDER BY c DESC LIMIT 10",
    },
    "lake": {
        "a_event_name": f"SELECT record FROM {pq} WHERE eventName = 'DeleteKeyPair' ORDER BY eventTime DESC LIMIT 50",
        "b_user_one_day": f"SELECT record FROM {pq} WHERE userIdentity.userName = '{user}' "
        f"AND eventTime >= TIMESTAMPTZ '{day} 00:00:00+00' AND eventTime < TIMESTAMPTZ '{next_day} 00:00:00+00' "
        "ORDER BY eventTime DESC LIMIT 50",
        "c_full_text": f"SELECT record FROM {pq} WHERE lower(record) LIKE '%accessdenied%' ORDER BY eventTime DESC LIMIT 50",
        "d_top_event_names": f"SELECT eventName AS n, count(*) c FROM {pq} GROUP BY n ORDER BY c DESC LIMIT 10",
    },
}
result = {"runs": runs, "ms": {}, "rows": {}}
for source, qs in queries.items():
    result["ms"][source] = {}
    result["rows"][source] = {}
    for name, q in qs.items():
        times = []
        for _ in range(runs):
            s = time.perf_counter()
            out = con.execute(q).fetchall()
            times.append((time.perf_counter() - s) * 1000)
        result["ms"][source][name] = round(statistics.median(times), 1)
        result["rows"][source][name] = len(out)
print(json.dumps(result))

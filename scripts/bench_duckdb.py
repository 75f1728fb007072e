"""DuckDB's side of scripts/bench.sh: load the trail's .json.gz files into a table (records
unnested), then time the same four questions cairn answers. Prints one JSON object."""
import json
import statistics
import sys
import time

import duckdb

trail, user, day = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("SET preserve_insertion_order=false")
glob = f"{trail}/**/*.json.gz"
t0 = time.perf_counter()
mode = "struct"
try:
    con.execute(
        f"CREATE TABLE ct AS SELECT unnest(Records) AS r FROM read_json('{glob}', "
        "maximum_object_size=268435456, union_by_name=true)"
    )
except duckdb.Error as e:  # heterogeneous records defeat schema inference: fall back to JSON
    mode = f"json (struct inference failed: {str(e).splitlines()[0][:120]})"
    con.execute("DROP TABLE IF EXISTS ct")
    t0 = time.perf_counter()
    con.execute(
        f"CREATE TABLE ct AS SELECT unnest(Records) AS r FROM read_json('{glob}', "
        "columns={'Records': 'JSON[]'}, maximum_object_size=268435456)"
    )
load = time.perf_counter() - t0
rows = con.execute("SELECT count(*) FROM ct").fetchone()[0]

if mode == "struct":
    f = lambda p: "r." + ".".join(f'"{x}"' for x in p.split("."))  # noqa: E731
else:
    f = lambda p: f"(r->>'$.{p}')"  # noqa: E731
t = f("eventTime")
queries = {
    "a_event_name": f"SELECT r FROM ct WHERE {f('eventName')} = 'DeleteKeyPair' ORDER BY {t} DESC LIMIT 50",
    "b_user_one_day": f"SELECT r FROM ct WHERE {f('userIdentity.userName')} = '{user}' "
    f"AND CAST({t} AS VARCHAR) >= '{day}' AND CAST({t} AS VARCHAR) < '{day}T99' ORDER BY {t} DESC LIMIT 50",
    "c_full_text": f"SELECT r FROM ct WHERE lower(CAST(r AS VARCHAR)) LIKE '%accessdenied%' ORDER BY {t} DESC LIMIT 50",
    "d_top_event_names": f"SELECT {f('eventName')} AS n, count(*) c FROM ct GROUP BY n ORDER BY c DESC LIMIT 10",
}
result = {"mode": mode, "load_seconds": load, "rows": rows, "queries_ms": {}, "matches": {}}
for name, q in queries.items():
    times = []
    for _ in range(5):
        s = time.perf_counter()
        out = con.execute(q).fetchall()
        times.append((time.perf_counter() - s) * 1000)
    result["queries_ms"][name] = statistics.median(times)
    result["matches"][name] = len(out)
print(json.dumps(result))

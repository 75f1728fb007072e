#!/usr/bin/env bash
# Whole-process benchmark of the Parquet lake: export throughput, lake size against the
# .json.gz source, and the four questions of scripts/bench.sh answered by DuckDB over the lake
# versus DuckDB over the raw files (read_json).
#
#   ./scripts/bench_lake.sh [EVENTS]     default 1,000,000; results in bench-lake-out/results.md
#
# Generates the same trail as scripts/bench.sh, indexes it, then times
#   - cairn export --lake (from the index),
#   - cairn ingest --lake --no-index (from the .json.gz files, no index), and its compaction,
# each with its peak RSS. One run, one machine: compare within it.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=${BENCH_OUT:-bench-lake-out}
TARGET=${CARGO_TARGET_DIR:-target}
CAIRN=$TARGET/release/cairn
VENV=${CAIRN_VENV:-$PWD/.venv}
RUNS=${BENCH_RUNS:-3}

need() { command -v "$1" >/dev/null || { echo "installing $2" >&2; apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need jq jq
[ -x /usr/bin/time ] || need time time
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import duckdb" 2>/dev/null || "$VENV/bin/pip" install -q --disable-pip-version-check duckdb

cargo build --release -p cairn >&2
rm -rf "$OUT" && mkdir -p "$OUT" && echo '*' > "$OUT/.gitignore"
$CAIRN generate --out "$OUT/trail" --events "$N" --accounts 4 --regions 4 --days 7 --seed 1 \
  --org o-benchmark01 --end 2025-06-01T00:00:00Z | tee "$OUT/generate.txt" >&2
TRAIL="$OUT/trail/AWSLogs"
GZ_BYTES=$(find "$TRAIL" -name '*.json.gz' -not -path '*CloudTrail-Digest*' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
sync

timed() { # name, command...: wall seconds and peak RSS KiB into $OUT/<name>.time
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@"
}

timed ingest $CAIRN --data-dir "$OUT/data" ingest "$TRAIL" -q --no-rules --format json > "$OUT/ingest.json"
EVENTS=$(jq .events_indexed "$OUT/ingest.json")

timed export $CAIRN --data-dir "$OUT/data" export --lake "$OUT/lake" --format json > "$OUT/export.json"
timed compact-export $CAIRN lake compact "$OUT/lake" --format json > "$OUT/compact-export.json"
timed lake-only $CAIRN --data-dir "$OUT/data-lake-only" ingest "$TRAIL" -q --no-index --lake "$OUT/lake-direct" --format json > "$OUT/lake-only.json"
timed compact-direct $CAIRN lake compact "$OUT/lake-direct" --format json > "$OUT/compact-direct.json"

LAKE_BYTES=$(find "$OUT/lake" -name '*.parquet' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
DIRECT_BYTES=$(find "$OUT/lake-direct" -name '*.parquet' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
INDEX_BYTES=$(du -sb "$OUT/data" | cut -f1)

USER=$($CAIRN --data-dir "$OUT/data" top userIdentity.userName -n 1 --format jsonl | jq -r .value)
DAY=2025-05-31
"$VENV/bin/python" scripts/bench_lake_duckdb.py "$TRAIL" "$OUT/lake" "$USER" "$DAY" 2025-06-01 "$RUNS" > "$OUT/duckdb.json"

secs() { cut -d' ' -f1 "$OUT/$1.time"; }
mib() { echo $(($(cut -d' ' -f2 "$OUT/$1.time") / 1024)); }
rate() { awk -v e="$1" -v s="$2" 'BEGIN { printf "%d", e / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
{
  echo "# cairn lake benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $EVENTS events"
  echo
  echo "Trail: $(cat "$OUT/generate.txt")"
  echo
  echo "| step | seconds | events/s | peak RSS |"
  echo "|---|---|---|---|"
  echo "| cairn ingest (index, for reference) | $(secs ingest) | $(rate "$EVENTS" "$(secs ingest)") | $(mib ingest) MiB |"
  echo "| cairn export --lake (from the index) | $(secs export) | $(rate "$EVENTS" "$(secs export)") | $(mib export) MiB |"
  echo "| cairn lake compact (exported lake) | $(secs compact-export) | - | $(mib compact-export) MiB |"
  echo "| cairn ingest --lake --no-index (from .json.gz) | $(secs lake-only) | $(rate "$EVENTS" "$(secs lake-only)") | $(mib lake-only) MiB |"
  echo "| cairn lake compact (that lake) | $(secs compact-direct) | - | $(mib compact-direct) MiB |"
  echo
  echo "Export: $(jq -c '{events, files, bytes}' "$OUT/export.json"); after compaction $(jq -c '{files_after, events_after, duplicates}' "$OUT/compact-export.json")."
  echo "Direct: $(jq -c '{lake_events, lake_files}' "$OUT/lake-only.json"); after compaction $(jq -c '{files_after, events_after, duplicates}' "$OUT/compact-direct.json")."
  echo
  echo "| bytes | size | vs .json.gz |"
  echo "|---|---|---|"
  echo "| source .json.gz (log files) | $(numfmt --to=iec "$GZ_BYTES") | 1.0x |"
  echo "| lake (exported, compacted) | $(numfmt --to=iec "$LAKE_BYTES") | $(ratio "$LAKE_BYTES" "$GZ_BYTES") |"
  echo "| lake (direct, compacted) | $(numfmt --to=iec "$DIRECT_BYTES") | $(ratio "$DIRECT_BYTES" "$GZ_BYTES") |"
  echo "| cairn index (for reference) | $(numfmt --to=iec "$INDEX_BYTES") | $(ratio "$INDEX_BYTES" "$GZ_BYTES") |"
  echo
  echo "DuckDB $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)'), in process, median of $RUNS, files read on every query:"
  echo
  echo "| query | read_json over .json.gz ms | read_parquet over the lake ms | lake speed-up | rows (raw / lake) |"
  echo "|---|---|---|---|---|"
  for q in a_event_name b_user_one_day c_full_text d_top_event_names; do
    r=$(jq ".ms.raw.$q" "$OUT/duckdb.json")
    l=$(jq ".ms.lake.$q" "$OUT/duckdb.json")
    echo "| $q | $r | $l | $(ratio "$r" "$l") | $(jq ".rows.raw.$q" "$OUT/duckdb.json") / $(jq ".rows.lake.$q" "$OUT/duckdb.json") |"
  done
} | tee "$OUT/results.md"

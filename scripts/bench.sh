#!/usr/bin/env bash
# Whole-process benchmark: cairn against DuckDB and `zcat | jq` on the same generated trail.
#
#   ./scripts/bench.sh [EVENTS]        default 1,000,000 events; results in bench-out/results.md
#
# Measures ingest (wall time, events/s, peak RSS), the latency of four questions, and the
# size on disk. One run, one machine: report ratios from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=${BENCH_OUT:-bench-out}
CAIRN=target/release/cairn

need() { command -v "$1" >/dev/null || { echo "installing $2" >&2; apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need jq jq
[ -x /usr/bin/time ] || need time time
[ -x .venv-bench/bin/python ] || python3 -m venv .venv-bench
.venv-bench/bin/python -c "import duckdb" 2>/dev/null || .venv-bench/bin/pip install -q duckdb

cargo build --release -p cairn >&2
rm -rf "$OUT" && mkdir -p "$OUT"
$CAIRN generate --out "$OUT/trail" --events "$N" --accounts 4 --regions 4 --days 7 --seed 1 \
  --org o-benchmark01 --end 2025-06-01T00:00:00Z | tee "$OUT/generate.txt" >&2
TRAIL="$OUT/trail/AWSLogs"
GZ_BYTES=$(du -sb "$TRAIL" | cut -f1)
RAW_BYTES=$(find "$TRAIL" -name '*.json.gz' -print0 | xargs -0 zcat | wc -c)
sync

ms() { date +%s%N | cut -c1-13; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# --- ingest -----------------------------------------------------------------------------------
/usr/bin/time -f "%e %M" -o "$OUT/cairn.time" $CAIRN --data-dir "$OUT/data" ingest "$TRAIL" -q --format json > "$OUT/ingest.json"
read -r CAIRN_S CAIRN_KB < "$OUT/cairn.time"
EVENTS=$(jq .events_indexed "$OUT/ingest.json")
INDEX_BYTES=$(du -sb "$OUT/data" | cut -f1)

USER=$($CAIRN --data-dir "$OUT/data" top userIdentity.userName -n 1 --format jsonl | jq -r .value)
DAY=2025-05-31
/usr/bin/time -f "%e %M" -o "$OUT/duckdb.time" .venv-bench/bin/python scripts/bench_duckdb.py "$TRAIL" "$USER" "$DAY" > "$OUT/duckdb.json"
read -r DUCK_S DUCK_KB < "$OUT/duckdb.time"
DUCK_LOAD=$(jq .load_seconds "$OUT/duckdb.json")

/usr/bin/time -f "%e %M" -o "$OUT/jq.time" bash -c "find '$TRAIL' -name '*.json.gz' -print0 | xargs -0 zcat | jq -c '.Records[]' | wc -l" > "$OUT/jq.count"
read -r JQ_S JQ_KB < "$OUT/jq.time"
/usr/bin/time -f "%e" -o "$OUT/jq-query.time" bash -c "find '$TRAIL' -name '*.json.gz' -print0 | xargs -0 zcat | jq -c '.Records[] | select(.eventName == \"DeleteKeyPair\")' | wc -l" > /dev/null
JQ_Q=$(cat "$OUT/jq-query.time")

# --- queries (whole process: start, open the index, answer, exit) -------------------------------
q() { # name, args...
  local name=$1; shift
  $CAIRN --data-dir "$OUT/data" "$@" > /dev/null # warm the page cache
  for _ in 1 2 3 4 5 6 7; do s=$(ms); $CAIRN --data-dir "$OUT/data" "$@" > /dev/null; e=$(ms); echo $((e - s)); done | median > "$OUT/q_$name"
}
q a_event_name search 'eventName:DeleteKeyPair' --limit 50 --format jsonl
q b_user_one_day search "userIdentity.userName:\"$USER\"" --from $DAY --to 2025-06-01 --limit 50 --format jsonl
q c_full_text search 'AccessDenied' --limit 50 --format jsonl
q d_top_event_names top eventName -n 10

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
{
  echo "# cairn benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $N events"
  echo
  echo "Trail: $(cat "$OUT/generate.txt")"
  echo "Compressed $(numfmt --to=iec "$GZ_BYTES"), uncompressed $(numfmt --to=iec "$RAW_BYTES"). DuckDB mode: $(jq -r .mode "$OUT/duckdb.json")"
  echo
  echo "| ingest | seconds | events/s | peak RSS |"
  echo "|---|---|---|---|"
  echo "| cairn ingest (index, dedupe, ledger) | $CAIRN_S | $(awk -v e="$EVENTS" -v s="$CAIRN_S" 'BEGIN{printf "%d", e/s}') | $((CAIRN_KB / 1024)) MiB |"
  echo "| DuckDB read_json into a table | $(printf %.2f "$DUCK_LOAD") | $(awk -v e="$EVENTS" -v s="$DUCK_LOAD" 'BEGIN{printf "%d", e/s}') | $((DUCK_KB / 1024)) MiB (whole script) |"
  echo "| zcat \| jq -c '.Records[]' (parse only) | $JQ_S | $(awk -v e="$EVENTS" -v s="$JQ_S" 'BEGIN{printf "%d", e/s}') | $((JQ_KB / 1024)) MiB |"
  echo
  echo "cairn ingest vs DuckDB load: $(ratio "$DUCK_LOAD" "$CAIRN_S") (above 1x: cairn faster)"
  echo
  echo "| query | cairn ms (whole process, median of 7) | DuckDB ms (in process, median of 5) | zcat \| jq s |"
  echo "|---|---|---|---|"
  for n in a_event_name b_user_one_day c_full_text d_top_event_names; do
    extra="-"; [ $n = a_event_name ] && extra=$JQ_Q
    echo "| $n | $(cat "$OUT/q_$n") | $(jq ".queries_ms.$n | floor" "$OUT/duckdb.json") | $extra |"
  done
  echo
  echo "Index on disk: $(numfmt --to=iec "$INDEX_BYTES") vs .json.gz $(numfmt --to=iec "$GZ_BYTES") ($(ratio "$INDEX_BYTES" "$GZ_BYTES") of the compressed trail)"
  echo "Events indexed: $EVENTS; zcat|jq counted $(cat "$OUT/jq.count") records (duplicates included); DuckDB rows $(jq .rows "$OUT/duckdb.json")"
} | tee "$OUT/results.md"

#!/usr/bin/env bash
# What detection costs during ingest: the same generated trail ingested without rules, with the
# built-in pack, and with the built-in pack plus a Sigma rule directory; then a backtest.
#
#   ./scripts/bench_detect.sh [EVENTS] [RULE_DIR]
#
# EVENTS defaults to 300,000; RULE_DIR to ../shared/corpus/sigma-cloudtrail-rules when it
# exists. Results in bench-detect-out/results.md. One run, one machine: compare within it.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300000}
RULES=${2:-../shared/corpus/sigma-cloudtrail-rules}
OUT=${BENCH_OUT:-bench-detect-out}
CAIRN=target/release/cairn
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

cargo build --release -p cairn >&2
rm -rf "$OUT" && mkdir -p "$OUT"
$CAIRN generate --out "$OUT/trail" --events "$N" --accounts 4 --regions 3 --days 7 --seed 42 \
  --org o-benchmark01 --stories --end 2025-06-01T00:00:00Z >&2
TRAIL="$OUT/trail/AWSLogs"
sync

run() { # name, extra flags...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" \
    $CAIRN --data-dir "$OUT/data-$name" ingest "$TRAIL" -q --format json "$@" > "$OUT/$name.json"
  read -r secs kb < "$OUT/$name.time"
  local alerts
  alerts=$(python3 -c "import json,sys; print(json.load(open('$OUT/$name.json')).get('alerts_raised', 0))")
  local rules
  rules=$($CAIRN rules list --format jsonl "$@" 2>/dev/null | wc -l || true)
  [ "$name" = none ] && rules=0
  echo "| $name | $rules | $secs | $(python3 -c "print(round($N/$secs))") | $((kb / 1024)) | $alerts |"
}

{
  echo "Ingest of $N generated events (\`scripts/bench_detect.sh $N\`, $(date -u +%Y-%m-%dT%H:%MZ)):"
  echo
  echo "| rules | loaded | seconds | events/s | peak RSS MiB | alerts |"
  echo "|---|---|---|---|---|---|"
  run none --no-rules
  run builtin
  if [ -d "$RULES" ]; then run builtin+dir --rules "$RULES"; fi
  echo
  /usr/bin/time -f "%e" -o "$OUT/backtest.time" \
    $CAIRN --data-dir "$OUT/data-none" rules backtest --from 2025-01-01T00:00:00Z --format json > "$OUT/backtest.json"
  echo "Backtest of the built-in pack over the stored $N events: $(cat "$OUT/backtest.time") s."
} | tee "$OUT/results.md"

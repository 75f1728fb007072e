#!/usr/bin/env bash
# Whole-process benchmark of `cairn serve`: latency and throughput of LookupEvents and of the
# JSON API under concurrent load from wrk on loopback, and the web UI's first page in Chromium.
#
#   ./scripts/bench_serve.sh [EVENTS]      default 1,000,000; results in bench-serve-out/results.md
#
# Generates and ingests a trail (in $BENCH_WORK, default /tmp/cairn-bench-serve, outside the
# repository), then starts two servers on 127.0.0.1 over the same store: one with --no-auth and
# one with authentication, asked with an API token (`Authorization: Bearer ID:SECRET`). Each kind
# of request rotates through questions whose values come from the store (`cairn top`), and is
# run with 10 and then 50 connections (wrk -t 2, $BENCH_DURATION each, default 20s, after a
# 3-second warm-up). wrk runs on the same two cores as the server. Then the UI's first page,
# median of 5 fresh loads in headless Chromium. The servers are stopped on exit.
#
# BENCH_REUSE=1 keeps a store already ingested with the same EVENTS. One run, one machine:
# compare within it.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=${BENCH_OUT:-bench-serve-out}
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/cairn-bench-serve}
TARGET=${CARGO_TARGET_DIR:-target}
CAIRN=$TARGET/release/cairn
VENV=${CAIRN_VENV:-$PWD/.venv}
DURATION=${BENCH_DURATION:-20s}
END=2025-06-01T00:00:00Z
FROM=2025-05-25T00:00:00Z # the trail covers the 7 days before END
DATA=$WORK/data
SUPPORT=scripts/support

need() { command -v "$1" >/dev/null || { echo "installing $2" >&2; apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }; }
need wrk wrk
need jq jq
need curl curl
[ -x /usr/bin/chromium ] || need chromium chromium
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import playwright' 2>/dev/null || "$VENV/bin/pip" install -q --disable-pip-version-check playwright

cargo build --release -p cairn >&2
rm -rf "$OUT" && mkdir -p "$OUT" && echo '*' > "$OUT/.gitignore"
mkdir -p "$WORK"

# --- data -------------------------------------------------------------------------------------
STAMP="events=$N end=$END $(sha1sum < "$CAIRN" | cut -c1-12)"
if [ "${BENCH_REUSE:-0}" = 1 ] && [ -f "$WORK/stamp" ] && [ "$(cut -d' ' -f1-2 "$WORK/stamp")" = "events=$N end=$END" ]; then
  echo "reusing the store in $DATA ($(cat "$WORK/stamp"))" >&2
else
  rm -rf "$WORK/trail" "$DATA" "$WORK/stamp"
  $CAIRN generate --out "$WORK/trail" --events "$N" --accounts 4 --regions 4 --days 7 --seed 1 \
    --org o-benchmark01 --end "$END" | tee "$WORK/generate.txt" >&2
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/ingest.time" \
    $CAIRN --data-dir "$DATA" ingest "$WORK/trail/AWSLogs" --no-rules -q --format json > "$WORK/ingest.json"
  echo "$STAMP" > "$WORK/stamp"
fi
cp "$WORK/ingest.json" "$WORK/ingest.time" "$WORK/generate.txt" "$OUT/" 2>/dev/null || true
EVENTS=$(jq .events_indexed "$WORK/ingest.json")

# Questions built from values the store holds.
top() { $CAIRN --data-dir "$DATA" top "$1" -n "$2" --format jsonl | jq -c '[.value]'; }
{
  echo '{'
  echo "\"eventName\": $(top eventName 20 | jq -sc add),"
  echo "\"userIdentity.userName\": $(top userIdentity.userName 10 | jq -sc add),"
  echo "\"sourceIPAddress\": $(top sourceIPAddress 10 | jq -sc add)"
  echo '}'
} > "$OUT/values.json"
python3 $SUPPORT/serve_requests.py write "$OUT" --values "$OUT/values.json" --from "$FROM" --to "$END"

# An API token for the server with authentication (viewer: it may search).
rm -f "$DATA/auth/tokens.json"
TOKEN=$($CAIRN --data-dir "$DATA" tokens create --name bench --role viewer |
  awk '/^access key id:/ {id = $4} /^secret:/ {secret = $2} END {if (id && secret) print id ":" secret}')
[ -n "$TOKEN" ] || { echo "could not create an API token" >&2; exit 1; }

# --- servers ----------------------------------------------------------------------------------
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # name, flags...; sets PORT_<name> and PID_<name>
  local name=$1 port
  shift
  port=$(free_port)
  $CAIRN --data-dir "$DATA" serve --addr "127.0.0.1:$port" "$@" 2> "$WORK/server-$name.log" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/server-$name.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server $name did not start" >&2; exit 1; }
  printf -v "PORT_$name" %s "$port"
  printf -v "PID_$name" %s "$pid"
}
start open --no-auth
start auth
OPEN=http://127.0.0.1:$PORT_open
AUTH=http://127.0.0.1:$PORT_auth
kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$2/status"; }
echo "open: $(kib VmRSS "$PID_open") KiB after start; auth: $(kib VmRSS "$PID_auth") KiB" > "$OUT/rss-start.txt"

LOOKUP_H=("X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
  "Content-Type: application/x-amz-json-1.1")
BEARER_H=("Authorization: Bearer $TOKEN")
flags() { local flag=$1 h; shift; for h in "$@"; do printf '%s\0%s\0' "$flag" "$h"; done; }

# Every question is answered, with something, before anything is timed.
check() { # name, url, file, headers...
  local name=$1 url=$2 file=$3 args=()
  shift 3
  mapfile -d '' args < <(flags --header "$@")
  python3 $SUPPORT/serve_requests.py check "$url" "$file" "${args[@]}" > "$OUT/check-$name.json"
}
check lookup "$OPEN" "$OUT/lookup.tsv" "${LOOKUP_H[@]}"
check search_field "$OPEN" "$OUT/search_field.tsv"
check search_field_bearer "$AUTH" "$OUT/search_field.tsv" "${BEARER_H[@]}"
check search_text "$OPEN" "$OUT/search_text.tsv"
check facets "$OPEN" "$OUT/facets.tsv"
check timeline "$OPEN" "$OUT/timeline.tsv"
# Without the token the server with authentication refuses (so the bearer runs do authenticate).
[ "$(curl -s -o /dev/null -w '%{http_code}' "$AUTH/api/search?q=x")" = 401 ] || { echo "auth server answers without a token" >&2; exit 1; }

# --- load -------------------------------------------------------------------------------------
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
run() { # name, server (open|auth), connections, requests file, headers...
  local name=$1 server=$2 c=$3 file=$4 hs=()
  shift 4
  mapfile -d '' hs < <(flags -H "$@")
  local url pid
  url=http://127.0.0.1:$(eval echo "\$PORT_$server")
  pid=$(eval echo "\$PID_$server")
  wrk -c "$c" -t 2 -d 3s --timeout 30s -s $SUPPORT/wrk_rotate.lua "${hs[@]}" "$url" -- "$file" > /dev/null
  local t0 t1
  t0=$(ticks "$pid")
  wrk -c "$c" -t 2 -d "$DURATION" --timeout 30s --latency -s $SUPPORT/wrk_rotate.lua "${hs[@]}" "$url" -- "$file" \
    > "$OUT/wrk-$name-c$c.txt"
  t1=$(ticks "$pid")
  tail -n 1 "$OUT/wrk-$name-c$c.txt" |
    jq -c --arg name "$name" --argjson c "$c" --argjson cpu "$(( (t1 - t0) * 1000 / HZ ))" \
      --argjson hwm "$(kib VmHWM "$pid")" --argjson rss "$(kib VmRSS "$pid")" \
      '. + {name: $name, connections: $c, server_cpu_ms: $cpu, server_vmhwm_kib: $hwm, server_vmrss_kib: $rss}' \
    >> "$OUT/runs.jsonl"
  echo "$name c=$c: $(tail -n 1 "$OUT/runs.jsonl")" >&2
}
for c in 10 50; do
  run lookup open "$c" "$OUT/lookup.tsv" "${LOOKUP_H[@]}"
  run search_field open "$c" "$OUT/search_field.tsv"
  run search_field_bearer auth "$c" "$OUT/search_field.tsv" "${BEARER_H[@]}"
  run search_text open "$c" "$OUT/search_text.tsv"
  run facets open "$c" "$OUT/facets.tsv"
  run timeline open "$c" "$OUT/timeline.tsv"
done

# --- the UI's first page ----------------------------------------------------------------------
UI_Q=eventName:ConsoleLogin
[ "$(curl -s "$OPEN/api/count?q=$UI_Q&from=$FROM&to=$END" | jq .count)" -gt 0 ] ||
  UI_Q=eventName:$(jq -r '.eventName[0]' "$OUT/values.json")
UI_PATH="/?q=$UI_Q&from=$FROM&to=$END"
if "$VENV/bin/python" $SUPPORT/ui_first_page.py --url "$OPEN" --path "$UI_PATH" --runs 5 > "$OUT/ui.json"; then
  UI_OK=1
else
  UI_OK=0
  echo "the UI measurement failed (see above); no UI row" >&2
fi

# --- report -----------------------------------------------------------------------------------
{
  echo "# cairn serve benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $EVENTS events"
  echo
  echo "Trail: $(cat "$OUT/generate.txt" 2>/dev/null || echo reused). Ingest: $(cut -d' ' -f1 "$OUT/ingest.time" 2>/dev/null) s."
  echo "wrk -t 2 -d $DURATION --latency on 127.0.0.1 (same machine); each request kind rotates through its"
  echo "questions (files in this directory). Server CPU is user+system time of the server process"
  echo "during the run; VmHWM is the server's peak RSS since it started."
  echo
  echo "| request | server | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU ms/req | VmHWM MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r '
    def errs: .errors | (.connect + .read + .write + .status + .timeout);
    "| \(.name) | \(if .name | endswith("bearer") then "auth, bearer token" else "--no-auth" end) | \(.connections) | \(.rps | floor) | \(.p50_ms) | \(.p90_ms) | \(.p99_ms) | \(.max_ms) | \(errs) | \((.server_cpu_ms / .requests * 100 | round) / 100) | \(.server_vmhwm_kib / 1024 | floor) |"' \
    "$OUT/runs.jsonl"
  echo
  echo "Answers (one of each question, before the load):"
  echo
  for f in "$OUT"/check-*.json; do echo "- $(basename "$f" .json | sed 's/^check-//'): $(cat "$f")"; done
  echo
  if [ "$UI_OK" = 1 ]; then
    jq -r '"UI first page, \(.url): median of \(.runs) fresh loads in headless Chromium: results visible \(.median_results_visible_ms) ms after navigation start (performance mark); first row seen by Playwright \(.median_rows_visible_wall_ms) ms after goto; histogram and facets in \(.median_complete_ms) ms; \(.loads[0].total) events match, \(.loads[0].rows) rows shown."' "$OUT/ui.json"
  else
    echo "UI first page: not measured (the UI measurement failed)."
  fi
  echo
  lookup50=$(jq -r 'select(.name == "lookup" and .connections == 50) | .p99_ms' "$OUT/runs.jsonl")
  echo "Target, LookupEvents p99 under 100 ms at 50 connections: ${lookup50} ms, $(awk -v p="$lookup50" 'BEGIN { print (p < 100) ? "met" : "not met" }')."
  echo "Server RSS after start: $(cat "$OUT/rss-start.txt")."
} | tee "$OUT/results.md"

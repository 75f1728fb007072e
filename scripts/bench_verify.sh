#!/usr/bin/env bash
# Log-file integrity validation: `cairn verify` against `aws cloudtrail validate-logs` on the same
# generated organization trail with signed hourly digests.
#
#   ./scripts/bench_verify.sh [EVENTS]        default 100,000; results in bench-verify-out/results.md
#
# Times, whole process each: cairn on the local copy (offline), cairn on the bucket served by
# moto_server (online), and the AWS CLI on the same bucket, run once per (member account,
# region) as it must be, its times summed. Then one (account, region) pair by each tool alone,
# like for like. The CloudTrail and Organizations calls (ListPublicKeys, DescribeTrails,
# DescribeOrganization) go to scripts/support/cloudtrail_standin.py. Everything listens on
# 127.0.0.1. Every run must report every digest and log file valid, with the same counts.
# One run, one machine: compare within it.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
OUT=${BENCH_OUT:-bench-verify-out}
TARGET=${CARGO_TARGET_DIR:-target}
CAIRN=$TARGET/release/cairn
VENV=${CAIRN_VENV:-$PWD/.venv}
BUCKET=cairn-verify-bench
ORG=o-abcdefghij
TRAIL_ARN=arn:aws:cloudtrail:us-east-1:111111111111:trail/cairn
GEN_END=2025-06-01T00:00:00Z
CLI_START=2025-05-28T00:00:00Z # the trail covers the 3 days before GEN_END
CLI_END=2025-06-01T06:00:00Z

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/aws" ] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.1' awscli boto3
fi
PY=$VENV/bin/python

cargo build --release -p cairn >&2
rm -rf "$OUT" && mkdir -p "$OUT"
$CAIRN generate --out "$OUT/trail" --events "$N" --accounts 2 --regions 2 --days 3 --seed 1 \
  --org "$ORG" --end "$GEN_END" --digests --bucket "$BUCKET" | tee "$OUT/generate.txt" >&2
TRAIL=$OUT/trail
KEYS=$TRAIL/public-keys.json
sync

# Per scope ("all" and each account/region): digest files, the log files they list, and those
# files' compressed and uncompressed bytes.
"$PY" - "$TRAIL" > "$OUT/scopes.txt" <<'EOF'
import gzip, json, os, sys
root = sys.argv[1]
acc = {}
def add(scope, d, l, gz, raw):
    s = acc.setdefault(scope, [0, 0, 0, 0])
    s[0] += d; s[1] += l; s[2] += gz; s[3] += raw
for dirpath, _, files in os.walk(os.path.join(root, "AWSLogs")):
    for f in files:
        if "_CloudTrail-Digest_" not in f or not f.endswith(".json.gz"):
            continue
        parts = os.path.relpath(dirpath, root).split(os.sep)
        i = parts.index("CloudTrail-Digest")
        scope = parts[i - 1] + "/" + parts[i + 1]
        with gzip.open(os.path.join(dirpath, f)) as g:
            digest = json.load(g)
        logs = digest.get("logFiles") or []
        gz = raw = 0
        for log in logs:
            p = os.path.join(root, log["s3Object"])
            gz += os.path.getsize(p)
            with gzip.open(p) as g:
                while chunk := g.read(1 << 20):
                    raw += len(chunk)
        for s in ("all", scope):
            add(s, 1, len(logs), gz, raw)
for scope, (d, l, gz, raw) in sorted(acc.items()):
    print(scope, d, l, gz, raw)
EOF
scope() { awk -v s="$1" '$1 == s { print $2, $3, $4, $5 }' "$OUT/scopes.txt"; }
read -r ALL_D ALL_L ALL_GZ ALL_RAW < <(scope all)
PAIRS=$(awk '$1 != "all" { print $1 }' "$OUT/scopes.txt")
PAIR=$(echo "$PAIRS" | head -1)
PAIR_ACCOUNT=${PAIR%/*}
PAIR_REGION=${PAIR#*/}

# --- servers on 127.0.0.1 --------------------------------------------------------------------
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MOTO_PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$OUT/moto.log" 2>&1 &
MOTO_PID=$!
PIDS+=($MOTO_PID)
"$PY" scripts/support/cloudtrail_standin.py --keys "$KEYS" --bucket "$BUCKET" --trail-arn "$TRAIL_ARN" \
  --org "$ORG" > "$OUT/standin.out" 2> "$OUT/standin.log" &
PIDS+=($!)
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" && grep -q '^PORT ' "$OUT/standin.out" && break
  sleep 0.2
done
STANDIN_PORT=$(awk '/^PORT / { print $2 }' "$OUT/standin.out")
[ -n "$STANDIN_PORT" ] || { echo "the CloudTrail stand-in did not start" >&2; exit 1; }
curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" || { echo "moto_server did not start" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_ENDPOINT_URL AWS_PROFILE AWS_SESSION_TOKEN
"$PY" scripts/support/upload_trail.py --endpoint "http://127.0.0.1:$MOTO_PORT" "$TRAIL" "$BUCKET"
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$MOTO_PORT \
  AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:$STANDIN_PORT \
  AWS_ENDPOINT_URL_ORGANIZATIONS=http://127.0.0.1:$STANDIN_PORT

# --- runs --------------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD with stdout to $OUT/NAME.out; sets SECS, KB (peak RSS), RC, REQ
# (the requests moto_server logged meanwhile) and MOTO_CPU (its CPU seconds meanwhile).
s3_requests() { grep -c 'HTTP/1\.[01]" [0-9]' "$OUT/moto.log" || true; }
moto_ticks() { awk '{ print $14 + $15 }' "/proc/$MOTO_PID/stat" 2>/dev/null || echo 0; }
timed() {
  local name=$1; shift
  local before ticks; before=$(s3_requests) ticks=$(moto_ticks)
  local t0; t0=$(date +%s%N)
  RC=0
  /usr/bin/time -f "%M" -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || RC=$?
  SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  KB=$(tail -1 "$OUT/$name.time")
  REQ=$(($(s3_requests) - before))
  MOTO_CPU=$(awk -v a="$ticks" -v b="$(moto_ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
}
# counts FILE: "digests log_files all_valid" from a summary in the AWS CLI's format.
counts() {
  awk '
    /^[0-9]+\/[0-9]+ (backfill )?digest files valid/ { split($1, a, "/"); d += a[2]; if (a[1] != a[2]) bad = 1 }
    /^[0-9]+\/[0-9]+ log files valid/ { split($1, a, "/"); l += a[2]; if (a[1] != a[2]) bad = 1 }
    /INVALID/ { bad = 1 }
    END { print d + 0, l + 0, (bad ? "no" : "yes") }' "$1"
}
fail() { echo "FAILED: $*" >&2; exit 1; }

ROWS=()
# row TOOL SCOPE DIGESTS LOGS GZ RAW SECS KB REQUESTS MOTO_CPU
row() {
  ROWS+=("$(awk -v t="$1" -v sc="$2" -v d="$3" -v l="$4" -v gz="$5" -v raw="$6" -v s="$7" -v kb="$8" -v rq="$9" -v mc="${10}" 'BEGIN {
    printf "| %s | %s | %d | %d | " (s < 1 ? "%.3f" : "%.2f") " | %.1f | %.1f | %.0f | %d | %s | %s |", t, sc, d, l, s, gz / 1e6 / s, raw / 1e6 / s, d / s, kb / 1024, rq, mc }')")
}

# cairn: check the exit status, the summary, and that it covered every digest and listed log.
cairn_run() { # name tool scope digests logs gz raw args...
  local name=$1 tool=$2 sc=$3 d=$4 l=$5 gz=$6 raw=$7; shift 7
  timed "$name" "$CAIRN" verify "$@"
  [ "$RC" = 0 ] || fail "$name exited $RC (see $OUT/$name.out, $OUT/$name.err)"
  read -r rd rl ok < <(counts "$OUT/$name.out")
  [ "$ok" = yes ] && [ "$rd" = "$d" ] && [ "$rl" = "$l" ] ||
    fail "$name reported $rd digests, $rl log files (all valid: $ok); the trail has $d and $l"
  local rq=$REQ mc=$MOTO_CPU; [[ $tool == *offline* ]] && rq=- mc=-
  row "$tool" "$sc" "$d" "$l" "$gz" "$raw" "$SECS" "$KB" "$rq" "$mc"
  echo "$name: $SECS s" >&2
}

cairn_run cairn-offline "cairn verify (offline, local dir)" "all ($(echo "$PAIRS" | wc -l) account/region pairs)" \
  "$ALL_D" "$ALL_L" "$ALL_GZ" "$ALL_RAW" "$TRAIL" --public-keys "$KEYS"
OFF_S=$SECS
cairn_run cairn-online "cairn verify (online, S3 on moto)" "all" \
  "$ALL_D" "$ALL_L" "$ALL_GZ" "$ALL_RAW" "s3://$BUCKET"
ON_S=$SECS

# The AWS CLI, once per (member account, region).
CLI_S=0 CLI_KB=0 CLI_D=0 CLI_L=0 CLI_REQ=0 CLI_MOTO=0
for p in $PAIRS; do
  a=${p%/*} r=${p#*/}
  name=cli-$a-$r
  timed "$name" "$VENV/bin/aws" cloudtrail validate-logs --trail-arn "$TRAIL_ARN" --account-id "$a" \
    --start-time "$CLI_START" --end-time "$CLI_END" --region "$r"
  [ "$RC" = 0 ] || fail "$name exited $RC (see $OUT/$name.out, $OUT/$name.err)"
  read -r d l ok < <(counts "$OUT/$name.out")
  read -r sd sl _ _ < <(scope "$p")
  [ "$ok" = yes ] && [ "$d" = "$sd" ] && [ "$l" = "$sl" ] ||
    fail "$name reported $d digests, $l log files (all valid: $ok); cairn and the trail have $sd and $sl"
  echo "$name: $SECS s" >&2
  CLI_S=$(awk -v a="$CLI_S" -v b="$SECS" 'BEGIN { print a + b }')
  CLI_D=$((CLI_D + d)) CLI_L=$((CLI_L + l)) CLI_REQ=$((CLI_REQ + REQ))
  CLI_MOTO=$(awk -v a="$CLI_MOTO" -v b="$MOTO_CPU" 'BEGIN { printf "%.1f", a + b }')
  [ "$KB" -gt "$CLI_KB" ] && CLI_KB=$KB
  [ "$p" = "$PAIR" ] && { PAIR_CLI_S=$SECS; PAIR_CLI_KB=$KB; PAIR_CLI_REQ=$REQ; PAIR_CLI_MOTO=$MOTO_CPU; }
done
[ "$CLI_D" = "$ALL_D" ] && [ "$CLI_L" = "$ALL_L" ] || fail "the CLI's totals $CLI_D/$CLI_L differ from cairn's $ALL_D/$ALL_L"
row "aws cloudtrail validate-logs (AWS CLI v1, on moto)" "all ($(echo "$PAIRS" | wc -l) invocations, times summed, largest RSS)" \
  "$ALL_D" "$ALL_L" "$ALL_GZ" "$ALL_RAW" "$CLI_S" "$CLI_KB" "$CLI_REQ" "$CLI_MOTO"

# One pair, like for like.
read -r PD PL PGZ PRAW < <(scope "$PAIR")
cairn_run cairn-offline-pair "cairn verify (offline, local dir)" "$PAIR" "$PD" "$PL" "$PGZ" "$PRAW" \
  "$TRAIL" --public-keys "$KEYS" --account "$PAIR_ACCOUNT" --region "$PAIR_REGION"
PAIR_OFF_S=$SECS
cairn_run cairn-online-pair "cairn verify (online, S3 on moto)" "$PAIR" "$PD" "$PL" "$PGZ" "$PRAW" \
  "s3://$BUCKET" --account "$PAIR_ACCOUNT" --region "$PAIR_REGION"
PAIR_ON_S=$SECS
row "aws cloudtrail validate-logs (AWS CLI v1, on moto)" "$PAIR" "$PD" "$PL" "$PGZ" "$PRAW" "$PAIR_CLI_S" "$PAIR_CLI_KB" "$PAIR_CLI_REQ" "$PAIR_CLI_MOTO"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
{
  echo "# cairn verify benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $N events"
  echo
  echo "Trail: $(tail -1 "$OUT/generate.txt")"
  echo "$ALL_D digest files listing $ALL_L log files: $(numfmt --to=iec "$ALL_GZ") compressed, $(numfmt --to=iec "$ALL_RAW") uncompressed. $("$VENV/bin/aws" --version 2>&1)"
  echo
  echo "| tool | scope | digests | log files | wall s | MB/s compressed | MB/s uncompressed | digests/s | peak RSS MiB | S3 requests | moto CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "AWS CLI / cairn wall time, whole bucket: $(ratio "$CLI_S" "$ON_S") against cairn online, $(ratio "$CLI_S" "$OFF_S") against cairn offline."
  echo "AWS CLI / cairn wall time, $PAIR: $(ratio "$PAIR_CLI_S" "$PAIR_ON_S") against cairn online, $(ratio "$PAIR_CLI_S" "$PAIR_OFF_S") against cairn offline."
  echo "MB = 10^6 bytes of the log files the digests list; every run reported every digest and log file valid."
  echo "cairn's threads: $(nproc) offline (the cores), 16 online (the default). S3 requests and moto CPU s: what moto_server logged and spent during the run (a Python process: one core at most)."
} | tee "$OUT/results.md"

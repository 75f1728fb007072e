#!/usr/bin/env bash
# S3/SQS benchmarks against a local AWS-API server: S3 ingest throughput and its overhead over
# local files, listing of a 10,000-object bucket with 10 new objects, and notification-to-
# searchable latency in follow mode. Results in bench-out/s3.json.
#
#   ./scripts/bench_s3.sh [EVENTS]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CAIRN_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.1' awscli boto3 prometheus-client
fi
cargo build --release --locked -p cairn
CAIRN_VENV="$VENV" exec "$VENV/bin/python" scripts/bench_s3.py "$@"

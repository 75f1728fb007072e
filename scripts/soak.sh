#!/usr/bin/env bash
# The soak test: `cairn serve --follow` on moto_server under faults, kills and queries.
#
#   ./scripts/soak.sh [MINUTES]      default 3; report, samples and plot in target/soak
#
# Runs crates/cairn/tests/soak.rs (ignored by a plain `cargo test`), which says what it does and
# what it checks. CAIRN_SOAK_KILL_SECS sets the mean time between SIGKILLs (default 40).
# CAIRN_SOAK_OUT sets the output directory. Needs the test venv (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CAIRN_SOAK_MINUTES="${1:-3}"
export CAIRN_SOAK_OUT="${CAIRN_SOAK_OUT:-$PWD/target/soak}"
VENV="${CAIRN_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/aws" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check 'moto[server]==5.2.1' awscli
fi
export CAIRN_VENV="$VENV"
rm -rf "$CAIRN_SOAK_OUT"
# --workspace: the features the whole test suite was built with, so nothing is built again.
cargo test --workspace --locked --test soak -- --ignored --nocapture

#!/usr/bin/env bash
# Runs every check and test of cairn on a fresh machine: installs what the tests need first.
#
#   ./scripts/test.sh            format, lint, build, and the whole test suite
#
# The tests read real CloudTrail data from ../shared/corpus when it is there, and generate the
# rest themselves. Nothing here reaches any network address but the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "toolchain"
cargo --version
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (whole workspace)"
# Benchmarks are built (not timed) so they cannot rot.
cargo build --workspace --benches --locked
cargo test --workspace --locked --no-fail-fast

#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, libFuzzer through cargo fuzz) for SECONDS each.
#
#   ./scripts/fuzz.sh [SECONDS] [TARGET...]     default 60 s, every target
#
# Seeds: fuzz/seeds/<target>, the built-in Sigma rules, the detection fixtures, a small trail
# generated with signed digests, and ../shared/corpus when it is there. The corpus grows in
# target/fuzz-corpus/<target> and is kept between runs. A crash stops the script: its input is
# in fuzz/artifacts/<target>/; once fixed, copy it to fuzz/regressions/<target>/ (named for
# what it broke) so that `cargo test -p cairn-fuzz` runs it from then on. The summary (runs
# and seconds per target) goes to target/fuzz-summary.txt.
#
# cargo fuzz needs nightly compiler flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain take
# them. FUZZ_SANITIZER=none|address (default address). FUZZ_SEED=N makes libFuzzer's random
# choices repeatable (CI's smoke run uses 1); unset, each run differs. FUZZ_PROFILE=dev builds
# the targets unoptimized (cargo fuzz --dev): it builds in a fraction of the time and runs
# slower, which suits CI's short smoke run; the default, release, is for real campaigns.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
ALL=(decode s3_key notification query sigma digest lookup api_json)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
SANITIZER=${FUZZ_SANITIZER:-address}
case "${FUZZ_PROFILE:-release}" in
  release) PROFILE=() ;;
  dev) PROFILE=(--dev) ;;
  *) echo "FUZZ_PROFILE is release or dev, not ${FUZZ_PROFILE}" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

# --- seeds --------------------------------------------------------------------------------------
SEEDS=target/fuzz-seeds
rm -rf "$SEEDS"
for t in "${ALL[@]}"; do
  mkdir -p "$SEEDS/$t" "target/fuzz-corpus/$t"
  cp fuzz/seeds/"$t"/* "$SEEDS/$t/"
done
cp crates/cairn-detect/rules/*.yml "$SEEDS/sigma/"
find crates/cairn-detect/tests/fixtures -name '*.jsonl' -size -64k | while IFS= read -r f; do
  cp "$f" "$SEEDS/decode/$(echo "${f#crates/cairn-detect/tests/fixtures/}" | tr / _)"
done
# Any cairn binary writes the seed trail: the test suite's, when there is one.
[ -x target/debug/cairn ] || cargo build -q -p cairn
TRAIL=target/fuzz-trail
rm -rf "$TRAIL"
target/debug/cairn generate --out "$TRAIL" --events 300 --accounts 1 --regions 1 --days 1 \
  --seed 3 --end 2025-06-01T00:00:00Z --digests >/dev/null
n=0
while IFS= read -r f; do
  n=$((n + 1))
  rel=${f#"$TRAIL/"}
  case "$f" in
    *CloudTrail-Digest*) zcat "$f" > "$SEEDS/digest/gen-$n.json" ;;
    *) [ $n -le 20 ] && cp "$f" "$SEEDS/decode/gen-$n.json.gz" ;;
  esac
  [ $n -le 40 ] && printf '%s' "$rel" > "$SEEDS/s3_key/gen-$n"
done < <(find "$TRAIL/AWSLogs" -name '*.json.gz' | sort | head -200)
if [ -d ../shared/corpus ]; then
  find ../shared/corpus -name '*.json.gz' -size -512k | head -50 | while IFS= read -r f; do
    cp "$f" "$SEEDS/decode/shared-$(basename "$f")"
  done
  find ../shared/corpus -name '*.yml' -size -64k | head -200 | while IFS= read -r f; do
    cp "$f" "$SEEDS/sigma/shared-$(basename "$f")"
  done
fi

dict() {
  case "$1" in
    query) echo "$PWD/fuzz/dict/query.dict" ;;
    sigma) echo "$PWD/fuzz/dict/sigma.dict" ;;
    s3_key) echo "" ;;
    *) echo "$PWD/fuzz/dict/json.dict" ;;
  esac
}

# --- runs ---------------------------------------------------------------------------------------
SUMMARY=target/fuzz-summary.txt
: > "$SUMMARY"
for t in "${TARGETS[@]}"; do
  d=$(dict "$t")
  args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
  [ -n "$d" ] && args+=(-dict="$d")
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
  echo "==> $t for ${SECONDS_EACH}s" >&2
  log=target/fuzz-$t.log
  if ! (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "${PROFILE[@]}" --sanitizer "$SANITIZER" "$t" "../target/fuzz-corpus/$t" "../$SEEDS/$t" -- "${args[@]}") > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed: the input is in fuzz/artifacts/$t/ (log: $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(find "target/fuzz-corpus/$t" -type f | wc -l)
  printf '%-13s %10s runs in %4ss, coverage %6s, corpus %5s inputs, no crash\n' "$t" "${runs:-?}" "${secs:-?}" "${cov:-?}" "$corpus" | tee -a "$SUMMARY"
done

#!/usr/bin/env bash
# Makes the RustSec advisory database that `cargo deny check advisories` reads offline
# (deny.toml: db-path) from the snapshot in ../shared/advisory-db.
#
#   ./scripts/advisory-db.sh [SNAPSHOT_DIR]     default ../shared/advisory-db
#
# cargo-deny wants a git checkout named for the database's URL (advisory-db-<hash of
# https://github.com/rustsec/advisory-db>) and reads the date of its HEAD commit; the snapshot
# is plain files, so they are committed here with the snapshot's own date.
set -euo pipefail
cd "$(dirname "$0")/.."
SNAPSHOT="${1:-../shared/advisory-db}"
DB=target/advisory-dbs/advisory-db-3157b0e258782691
[ -d "$SNAPSHOT/crates" ] || { echo "no RustSec snapshot at $SNAPSHOT" >&2; exit 1; }
# The date is the one SNAPSHOT.md gives ("commit ... of YYYY-MM-DD").
DATE=$(grep -oE 'of [0-9]{4}-[0-9]{2}-[0-9]{2}' "$SNAPSHOT/SNAPSHOT.md" | head -1 | cut -c4-)
rm -rf "$DB"
mkdir -p "$DB"
cp -r "$SNAPSHOT/." "$DB/"
cd "$DB"
git init -q
git add -A
GIT_AUTHOR_DATE="${DATE}T00:00:00Z" GIT_COMMITTER_DATE="${DATE}T00:00:00Z" \
  git -c user.name=rustsec-snapshot -c user.email=snapshot@invalid -c commit.gpgsign=false \
  commit -qm "RustSec advisory-db snapshot of $DATE"

#!/usr/bin/env bash
# The whole test suite, N times in a row (default 5), with every core kept busy by a busy loop:
# what a loaded CI machine does to a test that counts on timing. Stops at the first failing run
# and names its failed tests; the busy loops end with the script, however it ends.
# Uses the package as built (npm run build first).
#   bash scripts/busy-suite.sh [runs]     # npm run test:busy -- [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cores=$(nproc)
loops=()
stop() { [ ${#loops[@]} -eq 0 ] || kill "${loops[@]}" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq "$cores"); do
  bash -c 'while :; do :; done' &
  loops+=($!)
done
echo "== $cores busy loops ($(node --version)); the suite $runs times"
log=$(mktemp)
for run in $(seq "$runs"); do
  start=$SECONDS
  if node node_modules/ava/entrypoints/cli.js >"$log" 2>&1; then
    echo "== run $run of $runs passed in $((SECONDS - start)) s: $(grep -E '[0-9]+ tests? passed' "$log" | tr -s ' ')"
  else
    echo "== run $run of $runs FAILED in $((SECONDS - start)) s:"
    grep -E '✘|[0-9]+ tests? (failed|passed)|uncaught|unhandled' "$log" || true
    # ava's account of each failure (the assertion, the values) follows its list of tests.
    sed -n '/^  ─$/,$p' "$log" | head -150
    rm -f "$log"
    exit 1
  fi
done
rm -f "$log"
echo "== the suite passed $runs times in a row with $cores cores busy"

#!/usr/bin/env bash
# npm run release:check: the whole release path, as the workflow runs it before a publish and
# .ci/run on every landing, so what is tested is what would be published.
#   1. build.sh          the .node and the static helper for the four targets, glibc floor checked
#   2. test.sh           the whole suite on linux-x64-gnu under Node 22, 24 and 26, and on
#                        linux-x64-musl under a musl Node
#   3. arm64-check.sh    both arm64 builds on Debian's arm64 kernels under qemu-system-aarch64
#   4. registry-check.sh publish.sh to a local Verdaccio, then npm install pidfd from it with no
#                        toolchain, on x64 gnu and musl
# Needs root (apt-get, unshare, mount). Prints each step's time; exits non-zero if any failed.
#   bash scripts/release/check.sh [step...]    # default: build test arm64 registry
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(build test arm64 registry)
failed=()
times=()
# Each step's output is kept, so the tests a failed step failed are named again at the end,
# where a CI log cut to its tail still shows them.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for step in "${steps[@]}"; do
  case $step in
    build) script=build.sh ;;
    test) script=test.sh ;;
    arm64) script=arm64-check.sh ;;
    registry) script=registry-check.sh ;;
    *) echo "no release step $step (build, test, arm64, registry)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  echo "== release step: $step"
  if ! bash "scripts/release/$script" 2>&1 | tee "$logs/$step"; then
    failed+=("$step")
    # Nothing can be checked past a build that failed.
    [ "$step" != build ] || break
  fi
  times+=("$step $((SECONDS - start)) s")
done
summary=$(printf '%s, ' "${times[@]}")
echo "== release check: ${summary%, }"
if [ ${#failed[@]} -gt 0 ]; then
  for step in "${failed[@]}"; do
    echo "== what failed in $step:"
    grep -E '✘|◌|pending in|Failed to exit|^not ok|^== the test suite|FAILED|[0-9]+ (tests?|known failures?|uncaught exceptions?|unhandled rejections?) (failed|passed|skipped)' "$logs/$step" | grep -vE ' 0 (tests? )?failed' || true
    # And ava's account of each failure (the assertion, its values, the line), which a log cut
    # to its tail would lose: what ava prints between its two rules, 150 lines at most a suite.
    awk '/^== the test suite/ { n = 0; open = 0; suite = $0 }
      /^  ─$/ { if (open && n > 0) { print "== failures in " substr(suite, 4) ":"; for (i = 1; i <= n; i++) print buf[i] } open = !open; n = 0; next }
      open && n < 150 { buf[++n] = $0 }' "$logs/$step"
  done
  echo "== release check FAILED: ${failed[*]}"
  exit 1
fi
echo "== release check: all passed"

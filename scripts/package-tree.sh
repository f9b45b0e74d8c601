# shellcheck shell=bash
# The package as it is installed, for a VM's initramfs: its files, its runtime dependencies only,
# and the kernel check. Sourced by scripts/kernel-matrix.sh and scripts/release/arm64-check.sh.
#   package_tree <repository> <destination>

package_tree() {
  local repo=$1 dest=$2
  mkdir -p "$dest/__test__/kernel" "$dest/node_modules"
  cp -r "$repo"/{index.js,package.json,lib,bin} "$dest/"
  cp "$repo/__test__/kernel/check.cjs" "$dest/__test__/kernel/"
  (cd "$repo" && npm ls --omit=dev --all --parseable 2>/dev/null) | tail -n +2 | while read -r dep; do
    local rel=${dep#"$repo"/}
    mkdir -p "$dest/$(dirname "$rel")"
    cp -r "$dep" "$dest/$rel"
  done
}

#!/usr/bin/env bash
# Builds what is published for each Linux target: the `.node` and the static spawn helper, into
# npm/linux-<arch>-<abi>/ (the platform package), on this machine for all four targets. zig is
# the linker and C compiler (through cargo-zigbuild), warnings are errors, and:
#   - the gnu `.node`s link against glibc 2.17's symbols (RHEL 7, Debian 8, Ubuntu 14.04 and
#     later load them), checked here by the newest GLIBC_ version they ask for;
#   - the musl `.node`s ask for no glibc symbol, and musl's libc alone;
#   - the helper is static, built against musl for every target (a static program needs no
#     glibc, and zig links none statically): no interpreter, no library.
#
#   bash scripts/release/build.sh [triple...]    # default: the four of package.json
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/release/tools.sh
. scripts/release/tools.sh

GLIBC_FLOOR=2.17
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(node -p 'require("./package.json").napi.targets.join("\n")')
fi
release_tools "${targets[@]}"

newest_glibc() {
  readelf --dyn-syms -W "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1
}

for triple in "${targets[@]}"; do
  arch=${triple%%-*}
  abi=${triple##*-}
  case $arch in
    x86_64) node_arch=x64 machine='X86-64' ;;
    aarch64) node_arch=arm64 machine='AArch64' ;;
    *) echo "no such target here: $triple" >&2; exit 1 ;;
  esac
  platform=linux-$node_arch-$abi
  dir=npm/$platform
  [ -f "$dir/package.json" ] || { echo "no package for $platform in npm/" >&2; exit 1; }
  cargo_target=$triple
  [ "$abi" = gnu ] && cargo_target=$triple.$GLIBC_FLOOR
  # A musl cdylib needs the C library dynamic (Rust links musl statically by default).
  flags_var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$triple")_RUSTFLAGS
  [ "$abi" = musl ] && export "$flags_var=-C target-feature=-crt-static"
  start=$SECONDS
  echo "== $platform: cargo zigbuild --release --target $cargo_target"
  # A target folder of its own: napi's host build (npm run build) writes target/<triple>/ too,
  # with a helper from the host's compiler.
  PIDFD_HELPER_CC="zig cc -target $arch-linux-musl" cargo zigbuild --quiet --release \
    --target "$cargo_target" --target-dir target/release-zig
  unset "$flags_var"
  out=target/release-zig/$triple/release
  # build.rs's output: the newest, where earlier builds left others.
  helper=$(find "$out"/build/pidfd-*/out -name pidfd-helper -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
  node_file=$dir/pidfd.$platform.node
  cp "$out/libpidfd.so" "$node_file"
  cp "$helper" "$dir/pidfd-helper"
  cp LICENSE "$dir/LICENSE"
  chmod 755 "$dir/pidfd-helper"

  # What the files are, checked.
  for f in "$node_file" "$dir/pidfd-helper"; do
    readelf -h "$f" | grep -q "Machine:.*$machine" || { echo "$f is not $machine" >&2; exit 1; }
  done
  readelf --dyn-syms -W "$node_file" | grep -q ' napi_register_module_v1$' \
    || { echo "$node_file exports no napi_register_module_v1" >&2; exit 1; }
  if readelf -l "$dir/pidfd-helper" | grep -q 'INTERP' || grep -q 'GNU C Library' "$dir/pidfd-helper"; then
    echo "$dir/pidfd-helper is not static against musl" >&2
    exit 1
  fi
  needed=$(readelf -d "$node_file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  if [ "$abi" = gnu ]; then
    glibc=$(newest_glibc "$node_file")
    if [ "$(printf '%s\n%s\n' "$glibc" "$GLIBC_FLOOR" | sort -V | tail -1)" != "$GLIBC_FLOOR" ]; then
      echo "$node_file asks for GLIBC_$glibc, past the floor $GLIBC_FLOOR" >&2
      exit 1
    fi
    libc="newest symbol GLIBC_$glibc (floor $GLIBC_FLOOR)"
  else
    if [ -n "$(newest_glibc "$node_file")" ] || grep -q 'libc\.so\.6' <<<"$needed"; then
      echo "$node_file asks for glibc" >&2
      exit 1
    fi
    libc="no glibc symbol"
  fi
  echo "== $platform: $(stat -c %s "$node_file") B .node ($libc; needs ${needed% }), $(stat -c %s "$dir/pidfd-helper") B static helper, $((SECONDS - start)) s"
done

# The helper also compiles, warnings as errors, against old headers: glibc 2.17's and Linux 3.10's
# (napi-rs's cross toolchains, gcc 4.8), where the newer calls' numbers are missing.
for arch in $(printf '%s\n' "${targets[@]}" | cut -d- -f1 | sort -u); do
  gcc_old=$(old_toolchain "$arch")
  "$gcc_old" -fsyntax-only -std=gnu11 -Wall -Wextra -Werror helper/pidfd-helper.c helper/guard.c
  headers=$(sed -n 's/#define LINUX_VERSION_CODE //p' "$(dirname "$gcc_old")/../$arch-unknown-linux-gnu/sysroot/usr/include/linux/version.h")
  echo "== the helper compiles for $arch against Linux $((headers >> 16)).$(((headers >> 8) & 255))'s headers and glibc 2.17's, with gcc $("$gcc_old" --version | head -1 | awk '{print $NF}')"
done

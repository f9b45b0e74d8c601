#!/usr/bin/env bash
# Publishes the release, as the workflow's publish job does and as release:check does to a local
# registry: the four platform packages (npm/*, filled by build.sh), then pidfd with each of them
# as an optional dependency at its own version, so that npm installs the one that fits.
# Every argument goes to each `npm publish` (the registry, --access, --provenance, …).
#   bash scripts/release/publish.sh --registry http://127.0.0.1:4873
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(node -p 'require("./package.json").version')
names=()
for dir in npm/*/; do
  dir=${dir%/}
  read -r name own files < <(node -p "const p = require('./$dir/package.json'); [p.name, p.version, p.files.join(',')].join(' ')")
  [ "$own" = "$version" ] || { echo "$name is at $own, pidfd at $version" >&2; exit 1; }
  for f in ${files//,/ }; do
    [ -s "$dir/$f" ] || { echo "$dir/$f is missing: run scripts/release/build.sh first" >&2; exit 1; }
  done
  npm publish "./$dir" "$@"
  names+=("$name")
done

# The optional dependencies are written for the publish only: a clone's npm ci does not fetch them.
saved=$(mktemp)
cp package.json "$saved"
trap 'cp "$saved" package.json; rm -f "$saved"' EXIT
node -e '
  const fs = require("node:fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  pkg.optionalDependencies = Object.fromEntries(process.argv.slice(1).map((n) => [n, pkg.version]));
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
' "${names[@]}"
npm publish "$@"

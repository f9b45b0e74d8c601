#!/usr/bin/env bash
# Publishes the release (build.sh's npm/*, and pidfd) with publish.sh, exactly as the workflow's
# publish job does, to a real registry of our own: Verdaccio from npm, started here on localhost
# with an empty store (pidfd* never proxied; its dependencies come through from npm's registry)
# and removed after. Then install-check.ts installs `pidfd` from it in an empty folder on
# linux-x64-gnu (Node 22) and on linux-x64-musl (the musl Node, as test.sh runs it).
#   bash scripts/release/registry-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/release/tools.sh
. scripts/release/tools.sh

VERDACCIO_VERSION=6.10.4
tools=$RELEASE_CACHE/verdaccio-$VERDACCIO_VERSION
[ -x "$tools/node_modules/.bin/verdaccio" ] ||
  npm install --prefix "$tools" --no-save --no-audit --no-fund --silent "verdaccio@$VERDACCIO_VERSION"

work=$(mktemp -d)
chmod 755 "$work"
pid=
# shellcheck disable=SC2329 # the trap calls it
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
registry=http://127.0.0.1:$port/
cat > "$work/config.yaml" <<YAML
storage: $work/storage
auth:
  htpasswd:
    file: $work/htpasswd
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
packages:
  'pidfd':
    access: \$all
    publish: \$authenticated
  'pidfd-*':
    access: \$all
    publish: \$authenticated
  '**':
    access: \$all
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
YAML
node22=$(node_from_npm x64 22)
"$node22/node" "$tools/node_modules/verdaccio/bin/verdaccio" --config "$work/config.yaml" --listen "127.0.0.1:$port" > "$work/verdaccio.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "${registry}-/ping" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "${registry}-/ping" >/dev/null || { cat "$work/verdaccio.log"; echo "Verdaccio did not start" >&2; exit 1; }
echo "== Verdaccio $VERDACCIO_VERSION at $registry"

# A user of the registry's own, and its token, in an npmrc of this run alone.
token=$(curl -fs -X PUT -H 'content-type: application/json' \
  -d '{"name":"release","password":"release-check"}' "${registry}-/user/org.couchdb.user:release" |
  node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).token')
printf '//127.0.0.1:%s/:_authToken=%s\n' "$port" "$token" > "$work/npmrc"
export NPM_CONFIG_USERCONFIG=$work/npmrc

start=$SECONDS
bash scripts/release/publish.sh --registry "$registry" --access public
echo "== published in $((SECONDS - start)) s: $(curl -fs "${registry}pidfd" | node -pe 'const p = JSON.parse(require("fs").readFileSync(0, "utf8")); Object.keys(p.versions[p["dist-tags"].latest].optionalDependencies).join(", ")')"

failed=0
echo "== npm install pidfd on linux-x64-gnu, Node $("$node22/node" --version)"
"$node22/node" --import tsx scripts/release/install-check.ts --registry "$registry" --platform linux-x64-gnu || failed=1

bin=$(musl_node x86_64)
debs=$(debian_debs trixie musl:amd64)
lower=$RELEASE_CACHE/musl-amd64
rm -rf "$lower" && dpkg-deb -x "$debs"/musl_*_amd64.deb "$lower"
# npm tells musl from glibc by /usr/bin/ldd, as a musl distribution has it: musl's own, here.
printf '#!/bin/sh\nexec /usr/lib/ld-musl-x86_64.so.1 --list "$@"\n' > "$work/ldd"
chmod 755 "$work/ldd"
echo "== npm install pidfd on linux-x64-musl, musl Node $MUSL_NODE_VERSION"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private sh -euc '
  mount -t overlay overlay -o "lowerdir=$1/usr/lib:/usr/lib" /usr/lib
  mount --bind "$4" /usr/bin/ldd
  "$2/node" --import tsx scripts/release/install-check.ts --registry "$3" --platform linux-x64-musl' \
  sh "$lower" "$bin" "$registry" "$work/ldd" || failed=1
exit $failed

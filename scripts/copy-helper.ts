// Puts the spawn helper that build.rs compiled beside the .node that `napi build` wrote, so the
// package can run it from there where memfd exec is refused. `--target <triple>` for cross builds.
//   node --import tsx scripts/copy-helper.ts [--target x86_64-unknown-linux-musl]

import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { target: { type: 'string' }, profile: { type: 'string', default: 'release' } } })
const root = join(import.meta.dirname, '..')
// napi build puts its output under target/<triple>/ even for the host; plain cargo under target/.
const targetDir = join(root, 'target')
const triples = values.target ? [values.target] : existsSync(targetDir) ? ['', ...readdirSync(targetDir)] : []
const candidates = triples.flatMap((triple) => {
  const build = join(targetDir, triple, values.profile!, 'build')
  if (!existsSync(build)) return []
  return readdirSync(build)
    .filter((d) => d.startsWith('pidfd-'))
    .map((d) => join(build, d, 'out', 'pidfd-helper'))
    .filter((f) => existsSync(f))
})
if (candidates.length === 0) throw new Error(`no pidfd-helper under ${targetDir}: build the native module first`)
const newest = candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!
copyFileSync(newest, join(root, 'pidfd-helper'))
console.log(`pidfd-helper <- ${newest}`)

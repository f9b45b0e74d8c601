// Completes package-lock.json for registries that serve only some platforms' builds.
//
// npm records a package's platform-specific optional dependencies only when it can fetch their
// metadata. Behind a registry that holds just this machine's builds (as here), the lock misses
// the others and `npm ci` refuses it as out of sync. This adds each missing entry with the
// os/cpu/libc its napi-rs-style name states, so `npm ci` skips it on this platform without
// fetching anything. Run it after `npm install` changes the lock: `npx tsx scripts/complete-lock.ts`.

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

interface LockEntry {
  version?: string
  optional?: boolean
  os?: string[]
  cpu?: string[]
  libc?: string[]
  optionalDependencies?: Record<string, string>
}

const CPUS: Record<string, string> = { x64: 'x64', ia32: 'ia32', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x', wasm32: 'wasm32', loong64: 'loong64' }

/** `…-linux-arm64-musl` → { os: linux, cpu: arm64, libc: musl }; null if the name says nothing. */
function platformOf(name: string): Pick<LockEntry, 'os' | 'cpu' | 'libc'> | null {
  const m = /-(android|darwin|freebsd|linux|win32|wasm32|openharmony|netbsd|openbsd|sunos|aix)-([a-z0-9]+)(?:-([a-z]+))?$/.exec(name)
  if (!m) return null
  const [, os, rest, abi] = m as unknown as [string, string, string, string | undefined]
  if (os === 'wasm32') return { cpu: ['wasm32'] }
  const cpu = CPUS[rest]
  if (!cpu) return null
  const entry: Pick<LockEntry, 'os' | 'cpu' | 'libc'> = { os: [os], cpu: [cpu] }
  if (os === 'linux' && abi) entry.libc = [abi === 'musl' ? 'musl' : 'glibc']
  return entry
}

const path = join(import.meta.dirname ?? '.', '..', 'package-lock.json')
const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, LockEntry> }
let added = 0
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `node_modules/${dep}`
    const nested = `${key}/node_modules/${dep}`
    if (lock.packages[where] || lock.packages[nested]) continue
    const platform = platformOf(dep)
    if (!platform || !/^\d+\.\d+\.\d+$/.test(version)) {
      console.warn(`left out ${dep}@${version}: cannot tell its platform`)
      continue
    }
    lock.packages[where] = { version, ...platform, optional: true }
    added++
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)))
writeFileSync(path, JSON.stringify({ ...lock, packages: sorted }, null, 2) + '\n')
console.log(`added ${added} platform entries to package-lock.json`)

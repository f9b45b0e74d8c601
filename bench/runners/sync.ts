// The synchronous calls of the benchmark: one system per invocation, with the protocol of the
// other runners.
//   node --import tsx bench/runners/sync.ts <system> cycles N CHILD | maxrss
// systems: pidfd-spawnsync, cp-spawnsync (spawnSync with stdio ignored), pidfd-execfilesync,
// cp-execfilesync (execFileSync, its stdout piped and returned). A cycle is the whole call; its
// latency runs from the child's stamp (on fd 3, a FIFO read after the call) to the call's return.
// Prints one JSON object on stdout.

import * as cp from 'node:child_process'
import { constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { cycles, report } from './protocol.js'

// The package as built (index.js), as users run it.
const packageRoot = join(import.meta.dirname, '..', '..')
const pidfd = createRequire(join(packageRoot, 'package.json'))('./index.js') as typeof import('../../index.js')

const now = () => process.hrtime.bigint()

type Call = (file: string, fd3: number | 'ignore') => void
const systems: Record<string, { call: Call; usage: ((file: string) => number | null) | null }> = {
  'pidfd-spawnsync': {
    call: (file, fd3) => void pidfd.spawnSync(file, [], { stdio: ['ignore', 'ignore', 'ignore', fd3] }),
    usage: (file) => pidfd.spawnSync(file, [], { stdio: 'ignore' }).resourceUsage?.maxRSS ?? null,
  },
  'cp-spawnsync': {
    call: (file, fd3) => void cp.spawnSync(file, [], { stdio: ['ignore', 'ignore', 'ignore', fd3] }),
    usage: null, // child_process reports no resource usage
  },
  'pidfd-execfilesync': {
    call: (file, fd3) => void pidfd.execFileSync(file, [], { stdio: ['ignore', 'pipe', 'pipe', fd3] }),
    usage: (file) => pidfd.execFileSync.withUsage(file, []).resourceUsage!.maxRSS,
  },
  'cp-execfilesync': {
    call: (file, fd3) => void cp.execFileSync(file, [], { stdio: ['ignore', 'pipe', 'pipe', fd3] }),
    usage: null,
  },
}

/** The FIFO the children stamp into, as bench/runners/node.ts makes it. */
function stampPipe(): { read: number; write: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'pidfd-bench-')), 'stamp')
  cp.execFileSync('mkfifo', [path])
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const write = openSync(path, constants.O_WRONLY)
  rmSync(dirname(path), { recursive: true })
  return { read, write }
}

async function main(): Promise<unknown> {
  const [name, mode, ...rest] = process.argv.slice(2) as [string, string, ...string[]]
  const system = systems[name]
  if (!system) throw new Error(`unknown system ${name}`)
  if (mode === 'cycles') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    const pipe = stampPipe()
    const stamp = Buffer.alloc(8)
    return cycles(n, async () => {
      const t0 = now()
      system.call(child, pipe.write)
      const t1 = now()
      const got = readSync(pipe.read, stamp, 0, 8, null) === 8 ? stamp.readBigUInt64LE(0) : t1
      return { cycle: Number(t1 - t0), latency: Number(t1 - got) }
    })
  }
  if (mode === 'maxrss') {
    const hold = Buffer.alloc(500 * 1024 * 1024, 1)
    return { maxRSSKiB: system.usage ? system.usage('/bin/true') : null, held: hold[7] }
  }
  throw new Error(`unknown mode ${mode}`)
}

report(main)

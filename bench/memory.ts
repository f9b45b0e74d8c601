// This package's own memory per live child, without the benchmark harness's per-child promises
// and closures: K children started with spawn(..., { stdio: 'ignore' }) and kept, then the same
// with the bare native handle (what the Rust side holds per process). Heap and RSS are read
// after a forced GC; RSS also carries V8's own sizing (its young generation grows under the
// allocation of K live objects), so the run is repeated with a fixed 1 MiB semi-space. The C
// library's heap (the `[heap]` mapping, where the main thread's small allocations go: the native
// side of each child) is read apart.
//   node --import tsx bench/memory.ts [K]     (default 10000)

import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

// The package as built (index.js, lib/*.js: what users run), not its TypeScript sources, which
// tsx would load in their place for an import of '../index.js' from this file.
const root = join(import.meta.dirname, '..')
const load = createRequire(join(root, 'package.json'))
const { spawn } = load('./index.js') as typeof import('../index.js')
const { binding } = load('./lib/native.js') as typeof import('../lib/native.js')
const child = join(root, 'bench', 'out', 'child')

function rssKiB(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1])
}

/** The resident size of the C library's main heap (brk), KiB: 0 where there is none. */
function mallocKiB(): number {
  const smaps = readFileSync('/proc/self/smaps', 'utf8')
  const at = smaps.indexOf('[heap]')
  return at < 0 ? 0 : Number(/Rss:\s+(\d+)/.exec(smaps.slice(at))![1])
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150))
    gc()
  }
}

/** One measurement, in a process of its own: prints { rssKiB, heapKiB } per child. */
async function measure(mode: string, k: number): Promise<void> {
  for (let i = 0; i < 50; i++) await spawn(child, [], { stdio: 'ignore' }).exited
  await settle()
  const rss0 = rssKiB()
  const malloc0 = mallocKiB()
  const heap0 = process.memoryUsage().heapUsed
  const kept: Array<{ kill(signal: number | 'SIGKILL'): unknown }> = []
  // Whatever ends this process (an EMFILE past the descriptor limit, say), the paused children go
  // with it: they would otherwise sleep on, orphaned, and skew every later measurement.
  process.once('exit', () => {
    for (const c of kept) {
      try {
        c.kill(mode === 'spawn' ? 'SIGKILL' : 9)
      } catch {
        // gone already
      }
    }
  })
  for (let i = 0; i < k; i++) {
    if (mode === 'spawn') kept.push(spawn(child, ['--pause'], { stdio: 'ignore' }))
    else kept.push(binding.spawn({ file: child, argv: [child, '--pause'], stdio: [-3, -3, -3], detached: false }))
  }
  await settle()
  const rss = (rssKiB() - rss0) / k
  const heap = (process.memoryUsage().heapUsed - heap0) / 1024 / k
  const malloc = (mallocKiB() - malloc0) / k
  for (const c of kept) c.kill(mode === 'spawn' ? 'SIGKILL' : 9)
  process.stdout.write(JSON.stringify({ rssKiB: rss, heapKiB: heap, mallocKiB: malloc }) + '\n')
}

if (process.argv[2] === '--one') {
  await measure(process.argv[3]!, Number(process.argv[4]))
  process.exit(0)
}

mkdirSync(dirname(child), { recursive: true })
execFileSync('gcc', ['-static', '-O2', '-o', child, join(root, 'bench', 'child.c')])
const k = Number(process.argv[2] ?? 10000)
const self = import.meta.filename
console.log(`memory per live child, K = ${k} (KiB, after a forced GC)`)
for (const semi of [[], ['--max-semi-space-size=1']]) {
  for (const [mode, name] of [
    ['spawn', 'spawn() Subprocess'],
    ['native', 'native handle alone'],
  ] as const) {
    const r = spawnSync(process.execPath, ['--expose-gc', ...semi, '--import', 'tsx', self, '--one', mode, String(k)], {
      cwd: root,
      encoding: 'utf8',
    })
    if (r.status !== 0) throw new Error(r.stderr)
    const { rssKiB, heapKiB, mallocKiB } = JSON.parse(r.stdout) as { rssKiB: number; heapKiB: number; mallocKiB: number }
    console.log(
      `${name.padEnd(22)} ${(semi[0] ?? 'V8 defaults').padEnd(26)} RSS ${rssKiB.toFixed(2)}  JS heap ${heapKiB.toFixed(2)}  C heap ${mallocKiB.toFixed(2)}`,
    )
  }
}

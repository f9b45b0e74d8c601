// IPC throughput: one big message over fork()'s channel, node:child_process's fork against this
// package's, in the same run, alternating. The child is the same Node script for both
// (bench/runners/ipc-child.js: Node's own end of the channel), so only the parent's end differs:
// its decoding (child → parent), its encoding and writes (parent → child), or both (round trip).
//   npm run bench:ipc
//   node --import tsx bench/ipc.ts [--sizes 1,8,32,128] [--modes json,advanced] [--reps 5] [--quick] [--out FILE]
// The payload is an ASCII string of the size (MiB); json and advanced serialization. Times are
// from the parent's send of 'go' (child → parent) or of the payload to the parent's 'message'
// with the payload (or, parent → child, the child's reply: the length it received). Each figure
// is the median of the repetitions; the ratio is pidfd's median over node's. Writes
// docs/ipc-bench.json and prints the table for docs/benchmarks.md.

import * as cp from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, release } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    modes: { type: 'string' },
    reps: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})

// The timed runs collect garbage between them (gc()) and hold a few copies of a 128 MiB payload:
// the bench runs itself again with the flags it needs when started without them.
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  const r = cp.spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', ...process.execArgv, import.meta.filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  process.exit(r.status ?? 1)
}
const gc = (globalThis as unknown as { gc: () => void }).gc

// The package as built (index.js, lib/*.js: what users run), not its TypeScript sources.
const root = join(import.meta.dirname, '..')
const load = createRequire(join(root, 'package.json'))
const pidfd = load('./index.js') as typeof import('../index.js')
const childScript = join(root, 'bench', 'runners', 'ipc-child.js')

const MiB = 1 << 20
const sizes = (values.sizes ?? (values.quick ? '1,8,32' : '1,8,32,128')).split(',').map(Number)
/**
 * Repetitions per cell: many for the small sizes, whose transfers take milliseconds and come in
 * two bands on a loaded machine (a 1 MiB transfer in 1.1 ms or in 2.4, as the scheduler places
 * the two processes), so that the median is steady; fewer as a single run grows to seconds.
 */
const repsFor = (mib: number): number => (values.reps ? Number(values.reps) : Math.ceil((values.quick ? 0.34 : 1) * (mib <= 1 ? 61 : mib <= 8 ? 31 : mib <= 32 ? 11 : 5)))
const allModes = ['json', 'advanced'] as const
type Mode = (typeof allModes)[number]
const modes = allModes.filter((m) => !values.modes || values.modes.split(',').includes(m))
const directions = ['child → parent', 'parent → child', 'round trip'] as const
type Direction = (typeof directions)[number]
type Fork = typeof cp.fork
const systems: Array<[string, Fork]> = [
  ['node', cp.fork],
  ['pidfd', pidfd.fork as unknown as Fork],
]

/** The next message the child sends. */
function next(child: cp.ChildProcess): Promise<unknown> {
  return new Promise((resolve) => child.once('message', resolve))
}

/** Sends a control message and waits for the child's answer to it. */
async function ask(child: cp.ChildProcess, message: object): Promise<unknown> {
  const answer = next(child)
  child.send(message)
  return answer
}

/** A flat ASCII string of `bytes` (repeat() gives a rope; a regexp flattens it, untimed). */
function payloadOf(bytes: number): string {
  const s = 'x'.repeat(bytes)
  ;/y/.test(s)
  return s
}

/** A timed transfer: its time, and the CPU time the parent spent in it (user + system). */
interface Sample {
  ms: number
  cpuMs: number
}

/** One timed transfer of `bytes`. */
async function once(child: cp.ChildProcess, direction: Direction, bytes: number, payload: string): Promise<Sample> {
  const c2p = direction === 'child → parent'
  await ask(child, c2p ? { make: bytes } : { reply: direction === 'round trip' ? 'echo' : 'length' })
  gc()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const got = await ask(child, c2p ? { go: true } : (payload as unknown as object))
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  const right = direction === 'parent → child' ? got === bytes : typeof got === 'string' && got.length === bytes
  if (!right) throw new Error(`${direction}: the child's answer is wrong`)
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

interface Cell {
  mib: number
  mode: Mode
  direction: Direction
  nodeMs: number
  pidfdMs: number
  ratio: number
  /** The parent's CPU time in a transfer, median ms. */
  nodeCpuMs: number
  pidfdCpuMs: number
  nodeSamplesMs: number[]
  pidfdSamplesMs: number[]
}
const cells: Cell[] = []
const began = Date.now()

/** Repetitions a pair of children serves before the next pair takes over. */
const PAIR_REPS = 5

/**
 * A child of each system, started and warmed up, untimed: messages of 64 KiB and then of the
 * size measured (up to 8 MiB) each way, so that the child's code is compiled and its heap grown.
 */
async function pair(mode: Mode, bytes: number): Promise<cp.ChildProcess[]> {
  const children = systems.map(([, fork]) => fork(childScript, [], { serialization: mode, execArgv: ['--expose-gc', '--max-old-space-size=4096'] }))
  for (const size of [64 * 1024, Math.min(bytes, 8 * MiB)]) {
    const warm = payloadOf(size)
    for (const child of children) for (const d of directions) await once(child, d, size, warm)
  }
  return children
}

/** Gone, before the next pair starts ('exit': child_process's fork gives no 'close' after the parent's own disconnect()). */
function leave(children: cp.ChildProcess[]): Promise<unknown> {
  return Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve).disconnect())))
}

for (const mode of modes) {
  for (const mib of sizes) {
    const bytes = mib * MiB
    const payload = payloadOf(bytes)
    const samples = directions.map(() => systems.map((): Sample[] => []))
    let children: cp.ChildProcess[] = []
    for (let r = 0; r < repsFor(mib); r++) {
      // A new pair of children every few repetitions. One pair kept for a whole cell settled
      // into how the scheduler placed its processes and stayed there: on this loaded 2-core
      // machine the package's 1 MiB sends took 1.7 to 2.1 ms in all 41 repetitions of a run while
      // Node's took 0.9 to 1.2; in the next run both spread over the two bands alike.
      if (r % PAIR_REPS === 0) {
        await leave(children)
        children = await pair(mode, bytes)
      }
      for (const [d, direction] of directions.entries()) {
        // Alternating which goes first: neither always runs on the other's garbage.
        const order = (r + d) % 2 === 0 ? [0, 1] : [1, 0]
        for (const i of order) samples[d]![i]!.push(await once(children[i]!, direction, bytes, payload))
      }
    }
    await leave(children)
    for (const [d, direction] of directions.entries()) {
      const [node, ours] = samples[d]! as [Sample[], Sample[]]
      const [nodeMs, pidfdMs] = [node, ours].map((v) => median(v.map((x) => x.ms))) as [number, number]
      const cell: Cell = {
        mib,
        mode,
        direction,
        nodeMs,
        pidfdMs,
        ratio: pidfdMs / nodeMs,
        nodeCpuMs: median(node.map((x) => x.cpuMs)),
        pidfdCpuMs: median(ours.map((x) => x.cpuMs)),
        nodeSamplesMs: node.map((x) => x.ms),
        pidfdSamplesMs: ours.map((x) => x.ms),
      }
      cells.push(cell)
      console.error(`${mib} MiB ${mode} ${direction}: node ${nodeMs.toFixed(1)} ms, pidfd ${pidfdMs.toFixed(1)} ms, × ${cell.ratio.toFixed(2)}; parent CPU ${cell.nodeCpuMs.toFixed(1)} / ${cell.pidfdCpuMs.toFixed(1)} ms`)
    }
  }
}

const round = (n: number) => Math.round(n * 10) / 10
const results = {
  date: new Date().toISOString(),
  node: process.version,
  kernel: release(),
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  seconds: Math.round((Date.now() - began) / 1000),
  cells: cells.map((c) => ({
    ...c,
    nodeMs: round(c.nodeMs),
    pidfdMs: round(c.pidfdMs),
    nodeCpuMs: round(c.nodeCpuMs),
    pidfdCpuMs: round(c.pidfdCpuMs),
    ratio: Math.round(c.ratio * 100) / 100,
    nodeSamplesMs: c.nodeSamplesMs.map(round),
    pidfdSamplesMs: c.pidfdSamplesMs.map(round),
  })),
}
const out = values.out ?? join(root, 'docs', 'ipc-bench.json')
writeFileSync(out, JSON.stringify(results, null, 2) + '\n')

const worst = Math.max(...cells.map((c) => c.ratio))
console.log(
  [
    `${results.node}, Linux ${results.kernel}, ${results.cpus}; median ms of ${sizes.map(repsFor).join('/')} runs; ${results.seconds} s in all`,
    '',
    '| MiB | serialization | direction | node ms | pidfd ms | pidfd / node | parent CPU ms, node / pidfd |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: |',
    ...cells.map((c) => {
      const digits = c.nodeMs < 10 ? 1 : 0
      return `| ${c.mib} | ${c.mode} | ${c.direction} | ${c.nodeMs.toFixed(digits)} | ${c.pidfdMs.toFixed(digits)} | ${c.ratio.toFixed(2)} | ${c.nodeCpuMs.toFixed(digits)} / ${c.pidfdCpuMs.toFixed(digits)} |`
    }),
    '',
    `${worst <= 1.2 ? 'met' : 'NOT met'}: every ratio ≤ 1.2 (worst ${worst.toFixed(2)})`,
  ].join('\n'),
)

// The Bun system of the benchmark, with the protocol of bench/floor.c:
//   bench/node_modules/.bin/bun bench/runners/bun.ts cycles N CHILD [stdout] | batch N CHILD
//                           | longlived K CHILD [stdout] | maxrss | sync-cycles N CHILD | sync-maxrss
// With `stdout`, the timed child writes its stamp to a stdout pipe that the parent reads while it
// waits (the common case) instead of a pipe on its fd 3.
// Bun.spawn, then `await proc.exited`. Every time is CLOCK_MONOTONIC read through bun:ffi
// (clock_gettime from libc), the clock of the child's stamp; the stamp pipe is libc's pipe2.
// Prints one JSON object on stdout; diagnostics go to stderr.
//
// The repository's tsc (types: node) checks this file too, without Bun's types: the little of
// Bun used here is declared below, and bun:ffi is imported by a name tsc does not resolve.

import { closeSync, readdirSync, readSync } from 'node:fs'

import { cycles, report, status } from './protocol.js'

interface ResourceUsage {
  /** Bytes: Bun documents it so, and 1.4.5 reports ru_maxrss (KiB on Linux) × 1024. */
  maxRSS: number
}
interface Subprocess {
  readonly exited: Promise<number>
  readonly stdout: ReadableStream<Uint8Array>
  kill(signal?: number | string): void
  resourceUsage(): ResourceUsage | undefined
}
type Stdio = 'ignore' | 'pipe' | number
interface SyncSubprocess {
  exitCode: number | null
  /** A property in Bun 1.x's SyncSubprocess (a method on Subprocess). */
  resourceUsage?: ResourceUsage | (() => ResourceUsage | undefined)
}
declare const Bun: {
  spawn(cmd: string[], options: { stdio: Stdio[] }): Subprocess
  spawnSync(cmd: string[], options: { stdio: Stdio[] }): SyncSubprocess
}

interface Libc {
  symbols: {
    clock_gettime(clock: number, ts: BigInt64Array): number
    pipe2(fds: Int32Array, flags: number): number
  }
}
const ffiModule: string = 'bun:ffi'
const { dlopen } = (await import(ffiModule)) as { dlopen(path: string, symbols: object): Libc }
const libc = dlopen('libc.so.6', {
  clock_gettime: { args: ['i32', 'ptr'], returns: 'i32' },
  pipe2: { args: ['ptr', 'i32'], returns: 'i32' },
}).symbols

const CLOCK_MONOTONIC = 1
const O_CLOEXEC = 0o2000000
const ts = new BigInt64Array(2)
/** CLOCK_MONOTONIC in ns, as the child's stamp. */
function now(): bigint {
  libc.clock_gettime(CLOCK_MONOTONIC, ts)
  return ts[0]! * 1_000_000_000n + ts[1]!
}

/** A close-on-exec pipe, [read, write]; neither end is fd 3 (Bun dup2s the write end onto 3). */
function pipe(): [number, number] {
  const fds = new Int32Array(2)
  if (libc.pipe2(fds, O_CLOEXEC) !== 0) throw new Error('pipe2 failed')
  if (fds[0] === 3 || fds[1] === 3) {
    const again = pipe()
    closeSync(fds[0]!)
    closeSync(fds[1]!)
    return again
  }
  return [fds[0]!, fds[1]!]
}

const start = (file: string, args: string[] = [], fd3?: number): Subprocess =>
  Bun.spawn([file, ...args], { stdio: fd3 === undefined ? ['ignore', 'ignore', 'ignore'] : ['ignore', 'ignore', 'ignore', fd3] })

/** One spawn and exit notification: the cycle and the exit-to-notification latency, ns. */
async function one(child: string): Promise<{ cycle: number; latency: number }> {
  const [r, w] = pipe()
  const t0 = now()
  const proc = start(child, [], w)
  closeSync(w) // a raw fd passed in stdio stays the caller's
  await proc.exited
  const t1 = now()
  const buf = Buffer.alloc(8)
  const got = readSync(r, buf, 0, 8, null)
  closeSync(r)
  const stamp = got === 8 ? buf.readBigUInt64LE(0) : 0n
  return { cycle: Number(t1 - t0), latency: Number(t1 - stamp) }
}

/** As `one`, the stamp read from the child's stdout while the parent waits for the exit. */
async function oneStdout(child: string): Promise<{ cycle: number; latency: number }> {
  const t0 = now()
  const proc = Bun.spawn([child, '--stdout'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const output = new Response(proc.stdout).arrayBuffer()
  await proc.exited
  const t1 = now()
  const buf = Buffer.from(await output)
  const stamp = buf.length >= 8 ? buf.readBigUInt64LE(0) : 0n
  return { cycle: Number(t1 - t0), latency: Number(t1 - stamp) }
}

async function main(): Promise<unknown> {
  const [mode, ...rest] = process.argv.slice(2) as [string, ...string[]]
  const timed = rest[2] === 'stdout' ? oneStdout : one
  if (mode === 'cycles') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    return cycles(n, () => timed(child))
  }
  if (mode === 'batch') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    const t0 = now()
    const all = Array.from({ length: n }, () => start(child))
    await Promise.all(all.map((p) => p.exited))
    return { totalNs: Number(now() - t0) }
  }
  if (mode === 'longlived') {
    const [k, child] = [Number(rest[0]), rest[1]!]
    const rssBeforeKiB = status('VmRSS:')
    const live = Array.from({ length: k }, () => start(child, ['--pause']))
    await new Promise((resolve) => setTimeout(resolve, 200)) // as the floor: let them reach pause()
    const latencyNs: number[] = []
    for (let i = 0; i < 50; i++) latencyNs.push((await timed(child)).latency)
    const rssKiB = status('VmRSS:')
    const threads = status('Threads:')
    const fds = readdirSync('/proc/self/fd').length - 1 // less the listing's own descriptor
    const t0 = now()
    for (const p of live) p.kill('SIGKILL')
    await Promise.all(live.map((p) => p.exited))
    return { latencyNs, rssBeforeKiB, rssKiB, threads, fds, killAllNs: Number(now() - t0) }
  }
  if (mode === 'sync-cycles') {
    // Bun.spawnSync, as the Node runner's spawnSync systems: the whole call, and the child's
    // stamp to the call's return.
    const [n, child] = [Number(rest[0]), rest[1]!]
    return cycles(n, async () => {
      const [r, w] = pipe()
      const t0 = now()
      Bun.spawnSync([child], { stdio: ['ignore', 'ignore', 'ignore', w] })
      const t1 = now()
      closeSync(w)
      const buf = Buffer.alloc(8)
      const got = readSync(r, buf, 0, 8, null)
      closeSync(r)
      return { cycle: Number(t1 - t0), latency: Number(t1 - (got === 8 ? buf.readBigUInt64LE(0) : t1)) }
    })
  }
  if (mode === 'sync-maxrss') {
    const hold = Buffer.alloc(500 * 1024 * 1024, 1)
    const r = Bun.spawnSync(['/bin/true'], { stdio: ['ignore', 'ignore', 'ignore'] })
    const usage = typeof r.resourceUsage === 'function' ? r.resourceUsage() : r.resourceUsage
    if (hold[hold.length - 1] !== 1) throw new Error('unreachable')
    return { maxRSSKiB: usage ? usage.maxRSS / 1024 : null }
  }
  if (mode === 'maxrss') {
    const hold = Buffer.alloc(500 * 1024 * 1024, 1) // filled: every page touched
    const proc = start('/bin/true')
    await proc.exited
    const usage = proc.resourceUsage()
    if (hold[hold.length - 1] !== 1) throw new Error('unreachable')
    // Bun reports maxRSS in bytes (checked with Bun 1.4.5: /bin/true from a small Bun parent gives
    // 23,724,032 = 23,168 KiB × 1024, from this one about 548,000,000): KiB is bytes / 1024.
    return { maxRSSKiB: usage ? usage.maxRSS / 1024 : null }
  }
  throw new Error(`unknown mode ${mode}`)
}

report(main)

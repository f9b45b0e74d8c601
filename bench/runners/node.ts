// The Node systems of the benchmark, one per invocation, with the protocol of bench/floor.c:
//   node --expose-gc --import tsx bench/runners/node.ts <system> <mode> <args...> [stdout]
// systems: node-floor (bench/nodefloor.c: the event loop's own poll on a pidfd and a direct call
// into JavaScript, no object around the child), pidfd-spawn (spawn().exited), pidfd-fromchild
// (child_process child + AsyncPidFd.fromChild().wait()), pidfd-sync (child_process child +
// blocking PidFd.wait()), child_process (child_process.spawn + 'exit'). With `stdout` last, the
// timed child writes its stamp to a stdout pipe that the parent reads while it waits (the common
// case) instead of the FIFO. Prints one JSON object on stdout.

import { execFileSync, spawn as cpSpawn, type ChildProcess } from 'node:child_process'
import { constants, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { Socket } from 'node:net'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'

import { cycles, report, status } from './protocol.js'

// The package as built (index.js, lib/*.js: what users run), not its TypeScript sources, which
// tsx would load in their place for an import of '../../index.js' from this file.
// PIDFD_BENCH_PACKAGE names another built copy (an earlier commit's) to set beside this one.
const packageRoot = process.env.PIDFD_BENCH_PACKAGE ?? join(import.meta.dirname, '..', '..')
const { AsyncPidFd, PidFd, spawn } = createRequire(join(packageRoot, 'package.json'))(
  './index.js',
) as typeof import('../../index.js')
type Subprocess = import('../../index.js').Subprocess

const now = () => process.hrtime.bigint() // CLOCK_MONOTONIC on Linux, as the child's stamp

/**
 * One system: `start` gives what `exited` and `kill` take, so a live child costs the harness
 * nothing beyond its slot in an array (the parent-memory figure is the system's own).
 */
interface System<T> {
  /** With `out`, the child's stdout is a pipe, read through `stdout`. */
  start(file: string, args: string[], fd3: number | null, out?: boolean): T
  stdout(started: T): Readable
  /** Resolves at the exit notification, with its time. */
  exited(started: T): Promise<bigint>
  kill(started: T): void
  /** Resolves once the system has finished with the exit (default: at once). */
  settled?(started: T): Promise<unknown>
}

/** A child_process child's 'exit' (libuv has reaped it), whenever asked. */
const reaped = (child: ChildProcess): Promise<unknown> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r))

const stdio = (fd3: number | null, out = false): Array<'ignore' | 'pipe' | number> => {
  const base: Array<'ignore' | 'pipe' | number> = ['ignore', out ? 'pipe' : 'ignore', 'ignore']
  return fd3 === null ? base : [...base, fd3]
}

// The Node floor: bench/nodefloor.c, compiled by bench/run.ts into bench/out.
interface FloorChild {
  pid: number
  exit: Promise<void>
  stdout: Socket | null
}
type FloorAddon = {
  spawn(
    file: string,
    arg: string | null,
    fd3: number,
    out: boolean,
    callback: (code: number, maxRSSKiB: number) => void,
    viaSet?: boolean,
  ): [number, number]
}
let floorAddon: FloorAddon | undefined
/** The Node floor; `viaSet`: its pidfds watched through one epoll set, as this package's are. */
const floorOf = (viaSet: boolean): System<FloorChild> => ({
  start: (file, args, fd3, out = false) => {
    floorAddon ??= createRequire(import.meta.url)(join(import.meta.dirname, '..', 'out', 'nodefloor.node')) as FloorAddon
    let settle!: () => void
    const exit = new Promise<void>((resolve) => (settle = resolve))
    const [pid, fd] = floorAddon.spawn(file, args[0] ?? null, fd3 ?? -1, out, () => settle(), viaSet)
    return { pid, exit, stdout: fd >= 0 ? new Socket({ fd, readable: true, writable: false }) : null }
  },
  stdout: (c) => c.stdout!,
  exited: (c) => c.exit.then(now),
  kill: (c) => process.kill(c.pid, 'SIGKILL'),
})
const nodeFloor = floorOf(false)

const pidfdSpawn: System<Subprocess> = {
  start: (file, args, fd3, out) => spawn(file, args, { stdio: stdio(fd3, out) }),
  stdout: (sub) => sub.stdout!,
  exited: (sub) => sub.exited.then(now),
  kill: (sub) => sub.kill('SIGKILL'),
}

/** A child_process child and what its watcher resolves at the exit. */
interface Watched<T> {
  child: ChildProcess
  exit: Promise<T>
}

// A child_process child with fromChild's wait started at once, as its users do (the wait must
// be pending when the child ends for the rusage to be caught).
const fromChild: System<Watched<unknown>> = {
  start: (file, args, fd3, out) => {
    const child = cpSpawn(file, args, { stdio: stdio(fd3, out) })
    const fd = AsyncPidFd.fromChild(child)
    return { child, exit: fd.wait().finally(() => fd.close()) }
  },
  stdout: (w) => w.child.stdout!,
  exited: (w) => w.exit.then(now),
  kill: (w) => w.child.kill('SIGKILL'),
  settled: (w) => reaped(w.child),
}

// A child_process child and the blocking wait, run when the notification is asked for (a
// spawn()ed child may already be reaped by the package's own watcher when a second handle looks).
const pidfdSync: System<ChildProcess> = {
  start: (file, args, fd3, out) => cpSpawn(file, args, { stdio: stdio(fd3, out) }),
  stdout: (child) => child.stdout!,
  exited: (child) => {
    const fd = PidFd.fromChild(child)
    fd.wait()
    const t = now()
    fd.close()
    return Promise.resolve(t)
  },
  kill: (child) => child.kill('SIGKILL'),
  settled: reaped,
}

/** A child with its 'exit' listener attached at once, as its users do, and timed there. */
type Start = (file: string, args: string[], options: { stdio: ReturnType<typeof stdio> }) => ChildProcess
const timedAtExit = (start: Start): System<Watched<bigint>> => ({
  start: (file, args, fd3, out) => {
    const child = start(file, args, { stdio: stdio(fd3, out) })
    return { child, exit: new Promise<bigint>((resolve) => child.once('exit', () => resolve(now()))) }
  },
  stdout: (l) => l.child.stdout!,
  exited: (l) => l.exit,
  kill: (l) => l.child.kill('SIGKILL'),
})

// child_process, and spawn() as a drop-in for it: both timed at their 'exit' event.
const childProcess = timedAtExit(cpSpawn)
const pidfdSpawnExit = timedAtExit(spawn)

const systems: Record<string, System<never>> = {
  'node-floor': nodeFloor as System<never>,
  'node-floor-set': floorOf(true) as System<never>,
  'pidfd-spawn-exit': pidfdSpawnExit as System<never>,
  'pidfd-spawn': pidfdSpawn as System<never>,
  'pidfd-fromchild': fromChild as System<never>,
  'pidfd-sync': pidfdSync as System<never>,
  child_process: childProcess as System<never>,
}

/**
 * Where children stamp the time: the write end is passed as their fd 3 and the 8 bytes are read
 * after the exit notification, as the other runners do with a pipe, so no stream of Node's is
 * in the event loop at the moment measured. A FIFO (Node has no pipe2), unlinked once open.
 */
function stampPipe(): { read: number; write: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'pidfd-bench-')), 'stamp')
  execFileSync('mkfifo', [path])
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const write = openSync(path, constants.O_WRONLY)
  rmSync(dirname(path), { recursive: true })
  return { read, write }
}
const stampBuf = Buffer.alloc(8)

/** The child's stamp from its stdout, read as it comes (0 if it wrote none). */
function readStamp(stream: Readable): Promise<bigint> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('close', () => {
      const all = Buffer.concat(chunks)
      resolve(all.length >= 8 ? all.readBigUInt64LE(0) : 0n)
    })
  })
}

async function one(system: System<unknown>, pipe: { read: number; write: number }, child: string, out = false) {
  const t0 = now()
  const started = out ? system.start(child, ['--stdout'], null, true) : system.start(child, [], pipe.write)
  const fromStdout = out ? readStamp(system.stdout(started)) : null
  const t1 = await system.exited(started)
  let stamp = 0n
  if (fromStdout) stamp = await fromStdout
  else {
    try {
      if (readSync(pipe.read, stampBuf, 0, 8, null) === 8) stamp = stampBuf.readBigUInt64LE(0)
    } catch {
      // EAGAIN: the child wrote nothing
    }
  }
  // What the exit leaves to do is done before the next is timed: for a child_process child,
  // libuv's reap and 'exit' (its SIGCHLD handling walks every child_process child: O(K)).
  await system.settled?.(started)
  return { cycle: Number(t1 - t0), latency: Number(t1 - stamp) }
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

async function main(): Promise<unknown> {
  const [system, mode, ...rest] = process.argv.slice(2) as [string, string, ...string[]]
  const sys = systems[system] as System<unknown> | undefined
  if (!sys) throw new Error(`unknown system ${system}`)
  const pipe = stampPipe()
  const out = rest[2] === 'stdout'
  if (mode === 'cycles') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    return cycles(n, () => one(sys, pipe, child, out))
  }
  if (mode === 'batch') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    const t0 = now()
    const all = Array.from({ length: n }, () => sys.start(child, [], null))
    await Promise.all(all.map((s) => sys.exited(s)))
    return { totalNs: Number(now() - t0) }
  }
  if (mode === 'longlived') {
    const [k, child] = [Number(rest[0]), rest[1]!]
    gc()
    const rssBeforeKiB = status('VmRSS:')
    const heapBefore = process.memoryUsage().heapUsed
    const live = Array.from({ length: k }, () => sys.start(child, ['--pause'], null))
    await new Promise((r) => setTimeout(r, 200))
    const latencyNs: number[] = []
    for (let i = 0; i < 50; i++) latencyNs.push((await one(sys, pipe, child, out)).latency)
    gc()
    const rssKiB = status('VmRSS:')
    const heapKiB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024)
    const threads = status('Threads:')
    const fds = readdirSync('/proc/self/fd').length - 1
    const t0 = now()
    for (const s of live) sys.kill(s)
    for (const s of live) await sys.exited(s)
    return { latencyNs, rssBeforeKiB, rssKiB, heapKiB, threads, fds, killAllNs: Number(now() - t0) }
  }
  if (mode === 'maxrss') {
    const hold = Buffer.alloc(500 * 1024 * 1024, 1)
    let maxRSSKiB: number | null = null
    if (system === 'child_process') {
      // child_process reports no resource usage for a child.
      await sys.exited(sys.start('/bin/true', [], null))
    } else if (system === 'node-floor') {
      const { exit } = nodeFloor.start('/bin/true', [], null)
      let kib = 0
      await new Promise<void>((resolve) => floorAddon!.spawn('/bin/true', null, -1, false, (_c, m) => ((kib = m), resolve())))
      await exit
      maxRSSKiB = kib
    } else if (system === 'pidfd-fromchild') {
      const child = cpSpawn('/bin/true', [], { stdio: 'ignore' })
      maxRSSKiB = (await AsyncPidFd.fromChild(child).wait()).rusage?.maxRSS ?? null
    } else {
      maxRSSKiB = (await spawn('/bin/true', [], { stdio: 'ignore' }).exited).rusage!.maxRSS
    }
    return { maxRSSKiB, held: hold[7] }
  }
  if (mode === 'capture') {
    // fromChild's rusage capture: one child at a time and 16 at once, optionally with both
    // cores busy.
    const [n, busy] = [Number(rest[0]), rest[1] === '1']
    const burners = busy ? [0, 1].map(() => cpSpawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' })) : []
    const round = async (batch: number) => {
      let captured = 0
      for (let i = 0; i < n / batch; i++) {
        await Promise.all(
          Array.from({ length: batch }, async () => {
            const child = cpSpawn('/bin/true', [], { stdio: 'ignore' })
            const fd = AsyncPidFd.fromChild(child)
            if ((await fd.wait()).rusage) captured++
            fd.close()
          }),
        )
      }
      return captured / n
    }
    const single = await round(1)
    const sixteen = await round(16)
    for (const b of burners) b.kill('SIGKILL')
    return { single, sixteen, busy }
  }
  throw new Error(`unknown mode ${mode}`)
}

report(main)

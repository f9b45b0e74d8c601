// The Node systems of the benchmark, one per invocation, with the protocol of bench/floor.c:
//   node --expose-gc --import tsx bench/runners/node.ts <system> <mode> <args...>
// systems: pidfd-spawn (spawn().exited), pidfd-fromchild (child_process child +
// AsyncPidFd.fromChild().wait()), pidfd-sync (child_process child + blocking PidFd.wait()),
// child_process (child_process.spawn + 'exit'). Prints one JSON object on stdout.

import { spawn as cpSpawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { Socket } from 'node:net'

import { AsyncPidFd, PidFd, spawn } from '../../index.js'

const now = () => process.hrtime.bigint() // CLOCK_MONOTONIC on Linux, as the child's stamp

type Stdio = ['ignore', 'ignore', 'ignore', 'pipe'] | 'ignore'
interface Started {
  /** Resolves at the exit notification, with its time. */
  exited: Promise<bigint>
  stamp: Socket | null
  kill(): void
}

const systems: Record<string, (file: string, args: string[], stdio: Stdio) => Started> = {
  'pidfd-spawn': (file, args, stdio) => {
    const sub = spawn(file, args, { stdio })
    return { exited: sub.exited.then(() => now()), stamp: sub.stdio[3] ?? null, kill: () => sub.kill('SIGKILL') }
  },
  'pidfd-fromchild': (file, args, stdio) => {
    const child = cpSpawn(file, args, { stdio })
    const fd = AsyncPidFd.fromChild(child)
    const exited = fd.wait().then(() => {
      const t = now()
      fd.close()
      return t
    })
    return { exited, stamp: (child.stdio[3] as Socket | undefined) ?? null, kill: () => child.kill('SIGKILL') }
  },
  'pidfd-sync': (file, args, stdio) => {
    // A child_process child and the blocking wait (a spawn()ed child may already be reaped by
    // the package's own watcher by the time a second handle would look).
    const child = cpSpawn(file, args, { stdio })
    const fd = PidFd.fromChild(child)
    let done: bigint | null = null
    return {
      // The blocking wait runs when the notification is asked for.
      get exited() {
        if (done === null) {
          fd.wait()
          done = now()
          fd.close()
        }
        return Promise.resolve(done)
      },
      stamp: (child.stdio[3] as Socket | undefined) ?? null,
      kill: () => child.kill('SIGKILL'),
    }
  },
  child_process: (file, args, stdio) => {
    const child: ChildProcess = cpSpawn(file, args, { stdio })
    const exited = new Promise<bigint>((resolve) => child.once('exit', () => resolve(now())))
    return { exited, stamp: (child.stdio[3] as Socket | undefined) ?? null, kill: () => child.kill('SIGKILL') }
  },
}

function readStamp(socket: Socket | null): Promise<bigint> {
  if (!socket) return Promise.resolve(0n)
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.once('close', () => {
      const all = Buffer.concat(chunks)
      resolve(all.length >= 8 ? all.readBigUInt64LE(0) : 0n)
    })
  })
}

async function one(system: string, child: string): Promise<{ cycle: number; latency: number }> {
  const t0 = now()
  const started = systems[system]!(child, [], ['ignore', 'ignore', 'ignore', 'pipe'])
  const stamp = readStamp(started.stamp)
  const t1 = await started.exited
  return { cycle: Number(t1 - t0), latency: Number(t1 - (await stamp)) }
}

function status(key: string): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(key))
  return Number(line?.slice(key.length).trim().split(/\s+/)[0] ?? -1)
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

async function main(): Promise<unknown> {
  const [system, mode, ...rest] = process.argv.slice(2) as [string, string, ...string[]]
  if (!systems[system]) throw new Error(`unknown system ${system}`)
  if (mode === 'cycles') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    for (let i = 0; i < 5; i++) await one(system, child)
    const cycleNs: number[] = []
    const latencyNs: number[] = []
    for (let i = 0; i < n; i++) {
      const r = await one(system, child)
      cycleNs.push(r.cycle)
      latencyNs.push(r.latency)
    }
    return { cycleNs, latencyNs }
  }
  if (mode === 'batch') {
    const [n, child] = [Number(rest[0]), rest[1]!]
    const t0 = now()
    const all = Array.from({ length: n }, () => systems[system]!(child, [], 'ignore'))
    await Promise.all(all.map((s) => s.exited))
    return { totalNs: Number(now() - t0) }
  }
  if (mode === 'longlived') {
    const [k, child] = [Number(rest[0]), rest[1]!]
    gc()
    const rssBeforeKiB = status('VmRSS:')
    const heapBefore = process.memoryUsage().heapUsed
    const live = Array.from({ length: k }, () => systems[system]!(child, ['--pause'], 'ignore'))
    await new Promise((r) => setTimeout(r, 200))
    const latencyNs: number[] = []
    for (let i = 0; i < 50; i++) latencyNs.push((await one(system, child)).latency)
    gc()
    const rssKiB = status('VmRSS:')
    const heapKiB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024)
    const threads = status('Threads:')
    const fds = readdirSync('/proc/self/fd').length - 1
    const t0 = now()
    for (const s of live) s.kill()
    for (const s of live) await s.exited
    return { latencyNs, rssBeforeKiB, rssKiB, heapKiB, threads, fds, killAllNs: Number(now() - t0) }
  }
  if (mode === 'maxrss') {
    const hold = Buffer.alloc(500 * 1024 * 1024, 1)
    let maxRSSKiB: number | null = null
    if (system === 'child_process') {
      // child_process reports no resource usage for a child.
      await systems[system]!('/bin/true', [], 'ignore').exited
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

main().then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n')
    process.exit(0)
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exit(1)
  },
)

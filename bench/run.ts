// The benchmark: this package against what users would otherwise pick, on this machine, in one
// run, systems interleaved, figures as ratios to a C program doing the same with raw syscalls.
//   npm run bench            (full: K up to 10,000 live children)
//   npm run bench -- --quick (fewer rounds, K up to 1,000)
//   npm run bench -- --only node-floor,pidfd-spawn,child_process --cycles-only --baseline DIR
//     (only those systems, only the spawn + exit cycles in both modes, printed; with another
//     built copy of the package in DIR, an earlier commit's, as one more system beside them;
//     node-floor-set, pidfd-spawn-exit and pidfd-spawn-inprocess, which explain gaps, run
//     only so)
//   npm run bench -- --cycles-only --rounds 8 --cycles 250
//     (the rounds, and the timed cycles of each system's process in a round: 10 and 50 by
//     default, 3 and 30 with --quick; more cycles a process is code the JIT has warmed)
// Writes bench/out/results.json and results.md, and docs/bench.svg through bench/chart.ts
// (bench/out/bench.svg with --only).

import { execFileSync, spawn as cpSpawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    baseline: { type: 'string' },
    'cycles-only': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    cycles: { type: 'string' },
  },
})
/** A count option: a positive integer, or the default. */
const count = (name: 'rounds' | 'cycles', fallback: number): number => {
  const given = values[name]
  if (given === undefined) return fallback
  const n = Number(given)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: a positive integer, not ${given}`)
  return n
}
const quick = values.quick
const root = join(import.meta.dirname, '..')
const bench = join(root, 'bench')
const out = join(bench, 'out')
mkdirSync(out, { recursive: true })

// The child and the floor, compiled here.
const child = join(out, 'child')
execFileSync('gcc', ['-static', '-O2', '-o', child, join(bench, 'child.c')])
execFileSync('gcc', ['-O2', '-o', join(out, 'floor'), join(bench, 'floor.c')])
// The Node floor, a Node-API addon built against the running Node's own headers.
const nodeHeaders = join(dirname(process.execPath), '..', 'include', 'node')
execFileSync('gcc', ['-O2', '-shared', '-fPIC', `-I${nodeHeaders}`, '-o', join(out, 'nodefloor.node'), join(bench, 'nodefloor.c')])

interface System {
  id: string
  name: string
  command: string[]
  /** The environment's additions (the baseline's package). */
  env?: Record<string, string>
  /** Also run with the stamp on a stdout pipe the parent reads while it waits (Node and Bun). */
  stdout?: boolean
}
const node = (id: string): string[] => [process.execPath, '--expose-gc', '--import', 'tsx', join(bench, 'runners', 'node.ts'), id]
const bunBin = join(bench, 'node_modules', '.bin', 'bun')
const all: System[] = [
  { id: 'floor', name: 'C floor (posix_spawn + pidfd + waitid)', command: [join(out, 'floor')] },
  { id: 'node-floor', name: 'Node floor (loop poll on a pidfd + direct call)', command: node('node-floor'), stdout: true },
  { id: 'pidfd-spawn', name: 'pidfd spawn().exited', command: node('pidfd-spawn'), stdout: true },
  { id: 'pidfd-fromchild', name: 'pidfd fromChild(child_process).wait()', command: node('pidfd-fromchild'), stdout: true },
  { id: 'pidfd-sync', name: 'pidfd PidFd.wait() (sync)', command: node('pidfd-sync'), stdout: true },
  { id: 'child_process', name: "child_process.spawn + 'exit'", command: node('child_process'), stdout: true },
  { id: 'bun', name: 'Bun.spawn + exited', command: [bunBin, join(bench, 'runners', 'bun.ts')], stdout: true },
  { id: 'python', name: 'Python posix_spawn + pidfd_open + waitid', command: ['python3', join(bench, 'runners', 'python.py')] },
]
// Systems that explain a gap, run only when named in --only, and only with --cycles-only: the
// Node floor with its pidfds watched through an epoll set (as the package's are), spawn() timed
// at its 'exit' event (as child_process is), and spawn() without its spawn helper (the child
// started from Node itself, whose memory its maxRSS then counts).
const explain: System[] = [
  { id: 'node-floor-set', name: 'Node floor through an epoll set', command: node('node-floor-set'), stdout: true },
  { id: 'pidfd-spawn-exit', name: "pidfd spawn + 'exit'", command: node('pidfd-spawn-exit'), stdout: true },
  {
    id: 'pidfd-spawn-inprocess',
    name: 'pidfd spawn().exited, PIDFD_SPAWN_HELPER=0',
    command: node('pidfd-spawn'),
    env: { PIDFD_SPAWN_HELPER: '0' },
    stdout: true,
  },
]
const named = values.only?.split(',') ?? []
if (explain.some((s) => named.includes(s.id)) && !values['cycles-only']) throw new Error(`${explain.map((s) => s.id).join(', ')}: with --cycles-only`)
all.splice(2, 0, ...explain.filter((s) => named.includes(s.id)))
if (values.baseline) {
  all.splice(3, 0, {
    id: 'pidfd-spawn-baseline',
    name: `pidfd spawn().exited (baseline: ${values.baseline})`,
    command: node('pidfd-spawn'),
    env: { PIDFD_BENCH_PACKAGE: values.baseline },
    stdout: true,
  })
}
const systems = all.filter(
  (s) => (s.id !== 'bun' || existsSync(bunBin)) && (!values.only || values.only.split(',').includes(s.id) || s.id === 'pidfd-spawn-baseline'),
)
if (!systems.some((s) => s.id === 'bun')) console.error('bench: Bun is not installed (npm ci in bench/): left out')

function run<T>(system: System, ...args: string[]): T {
  const [file, ...rest] = system.command as [string, ...string[]]
  const r = spawnSync(file, [...rest, ...args], { cwd: root, env: { ...process.env, ...system.env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 })
  if (r.status !== 0) throw new Error(`${system.id} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}
const p99 = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!
}

// Each round runs every system in a fresh process: `perRound` timed cycles after 5 of warm-up.
const rounds = count('rounds', quick ? 3 : 10)
const perRound = count('cycles', quick ? 30 : 50)
console.error(`bench: ${systems.length} systems, ${rounds} rounds`)

// 1, 2: sequential spawn+wait cycles, and exit-to-notification latency; the stamp on a FIFO (fd 3),
// then (Node and Bun) on a stdout pipe read while waiting, interleaved in the same rounds.
const cycles: Record<string, { cycleNs: number[]; latencyNs: number[] }> = {}
const stdoutCycles: Record<string, { cycleNs: number[]; latencyNs: number[] }> = {}
const stdoutSystems = systems.filter((s) => s.stdout)
for (let r = 0; r < rounds; r++) {
  for (const [acc, list, extra] of [
    [cycles, systems, []],
    [stdoutCycles, stdoutSystems, ['stdout']],
  ] as const) {
    for (const s of list) {
      const got = run<{ cycleNs: number[]; latencyNs: number[] }>(s, 'cycles', String(perRound), child, ...extra)
      const into = (acc[s.id] ??= { cycleNs: [], latencyNs: [] })
      into.cycleNs.push(...got.cycleNs)
      into.latencyNs.push(...got.latencyNs)
    }
  }
}

if (values['cycles-only']) {
  const row = (id: string, c: { cycleNs: number[]; latencyNs: number[] }) =>
    `| ${id} | ${(median(c.latencyNs) / 1e3).toFixed(0)} | ${(p99(c.latencyNs) / 1e3).toFixed(0)} | ${(median(c.cycleNs) / 1e3).toFixed(0)} |`
  const table = (title: string, acc: typeof cycles) =>
    [title, '', '| system | latency median µs | latency p99 µs | cycle median µs |', '| --- | ---: | ---: | ---: |', ...Object.entries(acc).map(([id, c]) => row(id, c)), ''].join('\n')
  process.stdout.write(`${new Date().toISOString()}, ${rounds} interleaved rounds of ${perRound}\n\n${table('Stamp on a FIFO:', cycles)}\n${table('Stamp on a stdout pipe read while waiting:', stdoutCycles)}`)
  process.exit(0)
}

// 2b: the synchronous calls, each beside child_process's own (and Bun.spawnSync), interleaved.
const syncNode = (id: string): string[] => [process.execPath, '--import', 'tsx', join(bench, 'runners', 'sync.ts'), id]
const syncAll: System[] = [
  { id: 'pidfd-spawnsync', name: 'pidfd spawnSync', command: syncNode('pidfd-spawnsync') },
  { id: 'cp-spawnsync', name: 'child_process.spawnSync', command: syncNode('cp-spawnsync') },
  { id: 'pidfd-execfilesync', name: 'pidfd execFileSync', command: syncNode('pidfd-execfilesync') },
  { id: 'cp-execfilesync', name: 'child_process.execFileSync', command: syncNode('cp-execfilesync') },
  { id: 'bun-spawnsync', name: 'Bun.spawnSync', command: [bunBin, join(bench, 'runners', 'bun.ts')] },
]
const syncSystems = syncAll.filter((s) => (s.id !== 'bun-spawnsync' || existsSync(bunBin)) && (!values.only || values.only.split(',').includes(s.id)))
const bunMode = (s: System, mode: string) => (s.id === 'bun-spawnsync' ? `sync-${mode}` : mode)
const syncCycles: Record<string, { cycleNs: number[]; latencyNs: number[] }> = {}
for (let r = 0; r < rounds; r++) {
  for (const s of syncSystems) {
    const got = run<{ cycleNs: number[]; latencyNs: number[] }>(s, bunMode(s, 'cycles'), String(perRound), child)
    const acc = (syncCycles[s.id] ??= { cycleNs: [], latencyNs: [] })
    acc.cycleNs.push(...got.cycleNs)
    acc.latencyNs.push(...got.latencyNs)
  }
}
const syncMaxrss: Record<string, number | null> = {}
for (const s of syncSystems) syncMaxrss[s.id] = run<{ maxRSSKiB: number | null }>(s, bunMode(s, 'maxrss')).maxRSSKiB

// 3: 64 children at once.
const batch: Record<string, number[]> = {}
for (let r = 0; r < rounds; r++) {
  for (const s of systems) (batch[s.id] ??= []).push(run<{ totalNs: number }>(s, 'batch', '64', child).totalNs)
}

// 4: one exit among K live children; the parent's memory, threads and descriptors; killing all.
const ks = quick ? [100, 1000] : [100, 1000, 10000]
interface LongLived {
  latencyNs: number[]
  rssBeforeKiB?: number
  rssKiB: number
  heapKiB?: number
  threads: number
  fds: number
  killAllNs: number
}
// Interleaved rounds below 10,000 (a round is one process per system, 50 exits after 200 ms
// idle): one process's 50 samples moved by tens of µs between runs. The latencies of the rounds
// are pooled; the parent's memory is the round whose growth is the median one's, the rest
// each round's median.
const kRounds = (k: number): number => (k >= 10000 ? 1 : quick ? 2 : 3)
const pooled = (got: LongLived[]): LongLived => {
  const growth = (l: LongLived) => l.rssKiB - (l.rssBeforeKiB ?? 0)
  const byGrowth = [...got].sort((a, b) => growth(a) - growth(b))
  const mid = byGrowth[Math.floor((byGrowth.length - 1) / 2)]!
  return {
    ...mid,
    latencyNs: got.flatMap((l) => l.latencyNs),
    threads: Math.max(...got.map((l) => l.threads)),
    fds: median(got.map((l) => l.fds)),
    killAllNs: median(got.map((l) => l.killAllNs)),
  }
}
const longlived: Record<string, Record<number, LongLived>> = {}
const stdoutLonglived: Record<string, Record<number, LongLived>> = {}
for (const k of ks) {
  const fifo: Record<string, LongLived[]> = {}
  const out: Record<string, LongLived[]> = {}
  for (let r = 0; r < kRounds(k); r++) {
    for (const s of systems) {
      console.error(`bench: ${s.id} with ${k} live children (round ${r + 1})`)
      ;(fifo[s.id] ??= []).push(run<LongLived>(s, 'longlived', String(k), child))
    }
    for (const s of stdoutSystems) {
      console.error(`bench: ${s.id} with ${k} live children, stamp on stdout (round ${r + 1})`)
      ;(out[s.id] ??= []).push(run<LongLived>(s, 'longlived', String(k), child, 'stdout'))
    }
  }
  for (const [id, got] of Object.entries(fifo)) (longlived[id] ??= {})[k] = pooled(got)
  for (const [id, got] of Object.entries(out)) (stdoutLonglived[id] ??= {})[k] = pooled(got)
}

// 5: fromChild's rusage capture, idle and with both cores busy.
const captureSystem = all.find((s) => s.id === 'pidfd-fromchild')!
const capture = {
  idle: run<{ single: number; sixteen: number }>(captureSystem, 'capture', quick ? '160' : '640', '0'),
  busy: run<{ single: number; sixteen: number }>(captureSystem, 'capture', quick ? '160' : '640', '1'),
}

// 6: maxRSS of /bin/true spawned from a parent holding 500 MiB.
const maxrss: Record<string, number | null> = {}
for (const s of systems) maxrss[s.id] = run<{ maxRSSKiB: number | null }>(s, 'maxrss').maxRSSKiB

// Figures.
const floor = 'floor'
const ratio = (v: number, f: number | undefined) => (f ? v / f : NaN)
/** The stdout-pipe mode's figures of a system, its ratios to the Node floor's in that mode. */
const stdoutFigures = (id: string) => {
  const c = stdoutCycles[id]
  const f = stdoutCycles['node-floor']
  if (!c) return null
  return {
    cycleMedianUs: median(c.cycleNs) / 1e3,
    latencyMedianUs: median(c.latencyNs) / 1e3,
    latencyP99Us: p99(c.latencyNs) / 1e3,
    latencyMedianNodeRatio: ratio(median(c.latencyNs), f && median(f.latencyNs)),
    latencyP99NodeRatio: ratio(p99(c.latencyNs), f && p99(f.latencyNs)),
    longlived: Object.fromEntries(ks.map((k) => [k, { latencyMedianUs: median(stdoutLonglived[id]![k]!.latencyNs) / 1e3, latencyP99Us: p99(stdoutLonglived[id]![k]!.latencyNs) / 1e3 }])),
  }
}
const figures = systems.map((s) => {
  const c = cycles[s.id]!
  const cycleMedian = median(c.cycleNs)
  const latMedian = median(c.latencyNs)
  const latP99 = p99(c.latencyNs)
  const batchMedian = median(batch[s.id]!)
  const f = cycles[floor]
  return {
    id: s.id,
    name: s.name,
    cyclesPerSecond: 1e9 / cycleMedian,
    cycleMedianUs: cycleMedian / 1e3,
    cycleP99Us: p99(c.cycleNs) / 1e3,
    cycleRatio: ratio(cycleMedian, f && median(f.cycleNs)),
    latencyMedianUs: latMedian / 1e3,
    latencyP99Us: latP99 / 1e3,
    latencyMedianRatio: ratio(latMedian, f && median(f.latencyNs)),
    latencyP99Ratio: ratio(latP99, f && p99(f.latencyNs)),
    latencyMedianNodeRatio: ratio(latMedian, cycles['node-floor'] && median(cycles['node-floor'].latencyNs)),
    latencyP99NodeRatio: ratio(latP99, cycles['node-floor'] && p99(cycles['node-floor'].latencyNs)),
    stdout: stdoutFigures(s.id),
    batchExitsPerSecond: 64 / (batchMedian / 1e9),
    batchRatio: ratio(batchMedian, batch[floor] && median(batch[floor])),
    longlived: Object.fromEntries(
      ks.map((k) => {
        const l = longlived[s.id]![k]!
        return [
          k,
          {
            latencyMedianUs: median(l.latencyNs) / 1e3,
            latencyP99Us: p99(l.latencyNs) / 1e3,
            rssKiB: l.rssKiB,
            rssPerChildKiB: l.rssBeforeKiB === undefined ? null : (l.rssKiB - l.rssBeforeKiB) / k,
            heapPerChildKiB: l.heapKiB === undefined ? null : l.heapKiB / k,
            threads: l.threads,
            fds: l.fds,
            killAllMs: l.killAllNs / 1e6,
          },
        ]
      }),
    ),
    maxRSSKiB: maxrss[s.id] ?? null,
  }
})

const versions = {
  node: process.version,
  bun: existsSync(bunBin) ? execFileSync(bunBin, ['--version'], { encoding: 'utf8' }).trim() : null,
  python: execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim(),
  gcc: execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim(),
  pidfd: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
}
const machine = { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model ?? '', memoryGiB: Math.round(totalmem() / 2 ** 30) }
// The synchronous calls: each against the C floor's cycle and against child_process's own call.
const syncPeer: Record<string, string> = { 'pidfd-spawnsync': 'cp-spawnsync', 'pidfd-execfilesync': 'cp-execfilesync', 'bun-spawnsync': 'cp-spawnsync' }
const syncFigures = syncSystems.map((s) => {
  const c = syncCycles[s.id]!
  const peer = syncPeer[s.id] ? syncCycles[syncPeer[s.id]!] : undefined
  const f = cycles[floor]
  return {
    id: s.id,
    name: s.name,
    cycleMedianUs: median(c.cycleNs) / 1e3,
    cycleP99Us: p99(c.cycleNs) / 1e3,
    cycleRatio: ratio(median(c.cycleNs), f && median(f.cycleNs)),
    peerRatio: peer ? ratio(median(c.cycleNs), median(peer.cycleNs)) : null,
    latencyMedianUs: median(c.latencyNs) / 1e3,
    latencyP99Us: p99(c.latencyNs) / 1e3,
    maxRSSKiB: syncMaxrss[s.id] ?? null,
  }
})
const results = { date: new Date().toISOString(), quick, rounds, perRound, ks, machine, versions, capture, figures, syncFigures }
writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n')

// The markdown report, with the targets of the benchmark issue.
const fmt = (n: number | null | undefined, d = 2) => (n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d))
const ours = figures.find((f) => f.id === 'pidfd-spawn')
const cpFig = figures.find((f) => f.id === 'child_process')
const bunFig = figures.find((f) => f.id === 'bun')
const kMax = ks[ks.length - 1]!
/** spawn()'s latency medians against child_process's, K = 1 (the cycles) then each K, in one mode. */
const belowCp = (mode: 'fifo' | 'stdout') => {
  const pick = (f: (typeof figures)[number] | undefined) =>
    !f ? [] : mode === 'fifo' ? [f.latencyMedianUs, ...ks.map((k) => f.longlived[k]!.latencyMedianUs)] : f.stdout ? [f.stdout.latencyMedianUs, ...ks.map((k) => f.stdout!.longlived[k]!.latencyMedianUs)] : []
  const a = pick(ours)
  const b = pick(cpFig)
  return { ok: a.length > 0 && a.length === b.length ? a.every((v, i) => v < b[i]!) : undefined, text: a.map((v, i) => `${fmt(v, 0)} < ${fmt(b[i], 0)}`).join(', ') }
}
const fifoBelow = belowCp('fifo')
const stdoutBelow = belowCp('stdout')
const target = (ok: boolean | undefined, what: string) => `| ${ok === undefined ? '—' : ok ? 'met' : '**missed**'} | ${what} |`
const lines = [
  `Run ${results.date.slice(0, 10)} on Linux ${machine.kernel}, ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB; Node ${versions.node}, Bun ${versions.bun ?? 'not installed'}, ${versions.python}, gcc ${versions.gcc}; ${rounds} interleaved rounds${quick ? ' (quick)' : ''}.`,
  '',
  'The stamp on a FIFO (fd 3), read after the notification; every ratio is to the C floor, and the latency\'s also to the Node floor:',
  '',
  '| system | cycles/s | cycle × floor | latency median µs (× floor; × Node floor) | latency p99 µs (× floor; × Node floor) | 64 at once: exits/s (× floor) | maxRSS of /bin/true from a 500 MiB parent |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...figures.map(
    (f) =>
      `| ${f.name} | ${fmt(f.cyclesPerSecond, 0)} | ${fmt(f.cycleRatio)} | ${fmt(f.latencyMedianUs, 0)} (${fmt(f.latencyMedianRatio)}; ${fmt(f.latencyMedianNodeRatio)}) | ${fmt(f.latencyP99Us, 0)} (${fmt(f.latencyP99Ratio)}; ${fmt(f.latencyP99NodeRatio)}) | ${fmt(f.batchExitsPerSecond, 0)} (${fmt(f.batchRatio)}) | ${f.maxRSSKiB === null ? 'not reported' : `${fmt(f.maxRSSKiB / 1024, 1)} MiB`} |`,
  ),
  '',
  `One exit among K live children (latency median µs; parent RSS per live child KiB; threads; descriptors; time until all K exits are seen after killing them, ms):`,
  '',
  `| system | ${ks.map((k) => `K = ${k}`).join(' | ')} |`,
  `| --- | ${ks.map(() => '---').join(' | ')} |`,
  ...figures.map(
    (f) =>
      `| ${f.name} | ${ks
        .map((k) => {
          const l = f.longlived[k]!
          return `${fmt(l.latencyMedianUs, 0)} µs · ${fmt(l.rssPerChildKiB, 1)} KiB · ${l.threads} thr · ${l.fds} fds · ${fmt(l.killAllMs, 0)} ms`
        })
        .join(' | ')} |`,
  ),
  '',
  'Synchronous calls (the whole call; latency from the child\'s last instruction to the return; × the C floor\'s cycle, and × child_process\'s same call):',
  '',
  '| call | median µs | p99 µs | × floor | × child_process | latency median µs | maxRSS of /bin/true from a 500 MiB parent |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...syncFigures.map(
    (f) =>
      `| ${f.name} | ${fmt(f.cycleMedianUs, 0)} | ${fmt(f.cycleP99Us, 0)} | ${fmt(f.cycleRatio)} | ${fmt(f.peerRatio)} | ${fmt(f.latencyMedianUs, 0)} | ${f.maxRSSKiB === null ? 'not reported' : `${fmt(f.maxRSSKiB / 1024, 1)} MiB`} |`,
  ),
  '',
  `fromChild rusage capture (the peek beating libuv's reap): idle ${fmt(capture.idle.single * 100, 1)}% one at a time, ${fmt(capture.idle.sixteen * 100, 1)}% sixteen at once; both cores busy ${fmt(capture.busy.single * 100, 1)}% and ${fmt(capture.busy.sixteen * 100, 1)}%.`,
  '',
  'The stamp on a stdout pipe that the parent reads while it waits (the common case; Node and Bun), in the same rounds (latency median and p99 µs, × the Node floor\'s; cycle median µs; latency median µs among K live children):',
  '',
  `| system | latency median µs (× Node floor) | latency p99 µs (× Node floor) | cycle µs | ${ks.map((k) => `K = ${k}`).join(' | ')} |`,
  `| --- | ---: | ---: | ---: | ${ks.map(() => '---:').join(' | ')} |`,
  ...figures
    .filter((f) => f.stdout)
    .map(
      (f) =>
        `| ${f.name} | ${fmt(f.stdout!.latencyMedianUs, 0)} (${fmt(f.stdout!.latencyMedianNodeRatio)}) | ${fmt(f.stdout!.latencyP99Us, 0)} (${fmt(f.stdout!.latencyP99NodeRatio)}) | ${fmt(f.stdout!.cycleMedianUs, 0)} | ${ks.map((k) => fmt(f.stdout!.longlived[k]!.latencyMedianUs, 0)).join(' | ')} |`,
    ),
  '',
  '| target | |',
  '| --- | --- |',
  target(ours && ours.latencyMedianNodeRatio <= 1.15, `latency median ≤ 1.15 × the Node floor, FIFO (${fmt(ours?.latencyMedianNodeRatio)})`),
  target(ours?.stdout ? ours.stdout.latencyMedianNodeRatio <= 1.15 : undefined, `latency median ≤ 1.15 × the Node floor, stdout pipe (${fmt(ours?.stdout?.latencyMedianNodeRatio)})`),
  target(fifoBelow.ok, `latency median below child_process's at K = 1, ${ks.join(', ')}, FIFO (µs: ${fifoBelow.text})`),
  target(stdoutBelow.ok, `latency median below child_process's at K = 1, ${ks.join(', ')}, stdout pipe (µs: ${stdoutBelow.text})`),
  target(ours?.stdout ? ours.stdout.latencyP99NodeRatio <= 2 : undefined, `latency p99 ≤ 2 × the Node floor's, stdout pipe (${fmt(ours?.stdout?.latencyP99NodeRatio)})`),
  target(ours && bunFig ? ours.cycleMedianUs <= bunFig.cycleMedianUs : undefined, `cycle ≤ Bun's (${fmt(ours?.cycleMedianUs, 0)} µs against ${fmt(bunFig?.cycleMedianUs, 0)})`),
  target(ours && ours.longlived[kMax]!.latencyMedianUs <= 200, `one exit among ${kMax} live children ≤ 0.2 ms (${fmt(ours && ours.longlived[kMax]!.latencyMedianUs / 1000, 3)} ms)`),
  target(ours && new Set(ks.map((k) => ours.longlived[k]!.threads)).size === 1, `threads constant in K (${ours && ks.map((k) => ours.longlived[k]!.threads).join(', ')})`),
  target(ours && (ours.longlived[kMax]!.rssPerChildKiB ?? Infinity) <= 2, `parent memory per live child ≤ 2 KiB beyond its fds (${fmt(ours?.longlived[kMax]!.rssPerChildKiB, 1)} KiB RSS, ${fmt(ours?.longlived[kMax]!.heapPerChildKiB, 2)} KiB heap)`),
  target(capture.idle.single >= 0.99 && capture.idle.sixteen >= 0.99, `fromChild capture ≥ 99% idle`),
  target(capture.busy.single >= 0.95 && capture.busy.sixteen >= 0.95, `fromChild capture ≥ 95% with both cores busy`),
  target(ours && ours.maxRSSKiB !== null && ours.maxRSSKiB < 10 * 1024, `maxRSS of /bin/true from a 500 MiB parent < 10 MB (${fmt((ours?.maxRSSKiB ?? NaN) / 1024, 1)} MiB)`),
  '',
]
writeFileSync(join(out, 'results.md'), lines.join('\n'))
process.stdout.write(lines.join('\n'))

// The chart, from the JSON (bench/chart.ts, with vega-lite): docs/bench.svg from a run of every
// system (the reference run's chart, which the README shows); a run of some (--only) draws
// bench/out/bench.svg, and leaves the README's alone.
const svg = values.only ? join(out, 'bench.svg') : join(root, 'docs', 'bench.svg')
if (existsSync(join(bench, 'node_modules', 'vega'))) {
  const chart = cpSpawn(process.execPath, ['--import', 'tsx', join(bench, 'chart.ts'), join(out, 'results.json'), svg], { stdio: 'inherit' })
  chart.on('exit', (code) => process.exit(code ?? 1))
} else {
  console.error('bench: vega is not installed (npm ci in bench/): no chart')
}

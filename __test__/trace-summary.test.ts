// `pidfd time --trace`'s summary (lib/cli/trace.ts): how a traced child is named for grouping,
// how the trace file is read (whole lines only), and what the summary adds up, keeps the largest
// of, and ranks. The trace read here is one PIDFD_TRACE wrote for real children, with a line cut
// short after it, as a process killed mid-write leaves.

import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { commandLabel, readTrace, summarize } from '../lib/cli/trace.js'
import type { TraceLine } from '../lib/trace.js'
import { runNode, tempDir } from './helpers.js'

const dir = tempDir('pidfd-trace-summary-')
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

const label = (file: string, ...args: string[]) => commandLabel({ file, argv: [file, ...args] })

test('a traced command is named by its program, or by the script a shell or an interpreter runs', (t) => {
  t.is(label('/usr/bin/make', '-j', '4'), 'make')
  t.is(label('true'), 'true')
  // A shell: the first word of its -c script, or its script file, or the shell alone.
  t.is(label('/bin/sh', '-c', '  /usr/bin/seq 1 5 | sort'), 'sh -c seq')
  t.is(label('bash', '-e', '-c', 'make all'), 'bash -c make')
  t.is(label('dash', '-x', './scripts/build.sh', 'arg'), 'dash -c build.sh')
  t.is(label('zsh', '-c', 'ls -la'), 'zsh -c ls')
  t.is(label('sh', '-c', '-x-tool --run'), 'sh -c -x-tool', 'the word after -c is the script, even with a dash')
  t.is(label('bash'), 'bash')
  t.is(label('ash', '-c', 'make'), 'ash -c make')
  t.is(label('sh', '-c', '   '), 'sh', 'an empty script names nothing')
  t.is(label('sh', '-c'), 'sh', 'nothing after -c')
  // An interpreter: its inline flag, else its script, else itself.
  for (const flag of ['-e', '--eval', '-p', '--print']) t.is(label('/usr/local/bin/node', '--no-warnings', flag, 'code'), `node ${flag}`)
  t.is(label('python3', '-c', 'print(1)'), 'python3 -c')
  t.is(label('node', '--inspect', '/srv/app/server.js', '--port'), 'node server.js')
  t.is(label('bun', 'x.ts'), 'bun x.ts')
  t.is(label('deno', '-A', 'main.ts'), 'deno main.ts')
  t.is(label('nodejs', 'app.js'), 'nodejs app.js')
  t.is(label('node', '--version'), 'node')
  for (const program of ['perl', 'ruby', 'python']) t.is(label(program, 'a/b.x'), `${program} b.x`)
  // A program that is neither is named alone, whatever its arguments.
  t.is(label('/usr/bin/env', 'node', 'x.js'), 'env')
  t.is(label('shx', '-c', 'y'), 'shx')
})

test('the trace is read line by line: a line cut short and blank lines are skipped, a missing file is no lines', async (t) => {
  const trace = join(dir, 'trace.jsonl')
  const r = await runNode(
    `(async () => {
       for (const args of [['-c', 'exit 3'], ['-c', 'true']]) await pidfd.spawn('sh', args, { stdio: 'ignore' }).exited
     })()`,
    { env: { PIDFD_TRACE: trace } },
  )
  t.is(r.code, 0, r.stderr)
  appendFileSync(trace, '\n{"pid": 12, "ppid"')
  const lines = readTrace(trace)
  t.is(lines.length, 2)
  t.deepEqual(
    lines.map((l) => [l.file, l.argv, l.code]),
    [
      ['sh', ['sh', '-c', 'exit 3'], 3],
      ['sh', ['sh', '-c', 'true'], 0],
    ],
  )
  t.deepEqual(readTrace(join(dir, 'none.jsonl')), [])
  writeFileSync(join(dir, 'empty.jsonl'), '')
  t.deepEqual(readTrace(join(dir, 'empty.jsonl')), [])
  t.is(readFileSync(trace, 'utf8').split('\n').length, 4, 'two lines, the blank one and the cut one')
})

/** A trace line with the CPU time (µs), peak RSS (KiB) and wall time given; `rusage: null` when cpu is null. */
function line(pid: number, file: string, args: string[], cpuUs: [number, number] | null, maxRSS: number, wallMs: number): TraceLine {
  return {
    pid,
    ppid: 1,
    file,
    argv: [file, ...args],
    cwd: '/',
    start: new Date(0).toISOString(),
    wallMs,
    code: 0,
    signal: null,
    rusage: cpuUs ? ({ userCPUTime: cpuUs[0], systemCPUTime: cpuUs[1], maxRSS } as TraceLine['rusage']) : null,
  }
}

test('the summary: CPU is user plus system in ms, summed; peak RSS is the largest; groups rank by CPU; tops keep 5, groups 10', (t) => {
  const lines = [
    line(10, 'sh', ['-c', 'make a'], [3000, 1000], 500, 7), // 4 ms
    line(11, 'sh', ['-c', 'make b'], [1500, 500], 900, 5), // 2 ms
    line(12, 'gcc', [], [10_000, 250], 300, 20), // 10.25 ms
    line(13, 'ld', [], null, 0, 3), // no usage: 0 ms, 0 KiB
    line(14, 'node', ['x.js'], [0, 6000], 4000, 1), // 6 ms
    line(15, 'cc1', [], [1000, 0], 100, 1), // 1 ms
    line(16, 'as', [], [500, 0], 50, 1), // 0.5 ms
  ]
  const s = summarize(lines)
  t.is(s.processes, 7)
  t.is(s.cpuMs, 4 + 2 + 10.25 + 0 + 6 + 1 + 0.5)
  t.deepEqual(
    s.topByCpu.map((p) => [p.pid, p.cpuMs]),
    [
      [12, 10.25],
      [14, 6],
      [10, 4],
      [11, 2],
      [15, 1],
    ],
  )
  t.deepEqual(
    s.topByRss.map((p) => [p.pid, p.maxRssKiB]),
    [
      [14, 4000],
      [11, 900],
      [10, 500],
      [12, 300],
      [15, 100],
    ],
  )
  t.deepEqual(s.topByCpu[0], { pid: 12, ppid: 1, command: 'gcc', cpuMs: 10.25, maxRssKiB: 300, wallMs: 20 })
  t.deepEqual(
    s.groups.map((g) => ({ ...g })),
    [
      { command: 'gcc', count: 1, cpuMs: 10.25, maxRssKiB: 300, wallMs: 20 },
      { command: 'sh -c make', count: 2, cpuMs: 6, maxRssKiB: 900, wallMs: 12 },
      { command: 'node x.js', count: 1, cpuMs: 6, maxRssKiB: 4000, wallMs: 1 },
      { command: 'cc1', count: 1, cpuMs: 1, maxRssKiB: 100, wallMs: 1 },
      { command: 'as', count: 1, cpuMs: 0.5, maxRssKiB: 50, wallMs: 1 },
      { command: 'ld', count: 1, cpuMs: 0, maxRssKiB: 0, wallMs: 3 },
    ],
  )
  // The largest first in a group, then a smaller one: the group keeps the largest.
  t.is(summarize([line(1, 'x', [], [1, 0], 800, 1), line(2, 'x', [], [1, 0], 200, 1)]).groups[0]!.maxRssKiB, 800)
  // Twelve commands: ten groups, the ten with the most CPU.
  const many = summarize(Array.from({ length: 12 }, (_, i) => line(100 + i, `p${i}`, [], [1000 * (i + 1), 0], i, 1)))
  t.deepEqual(
    many.groups.map((g) => g.command),
    ['p11', 'p10', 'p9', 'p8', 'p7', 'p6', 'p5', 'p4', 'p3', 'p2'],
  )
  t.is(many.topByCpu.length, 5)
  t.is(many.topByRss.length, 5)
  t.deepEqual(summarize([]), { processes: 0, cpuMs: 0, topByCpu: [], topByRss: [], groups: [] })
})

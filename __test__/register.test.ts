// `--import pidfd/register` (or -r, or in NODE_OPTIONS) swaps child_process for the whole app;
// PIDFD_TRACE=FILE gets a line per child the package ran; `pidfd time --trace` reports them.
// All in fresh Node processes, run as users run them.

import * as cp from 'node:child_process'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import test from 'ava'

import { root, tempDir } from './helpers.js'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function node(args: string[], env: Record<string, string | undefined> = {}, cwd = root): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

const registerFile = join(root, 'lib', 'register.js')
const tmp = () => tempDir('pidfd-register-')

// What a script reports about the child_process it sees: whose functions they are.
const probe = `
  const cp = require('node:child_process')
  const child = cp.spawn('sh', ['-c', 'exit 3'])
  child.on('exit', (code) => {
    const r = cp.spawnSync('true')
    console.log(JSON.stringify({ code, usage: typeof child.resourceUsage, exited: typeof child.exited, sync: r.resourceUsage !== undefined }))
  })
`

test('--import pidfd/register swaps child_process for CommonJS and ESM, and -r does the same', async (t) => {
  // The third: another --import had loaded node:child_process from ESM first, so its named
  // exports existed before the swap (they are brought up to date).
  const earlier = ['--import', 'data:text/javascript,import "node:child_process"', '--import', 'pidfd/register']
  for (const flag of [['--import', 'pidfd/register'], ['-r', 'pidfd/register'], earlier]) {
    const cjs = await node([...flag, '-e', probe])
    t.is(cjs.stderr, '')
    t.deepEqual(JSON.parse(cjs.stdout), { code: 3, usage: 'function', exited: 'object', sync: true })
    const esm = await node([
      ...flag,
      '--input-type=module',
      '-e',
      `import { spawn, execFile } from 'node:child_process'
       import * as cp from 'child_process'
       const sub = spawn('true')
       await sub.exited
       console.log(JSON.stringify({ exited: typeof sub.exited, same: cp.execFile === execFile, usage: sub.resourceUsage().maxRSS > 0 }))`,
    ])
    t.is(esm.stderr, '', flag.join(' '))
    t.deepEqual(JSON.parse(esm.stdout), { exited: 'object', same: true, usage: true })
  }
})

test('in NODE_OPTIONS it reaches Node children: a grandchild\'s child_process is the package\'s too', async (t) => {
  const r = await node(
    ['-e', `require('node:child_process').execFile(process.execPath, ['-e', ${JSON.stringify(probe)}], (e, out) => process.stdout.write(out))`],
    { NODE_OPTIONS: `--import=${pathToFileURL(registerFile).href}` },
    tmp(),
  )
  t.is(r.stderr, '')
  t.deepEqual(JSON.parse(r.stdout), { code: 3, usage: 'function', exited: 'object', sync: true })
})

test('loading it prints nothing, loads nothing native until a call, and leaves what children print alone', async (t) => {
  const script = `
    const loaded = () => Object.keys(require.cache).some((f) => f.startsWith(${JSON.stringify(join(root, 'lib'))}) && !f.endsWith('register.js'))
    const before = loaded()
    const cp = require('node:child_process')
    const out = cp.execSync('printf "a\\\\tb\\\\n"; echo err >&2', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    process.stdout.write(JSON.stringify({ before, after: loaded(), out }))
  `
  const r = await node(['--import', 'pidfd/register', '-e', script])
  t.is(r.stderr, '', 'nothing on stderr')
  t.deepEqual(JSON.parse(r.stdout), { before: false, after: true, out: 'a\tb\n' })
  const plain = await node(['--import', 'pidfd/register', '-e', 'console.log("only this")'])
  t.deepEqual(plain, { code: 0, stdout: 'only this\n', stderr: '' })
})

test("spawn with an IPC channel and fork are the package's; where the kernel cannot serve them (no pidfd_open), Node's own, unchanged", async (t) => {
  const dir = tmp()
  writeFileSync(join(dir, 'child.js'), `process.on('message', (m) => process.send({ echo: m }))`)
  const script = `const cp = require('node:child_process')
       const a = cp.spawn(process.execPath, ['child.js'], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] })
       a.on('message', (m) => {
         a.disconnect()
         const b = cp.fork('child.js')
         b.on('message', (n) => {
           b.disconnect()
           console.log(JSON.stringify([m, n, typeof a.exited, typeof b.exited, typeof cp.spawn('true').exited]))
         })
         b.send(2)
       })
       a.send(1)`
  for (const [env, kind] of [
    [{}, 'object'],
    [{ PIDFD_DISABLE: 'pidfdOpen' }, 'undefined'],
  ] as const) {
    const r = await node(['--import', pathToFileURL(registerFile).href, '-e', script], env, dir)
    t.is(r.stderr, '')
    t.deepEqual(JSON.parse(r.stdout), [{ echo: 1 }, { echo: 2 }, kind, kind, kind], JSON.stringify(env))
  }
})

test('util.promisify of the swapped exec and execFile gives { stdout, stderr } and the package\'s child', async (t) => {
  const r = await node([
    '--import',
    'pidfd/register',
    '-e',
    `const { promisify } = require('node:util')
     const cp = require('node:child_process')
     const p = promisify(cp.execFile)('sh', ['-c', 'echo out; echo err >&2'])
     p.then((o) => console.log(JSON.stringify({ o, child: typeof p.child.exited })))`,
  ])
  t.deepEqual(JSON.parse(r.stdout), { o: { stdout: 'out\n', stderr: 'err\n' }, child: 'object' })
})

test("the swapped functions have Node's names and lengths, and util.promisify's form is hidden as Node's; where the package cannot serve, that form is Node's own", async (t) => {
  const served = ['spawn', 'fork', 'exec', 'execFile', 'spawnSync', 'execSync', 'execFileSync'] as const
  const own = cp as unknown as Record<string, (...args: unknown[]) => unknown>
  const expected = {
    shapes: served.map((n) => [own[n]!.name, own[n]!.length]),
    custom: ['exec', 'execFile'].map(() => [false, false, false]),
  }
  const script = `const cp = require('node:child_process')
    const { promisify } = require('node:util')
    const flags = (d) => [d.writable, d.enumerable, d.configurable]
    const p = promisify(cp.exec)('echo hi', { shell: '/bin/sh' })
    const q = promisify(cp.execFile)('echo', ['there'])
    Promise.all([p, q]).then((out) => console.log(JSON.stringify({
      shapes: ${JSON.stringify(served)}.map((n) => [cp[n].name, cp[n].length]),
      custom: ['exec', 'execFile'].map((n) => flags(Object.getOwnPropertyDescriptor(cp[n], promisify.custom))),
      out,
      children: [typeof p.child.exited, typeof q.child.exited],
    })))`
  for (const [env, child] of [
    [{}, 'object'],
    [{ PIDFD_DISABLE: 'pidfdOpen' }, 'undefined'],
  ] as const) {
    const r = await node(['--import', pathToFileURL(registerFile).href, '-e', script], env)
    t.is(r.stderr, '', JSON.stringify(env))
    const out = [
      { stdout: 'hi\n', stderr: '' },
      { stdout: 'there\n', stderr: '' },
    ]
    t.deepEqual(JSON.parse(r.stdout), { ...expected, out, children: [child, child] }, JSON.stringify(env))
  }
})

test('PIDFD_TRACE: one whole JSON line per child, from processes writing at once', async (t) => {
  const dir = tmp()
  const trace = join(dir, 'trace.jsonl')
  // Four Node processes, each 40 children at once (spawn, exec, the sync family), all appending.
  const script = `
    const cp = require('node:child_process')
    let left = 30
    for (let i = 0; i < 30; i++) cp.spawn('sh', ['-c', 'exit ' + (i % 3), 'x'.repeat(300)]).on('exit', () => --left || done())
    function done() {
      for (let i = 0; i < 5; i++) cp.spawnSync('true', ['sync', String(i)])
      let n = 5
      for (let i = 0; i < 5; i++) cp.exec('true exec ' + i, () => --n || console.log('ok'))
    }
  `
  const runs = await Promise.all([0, 1, 2, 3].map(() => node(['--import', 'pidfd/register', '-e', script], { PIDFD_TRACE: trace })))
  t.deepEqual(
    runs.map((r) => r.stdout + r.stderr),
    ['ok\n', 'ok\n', 'ok\n', 'ok\n'],
  )
  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean)
  t.is(lines.length, 4 * 40)
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { argv: string[]; rusage: { maxRSS: number } | null })
  const ppids = new Set(parsed.map((l) => l.ppid))
  t.is(ppids.size, 4)
  for (const l of parsed) {
    t.deepEqual(Object.keys(l), ['pid', 'ppid', 'file', 'argv', 'cwd', 'start', 'wallMs', 'code', 'signal', 'rusage'])
    t.true(l.rusage !== null && l.rusage.maxRSS > 0)
    t.true(l.argv.every((a) => a.length <= 201), 'arguments are bounded')
  }
  t.is(parsed.filter((l) => l.file === 'sh' && l.code === 2).length, 4 * 10)
  t.is(parsed.filter((l) => l.file === 'true' && l.argv[1] === 'sync').length, 4 * 5)
})

test('pidfd time --trace: every child of the tree\'s Node processes, their CPU within the tree\'s, by command', async (t) => {
  const dir = tmp()
  writeFileSync(
    join(dir, 'tree.js'),
    `const cp = require('child_process')
     cp.execSync('seq 1 200000 | sort -r > /dev/null')
     cp.spawnSync('sh', ['-c', 'head -c 20000000 /dev/zero | md5sum > /dev/null'])
     const pids = []
     const c = cp.spawn(process.execPath, ['-e', "require('child_process').execFileSync('sleep', ['0.1'])"], { stdio: 'inherit' })
     pids.push(c.pid)
     c.on('exit', () => { const d = cp.exec('true', () => {}); pids.push(d.pid) })`,
  )
  const trace = join(dir, 'trace.jsonl')
  const r = await node([join(root, 'bin', 'pidfd.js'), 'time', '--trace-file', trace, '--format', 'json', '--output', join(dir, 'report.json'), '--', process.execPath, 'tree.js'], {}, dir)
  t.is(r.code, 0, r.stderr)
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
    rusage: { userCPUTime: number; systemCPUTime: number }
    trace: { processes: number; cpuMs: number; groups: Array<{ command: string; count: number }>; topByCpu: unknown[] }
  }
  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean)
  t.is(lines.length, 5, 'execSync, spawnSync, the node child, its own execFileSync child, exec')
  t.is(report.trace.processes, 5)
  const treeMs = (report.rusage.userCPUTime + report.rusage.systemCPUTime) / 1000
  t.true(report.trace.cpuMs > 0 && report.trace.cpuMs <= treeMs, `${report.trace.cpuMs} ms traced, tree ${treeMs} ms`)
  t.deepEqual(report.trace.groups.map((g) => g.command).sort(), ['node -e', 'sh -c head', 'sh -c seq', 'sh -c true', 'sleep'])
  // The text form says the same, and the markdown has the tables.
  const textRun = await node([join(root, 'bin', 'pidfd.js'), 'time', '--trace', '--', process.execPath, 'tree.js'], {}, dir)
  t.regex(textRun.stderr, /traced 5 children of its Node processes, CPU [\d.]+m?s in all:\n {4}top by CPU: .*\n {4}top by peak RSS: .*\n {4}by command: /)
  const md = await node([join(root, 'bin', 'pidfd.js'), 'time', '--trace', '--format', 'markdown', '--', process.execPath, 'tree.js'], {}, dir)
  t.regex(md.stderr, /#### Traced: 5 children[\s\S]*\| command \| processes \| CPU \| peak RSS \| wall \(sum\) \|[\s\S]*\| top by CPU \|/)
})

test('pidfd time --trace over a real multi-process Node tool (this repository\'s ava, on one test file)', async (t) => {
  const dir = tmp()
  const trace = join(dir, 'trace.jsonl')
  const report = join(dir, 'report.json')
  const r = await node(
    [join(root, 'bin', 'pidfd.js'), 'time', '--trace-file', trace, '--format', 'json', '--output', report, '--', process.execPath, join(root, 'node_modules', 'ava', 'entrypoints', 'cli.js'), '__test__/signals.test.ts'],
    { GITHUB_STEP_SUMMARY: undefined },
  )
  t.is(r.code, 0, r.stdout + r.stderr)
  const got = JSON.parse(readFileSync(report, 'utf8')) as { rusage: { userCPUTime: number; systemCPUTime: number }; trace: { processes: number; cpuMs: number } }
  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ppid: number })
  t.is(got.trace.processes, lines.length)
  t.true(lines.length >= 10, `${lines.length} children traced`)
  t.true(new Set(lines.map((l) => l.ppid)).size >= 1)
  t.true(got.trace.cpuMs <= (got.rusage.userCPUTime + got.rusage.systemCPUTime) / 1000)
})

// Node's own child_process tests as the oracle for pidfd's spawn.
//
//   node --import tsx scripts/node-parity.ts --tests DIR [--node PATH] [--filter REGEX]
//                                            [--jobs N] [--node-options] [--json FILE]
//
// DIR holds Node's `test/` directory (the denoland/node_test repository vendors it at release
// tags; its `test/` is what is needed, not copied into this repository). Every
// `test-child-process-*.js` of test/parallel, test/sequential and test/pummel runs, one process
// per test, three times:
//   baseline  Node as it is;
//   control   with scripts/parity-preload.cjs loaded, calls still going to Node's spawn;
//   pidfd     with the preload swapping child_process.spawn for pidfd's (a call with 'ipc'
//             goes to Node's spawn and is counted).
// --node-options passes the preload through NODE_OPTIONS, so Node grandchildren swap too.
// --register runs the pidfd pass with NODE_OPTIONS=--import pidfd/register instead of the
// preload, as an app is switched whole; its calls are counted from PIDFD_TRACE.
// Needs the built package (npm run build). Not part of CI: it needs that checkout.

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const preload = join(here, 'parity-preload.cjs')
const register = join(here, '..', 'lib', 'register.js')

const { values } = parseArgs({
  options: {
    tests: { type: 'string' },
    node: { type: 'string', default: process.execPath },
    filter: { type: 'string' },
    jobs: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    'node-options': { type: 'boolean', default: false },
    register: { type: 'boolean', default: false },
    json: { type: 'string' },
    timeout: { type: 'string', default: '120' },
  },
})
if (!values.tests || !existsSync(join(values.tests, 'test', 'common'))) {
  console.error('usage: node --import tsx scripts/node-parity.ts --tests DIR (DIR/test holds Node\'s test directory)')
  process.exit(2)
}
const testRoot = join(values.tests, 'test')
const filter = values.filter ? new RegExp(values.filter) : null

type Mode = 'baseline' | 'control' | 'pidfd'
interface Run {
  ok: boolean
  code: number | null
  signal: string | null
  ms: number
  swapped: number
  ipc: number
  tail: string
}

/** The `// Flags:` a Node test asks for (its harness passes them to node). */
function flagsOf(file: string): string[] {
  const m = /^\/\/ Flags: (.+)$/m.exec(readFileSync(file, 'utf8'))
  return m ? m[1]!.trim().split(/\s+/) : []
}

function runOne(file: string, mode: Mode, slot: number): Promise<Run> {
  const work = mkdtempSync(join(tmpdir(), 'pidfd-parity-'))
  const log = join(work, 'calls')
  writeFileSync(log, '')
  const env: Record<string, string | undefined> = {
    ...process.env,
    TEST_THREAD_ID: String(slot),
    PIDFD_PARITY_MODE: mode === 'pidfd' ? 'pidfd' : 'control',
    PIDFD_PARITY_LOG: log,
  }
  const args = [...flagsOf(file)]
  const trace = join(work, 'trace')
  if (mode === 'pidfd' && values.register) {
    // As users switch a whole app: --import pidfd/register in NODE_OPTIONS (Node grandchildren
    // too). What it served is counted from PIDFD_TRACE: one line per child the package ran.
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(register).href}`.trim()
    env.PIDFD_TRACE = trace
  } else if (mode !== 'baseline') {
    if (values['node-options']) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require=${preload}`.trim()
    else args.unshift('--require', preload)
  }
  args.push(file)
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(values.node!, args, { cwd: values.tests, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), Number(values.timeout) * 1000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const calls = readFileSync(log, 'utf8').split('\n')
      if (existsSync(trace)) calls.push(...readFileSync(trace, 'utf8').split('\n').filter(Boolean).map(() => 'pidfd'))
      rmSync(work, { recursive: true, force: true })
      resolve({
        ok: code === 0,
        code,
        signal,
        ms: Math.round(performance.now() - started),
        swapped: calls.filter((c) => c === 'pidfd').length,
        ipc: calls.filter((c) => c === 'ipc').length,
        tail: out.trim().split('\n').slice(-12).join('\n'),
      })
    })
  })
}

const files = ['parallel', 'sequential', 'pummel']
  .flatMap((dir) => {
    const d = join(testRoot, dir)
    return existsSync(d) ? readdirSync(d).filter((f) => /^test-child-process-.*\.js$/.test(f)).map((f) => join(d, f)) : []
  })
  .filter((f) => !filter || filter.test(f))
  .sort()

interface Row {
  test: string
  internals: boolean
  baseline: Run
  control: Run
  pidfd: Run
}

const rows: Row[] = []
let next = 0
async function worker(slot: number): Promise<void> {
  while (next < files.length) {
    const file = files[next++]!
    const name = relative(testRoot, file)
    const baseline = await runOne(file, 'baseline', slot)
    const control = await runOne(file, 'control', slot)
    const pidfd = await runOne(file, 'pidfd', slot)
    const row = { test: name, internals: flagsOf(file).includes('--expose-internals'), baseline, control, pidfd }
    rows.push(row)
    const mark = (r: Run) => (r.ok ? 'pass' : `FAIL(${r.code ?? r.signal})`)
    console.log(
      `${name.padEnd(72)} baseline ${mark(baseline).padEnd(10)} control ${mark(control).padEnd(10)} pidfd ${mark(pidfd).padEnd(10)}` +
        ` swapped ${pidfd.swapped}${pidfd.ipc ? ` ipc ${pidfd.ipc}` : ''}${row.internals ? ' [internals]' : ''}`,
    )
  }
}
await Promise.all(Array.from({ length: Number(values.jobs) }, (_, i) => worker(i)))
rows.sort((a, b) => a.test.localeCompare(b.test))

const oracle = rows.filter((r) => r.baseline.ok && r.control.ok)
const passing = oracle.filter((r) => r.pidfd.ok)
const failing = oracle.filter((r) => !r.pidfd.ok)
const swappedTests = oracle.filter((r) => r.pidfd.swapped > 0)
console.log('')
console.log(`node ${values.node} (${values['node-options'] ? 'preload through NODE_OPTIONS' : 'preload with -r'})`)
console.log(`${rows.length} tests; ${oracle.length} pass with child_process (baseline and control)`)
console.log(`${passing.length} of those ${oracle.length} pass with pidfd's spawn; ${swappedTests.length} of them called it`)
for (const r of failing) {
  console.log(`\n--- ${r.test}${r.internals ? ' [uses Node internals]' : ''} (pidfd: ${r.pidfd.code ?? r.pidfd.signal})\n${r.pidfd.tail}`)
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2))
console.log(`\n${passing.length} passed, ${failing.length} failed`)

// Generated mutants for the native side, run against the ava tests:
//
//   npm run mutants:rust -- src/exit.rs src/identity.rs   # cargo-mutants makes them
//   npm run mutants:c -- helper/guard.c                   # scripts/mutants/c-mutants.ts makes them
//   ... -- --budget 30 --sample 10 --list
//   npm run mutants:rust -- src/sys.rs --from 1270          # only its mutants at line 1270 or later
//
// With no file named, every src/*.rs (mutants:rust) or helper/*.c (mutants:c). --sample N takes
// N mutants per file, evenly spread over the generated list (not chosen). The budget is checked
// before each mutant.
//
// Our tests are ava against the built .node, not `cargo test`, so cargo-mutants only lists
// (`cargo mutants --list --json --diff`); this script applies each diff in a copy of the project
// (.tmp/mutants/native-sandbox, the working tree is never touched), builds it (`cargo build
// --release --lib`, a faster profile than the package's: no LTO, 16 codegen units, opt-level 1,
// target in .tmp/mutants/target; build.rs compiles the C helper, which the .node embeds, with
// -Werror), puts the .node and the helper where the loader finds them, runs the mutant's test
// files (fail-fast, in a PID namespace of their own: common.ts, ISOLATE), and restores the file,
// always. A mutant's tests are those that ran the innermost function holding its line, measured
// (scripts/mutants/native-coverage.json, `npm run mutants:native-map`), the ones
// scripts/mutants/native-map.json names for the file first, then those that run more of the
// file, within --max-test-seconds (90) of their measured time, and a mutant that survives them
// then faces the others that ran its function (not in the unmutated run: a failure of one of
// those names it in the result's `failed`); native-map.json's alone where no test ran that
// function, for the C helper (not instrumented), and with --by-hand.
// Outcomes: killed (ava failed), survived, timeout (3x its tests' share of the unmutated run of
// all the file's mutants' first tests, + 30 s: counted as killed by the report, as Stryker
// does), unviable (did not build: not counted).
//
// Results: .tmp/mutants/native/results.json, keyed by the file's content hash and the mutant's
// id; a run goes on where the last stopped, and a changed file's mutants run again.

import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { cMutants } from './c-mutants.js'
import { cacheDir, cargoMutants, deadline, ISOLATE, root } from './common.js'
import { readNativeCoverage, testsForLine } from './native-select.js'

export interface NativeResult {
  file: string
  line: number
  description: string
  status: 'killed' | 'survived' | 'timeout' | 'unviable'
  seconds: number
  tests: string[]
  /** For a killed mutant: the failing tests ava named (kept from 5 December on). */
  failed?: string[]
  /** How `tests` were chosen: by the coverage of the mutant's function (native-coverage.json),
   * or by native-map.json (all runs before 5 December's eighth session). */
  by?: 'coverage' | 'hand'
}
export type NativeResults = Record<string, Record<string, NativeResult>>

interface Mutant {
  id: string
  file: string
  line: number
  description: string
  apply: (text: string) => string | null
}

const dir = join(cacheDir, 'native')
const sandbox = join(cacheDir, 'native-sandbox')
const targetDir = join(cacheDir, 'target')
export const RESULTS_PATH = join(dir, 'results.json')
mkdirSync(dir, { recursive: true })

export function readResults(): NativeResults {
  return existsSync(RESULTS_PATH) ? (JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as NativeResults) : {}
}

/** Applies a unified diff (cargo-mutants' --diff) to `text` with patch(1); null if it fails. */
function applyDiff(text: string, diff: string): string | null {
  const tmp = mkdtempSync(join(tmpdir(), 'pidfd-mut-'))
  try {
    writeFileSync(join(tmp, 'in'), text)
    const r = spawnSync('patch', ['-s', '-o', join(tmp, 'out'), join(tmp, 'in')], { input: diff })
    return r.status === 0 ? readFileSync(join(tmp, 'out'), 'utf8') : null
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

function rustMutants(file: string): Mutant[] {
  const r = spawnSync(cargoMutants(), ['mutants', '--list', '--json', '--diff', '-f', file], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 })
  if (r.status !== 0) throw new Error(`cargo mutants --list failed: ${r.stderr}`)
  const list = JSON.parse(r.stdout) as { name: string; file: string; diff: string; span: { start: { line: number } } }[]
  return list
    .filter((m) => m.file === file)
    .map((m) => ({
      id: m.name,
      file,
      line: m.span.start.line,
      description: m.name.replace(/^[^ ]+ /, ''),
      apply: (text: string) => applyDiff(text, m.diff),
    }))
}

function mutantsOf(file: string): Mutant[] {
  if (file.endsWith('.rs')) return rustMutants(file)
  return cMutants(file, readFileSync(join(root, file), 'utf8'))
}

/** N of `list`, evenly spread (the first, then every len/N-th). */
function sample<T>(list: T[], n: number | undefined): T[] {
  if (n === undefined || n >= list.length) return list
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!)
}

/** A fresh copy of the project at `at` (sources and what the build put in the tree), node_modules linked. */
export function makeSandbox(at = sandbox): void {
  rmSync(at, { recursive: true, force: true })
  const skip = new Set(['node_modules', '.git', 'target', '.tmp', '.stryker-tmp'])
  for (const entry of readdirSync(root)) {
    if (skip.has(entry)) continue
    cpSync(join(root, entry), join(at, entry), { recursive: true, filter: (src) => !src.startsWith(join(root, 'bench', 'node_modules')) })
  }
  // The tests that drop privileges run the helper and sh from here as another user.
  for (const d of [join(root, '.tmp'), cacheDir, at]) chmodSync(d, 0o755)
  symlinkSync(join(root, 'node_modules'), join(at, 'node_modules'), 'dir')
  // Bun and Deno come with the benchmark's tools: bun.test.ts and deno.test.ts run them.
  if (existsSync(join(root, 'bench', 'node_modules'))) symlinkSync(join(root, 'bench', 'node_modules'), join(at, 'bench', 'node_modules'), 'dir')
}

function newest(paths: string[]): string | undefined {
  return paths.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
}

export function run(command: string, args: string[], env: Record<string, string>, timeoutMs: number, cwd = sandbox, log?: string): Promise<number | null> {
  return new Promise((resolve) => {
    const out = log === undefined ? 'ignore' : openSync(log, 'w')
    const child = spawn(command, args, { cwd, stdio: ['ignore', out, out], env: { ...process.env, ...env }, detached: true })
    if (typeof out === 'number') closeSync(out)
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, timeoutMs)
    current = kill
    child.on('exit', (code) => {
      clearTimeout(timer)
      kill() // what the tests left in the group
      current = null
      resolve(timedOut ? null : code)
    })
  })
}
let current: (() => void) | null = null

/**
 * Builds the .node and helper of the sandbox `at` (default: the mutants'), with the fast profile,
 * into `target`; whether it built. `rustflags` go to the crates built for the target only (with
 * them, cargo is given the host's triple, so build scripts and proc macros are built without).
 */
export async function build({ at = sandbox, target = targetDir, rustflags }: { at?: string; target?: string; rustflags?: string } = {}): Promise<boolean> {
  const triple = 'x86_64-unknown-linux-gnu'
  const code = await run(
    'cargo',
    ['build', '--release', '--lib', '--quiet', ...(rustflags ? ['--target', triple] : [])],
    {
      CARGO_TARGET_DIR: target,
      CARGO_PROFILE_RELEASE_LTO: 'false',
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16',
      CARGO_PROFILE_RELEASE_OPT_LEVEL: '1',
      CARGO_PROFILE_RELEASE_STRIP: 'none',
      CARGO_PROFILE_RELEASE_INCREMENTAL: 'true',
      ...(rustflags ? { RUSTFLAGS: rustflags } : {}),
    },
    20 * 60_000,
    at,
  )
  if (code !== 0) return false
  const out = join(target, ...(rustflags ? [triple] : []), 'release')
  copyFileSync(join(out, 'libpidfd.so'), join(at, 'pidfd.linux-x64-gnu.node'))
  const buildDir = join(out, 'build')
  const helper = newest(
    readdirSync(buildDir)
      .filter((d) => d.startsWith('pidfd-'))
      .map((d) => join(buildDir, d, 'out', 'pidfd-helper'))
      .filter((f) => existsSync(f)),
  )
  if (helper) copyFileSync(helper, join(at, 'pidfd-helper'))
  return true
}

/** native-map.json's tests for `file`, written by hand, and those whose runs coverage cannot see. */
function handTestsFor(file: string): { hand: string[]; unseen: string[] } {
  const map = JSON.parse(readFileSync(join(root, 'scripts', 'mutants', 'native-map.json'), 'utf8')) as {
    default: string[]
    files: Record<string, string[]>
    unseen?: Record<string, string[]>
  }
  const unseen = Object.entries(map.unseen ?? {})
    .filter(([, files]) => files.includes(file))
    .map(([test]) => test)
  return { hand: map.files[file] ?? map.default, unseen }
}

/** ava's output of the last run (what killed a mutant: its failing tests are kept in the result). */
const AVA_LOG = join(dir, 'ava.log')

async function ava(tests: string[], timeoutMs: number): Promise<number | null> {
  const [command, ...args] = ISOLATE
  return run(command!, [...args, process.execPath, join(root, 'node_modules', 'ava', 'entrypoints', 'cli.js'), '--fail-fast', ...tests], {}, timeoutMs, sandbox, AVA_LOG)
}

/** The tests the last run failed, as ava names them (at most 3). */
function failedTests(): string[] {
  const text = existsSync(AVA_LOG) ? readFileSync(AVA_LOG, 'utf8') : ''
  return [...new Set(text.split('\n').filter((l) => l.includes('✘')).map((l) => l.trim().slice(0, 200)))].slice(0, 3)
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      kind: { type: 'string', default: 'rust' },
      budget: { type: 'string' },
      sample: { type: 'string' },
      list: { type: 'boolean', default: false },
      'max-test-seconds': { type: 'string', default: '90' },
      'by-hand': { type: 'boolean', default: false },
      from: { type: 'string' },
    },
  })
  const coverage = values['by-hand'] ? null : readNativeCoverage()
  const mapSeconds = (test: string) => coverage?.tests[test]?.seconds ?? 10
  const until = deadline(values.budget)
  const all =
    values.kind === 'c'
      ? readdirSync(join(root, 'helper')).filter((f) => f.endsWith('.c')).map((f) => `helper/${f}`)
      : readdirSync(join(root, 'src')).filter((f) => f.endsWith('.rs')).map((f) => `src/${f}`)
  const files = positionals.length > 0 ? positionals : all.sort()
  const results = readResults()
  const save = () => writeFileSync(RESULTS_PATH, JSON.stringify(results, null, 1) + '\n')

  let sandboxReady = false
  let restore: (() => void) | null = null
  const onSignal = () => {
    current?.()
    restore?.()
    process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  for (const file of files) {
    const original = readFileSync(join(root, file), 'utf8')
    const key = `${file}@${createHash('sha256').update(original).digest('hex').slice(0, 16)}`
    const done = (results[key] ??= {})
    const generated = mutantsOf(file)
    const from = values.from === undefined ? 0 : Number(values.from)
    const chosen = sample(
      generated.filter((m) => m.line >= from),
      values.sample === undefined ? undefined : Number(values.sample),
    )
    const todo = chosen.filter((m) => !done[m.id])
    const { hand, unseen } = handTestsFor(file)
    const plan = new Map(todo.concat(values.list ? chosen : []).map((m) => [m.id, testsForLine(coverage, file, m.line, hand, Number(values['max-test-seconds']), unseen)]))
    const union = [...new Set([...plan.values()].flatMap((p) => p.tests))]
    const byCoverage = todo.filter((m) => plan.get(m.id)!.by === 'coverage').length
    console.log(
      `${file}: ${generated.length} generated, ${chosen.length} chosen, ${todo.length} to run; ${byCoverage} by coverage, ${todo.length - byCoverage} by native-map.json; ${union.length} test files in all: ${union.join(' ')}`,
    )
    if (values.list) {
      for (const m of chosen) {
        const p = plan.get(m.id)!
        console.log(`  ${(done[m.id]?.status ?? 'to do').padEnd(8)} ${m.id}
             ${p.by}: ${p.tests.join(' ')}${p.left.length ? ` (left out: ${p.left.length})` : ''}`)
      }
      continue
    }
    if (todo.length === 0) continue
    if (Date.now() >= until) break
    if (!sandboxReady) {
      makeSandbox()
      sandboxReady = true
    }
    const path = join(sandbox, file)
    writeFileSync(path, original)
    // The unmutated build and run: the tests must pass, and their time sets the timeout.
    let started = Date.now()
    if (!(await build())) throw new Error('the unmutated sandbox does not build')
    console.log(`  unmutated build: ${Math.round((Date.now() - started) / 1000)} s`)
    started = Date.now()
    const base = await ava(union, 30 * 60_000)
    const baseSeconds = (Date.now() - started) / 1000
    console.log(`  unmutated tests: exit ${base}, ${Math.round(baseSeconds)} s`)
    if (base !== 0) {
      console.log(`  the tests fail unmutated: ${file} skipped`)
      continue
    }
    // A mutant's timeout: 3 times its tests' share of the unmutated run, and 30 s.
    const unionSeconds = union.reduce((n, t) => n + mapSeconds(t), 0)
    const timeoutFor = (tests: string[]) => (3 * baseSeconds * (tests.reduce((n, t) => n + mapSeconds(t), 0) / unionSeconds) + 30) * 1000
    for (const m of todo) {
      if (Date.now() >= until) {
        console.log('budget spent')
        break
      }
      const { tests: first, by, left } = plan.get(m.id)!
      let tests = first
      const mutated = m.apply(original)
      started = Date.now()
      let status: NativeResult['status']
      let failed: string[] | undefined
      if (mutated === null || mutated === original) status = 'unviable'
      else {
        restore = () => writeFileSync(path, original)
        try {
          writeFileSync(path, mutated)
          if (!(await build())) status = 'unviable'
          else {
            let code = await ava(tests, timeoutFor(tests))
            // A survivor of the tests within the time faces the rest of those that ran its
            // function too: only survivors pay for them, and a survivor is what a person reads.
            if (code === 0 && left.length > 0) {
              tests = [...first, ...left]
              code = await ava(left, timeoutFor(left))
            }
            status = code === null ? 'timeout' : code === 0 ? 'survived' : 'killed'
            if (status === 'killed') failed = failedTests()
          }
        } finally {
          restore()
          restore = null
        }
      }
      const seconds = Math.round((Date.now() - started) / 100) / 10
      done[m.id] = { file, line: m.line, description: m.description, status, seconds, tests, by, ...(failed ? { failed } : {}) }
      save()
      console.log(`  ${status.padEnd(8)} ${seconds.toFixed(0).padStart(4)} s  ${m.id}${failed?.length ? `\n             by ${failed.join('\n                ')}` : ''}`)
    }
  }
  // Leave the sandbox built unmutated, so its .node matches the sources.
  if (sandboxReady) await build()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()

// Which tests run which functions of src/, measured: the .node built with `-C instrument-coverage`
// in a copy of the project (.tmp/mutants/coverage-sandbox), each ava test file run once against
// it with LLVM_PROFILE_FILE set (ava's workers and every Node child that loads the .node write
// their counts, merged per test file by the profile runtime: `%4m`), then llvm-cov's function
// records: per test file, the line spans of the src/ functions it ran at least once.
// scripts/mutants/native.ts then gives a mutant the tests that ran the innermost function
// holding its line (testsForLine), where the hand-made native-map.json gave every mutant of a
// file the same few.
//
//   npm run mutants:native-map                     # every __test__/*.test.ts (~10 min)
//   npm run mutants:native-map -- sync exit        # those whose name has these
//
// What it cannot see: code that runs only in a process that never exits through exit(3) (a
// child forked before its exec, a process killed by SIGKILL), and a process that cannot write
// the profile (a test's child running as another user: the profile directory is open to all,
// but the files in it are created by whoever writes first). Such a function shows as run by no
// test, and its mutants get native-map.json's tests. The C helper is not instrumented.
// Needs the llvm-tools of the Rust toolchain (`rustup component add llvm-tools`, done here).
// Writes scripts/mutants/native-coverage.json (merged: a partial run updates only its tests).

import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { cacheDir, root, testFiles } from './common.js'
import { build, makeSandbox, run } from './native.js'
import { NATIVE_COVERAGE_PATH, readNativeCoverage, spanOf, type NativeCoverage } from './native-select.js'

/** The bin directory of the toolchain's llvm-tools, installed where missing. */
function llvmTools(): string {
  const sysroot = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).stdout.trim()
  const host = /^host: (.+)$/m.exec(spawnSync('rustc', ['-vV'], { encoding: 'utf8' }).stdout)![1]!
  const bin = join(sysroot, 'lib', 'rustlib', host, 'bin')
  if (!existsSync(join(bin, 'llvm-cov'))) {
    console.error('== rustup component add llvm-tools (once)')
    const r = spawnSync('rustup', ['component', 'add', 'llvm-tools'], { stdio: 'inherit' })
    if (r.status !== 0 || !existsSync(join(bin, 'llvm-cov'))) throw new Error('rustup component add llvm-tools failed')
  }
  return bin
}

interface LlvmExport {
  data: { functions: { name: string; count: number; regions: number[][]; filenames: string[] }[] }[]
}

/** Per src file, every function's span and those that ran, from an llvm-cov export. */
function functionsOf(exported: LlvmExport, sandbox: string): { all: Record<string, Set<string>>; ran: Record<string, Set<string>> } {
  const all: Record<string, Set<string>> = {}
  const ran: Record<string, Set<string>> = {}
  for (const f of exported.data[0]?.functions ?? []) {
    const path = f.filenames[0] ?? ''
    if (!path.startsWith(join(sandbox, 'src') + '/')) continue
    const file = path.slice(sandbox.length + 1)
    // A region: [first line, column, last line, column, count, file id, expanded id, kind].
    const own = f.regions.filter((r) => r[5] === 0)
    if (own.length === 0) continue
    const span = `${Math.min(...own.map((r) => r[0]!))}-${Math.max(...own.map((r) => r[2]!))}`
    ;(all[file] ??= new Set()).add(span)
    if (f.count > 0) (ran[file] ??= new Set()).add(span)
  }
  return { all, ran }
}

const sorted = (sets: Record<string, Set<string>>): Record<string, string[]> =>
  Object.fromEntries(
    Object.entries(sets)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([file, spans]) => [file, [...spans].sort((x, y) => spanOf(x)[0] - spanOf(y)[0] || spanOf(x)[1] - spanOf(y)[1])]),
  )

async function main(): Promise<void> {
  const filters = process.argv.slice(2)
  const chosen = testFiles(filters)
  const tools = llvmTools()
  const sandbox = join(cacheDir, 'coverage-sandbox')
  const profiles = join(cacheDir, 'coverage-profiles')
  makeSandbox(sandbox)
  const started = Date.now()
  if (!(await build({ at: sandbox, target: join(cacheDir, 'coverage-target'), rustflags: '-C instrument-coverage' }))) throw new Error('the instrumented build failed')
  console.log(`instrumented build: ${Math.round((Date.now() - started) / 1000)} s`)
  const object = join(sandbox, 'pidfd.linux-x64-gnu.node')
  const cov: NativeCoverage = readNativeCoverage() ?? { functions: {}, tests: {} }
  for (const test of chosen) {
    rmSync(profiles, { recursive: true, force: true })
    mkdirSync(profiles, { recursive: true })
    // Children of tests that run as another user write here too.
    chmodSync(profiles, 0o777)
    const t0 = Date.now()
    const exitCode = await run(
      process.execPath,
      [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.js'), test],
      { LLVM_PROFILE_FILE: join(profiles, '%4m.profraw') },
      15 * 60_000,
      sandbox,
      join(cacheDir, 'coverage-ava.log'),
    )
    const seconds = Math.round((Date.now() - t0) / 100) / 10
    const raw = readdirSync(profiles)
      .filter((f) => f.endsWith('.profraw'))
      .map((f) => join(profiles, f))
    if (raw.length === 0) {
      console.log(`${test}: ${seconds} s, exit ${exitCode}, no profile written`)
      cov.tests[test] = { seconds, exitCode, covers: {} }
      continue
    }
    const merged = join(profiles, 'merged.profdata')
    const m = spawnSync(join(tools, 'llvm-profdata'), ['merge', '-sparse', '-o', merged, ...raw], { encoding: 'utf8' })
    if (m.status !== 0) throw new Error(`llvm-profdata merge: ${m.stderr}`)
    const e = spawnSync(join(tools, 'llvm-cov'), ['export', '--format=text', '--skip-expansions', `--instr-profile=${merged}`, object], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    })
    if (e.status !== 0) throw new Error(`llvm-cov export: ${e.stderr}`)
    const { all: functions, ran } = functionsOf(JSON.parse(e.stdout) as LlvmExport, sandbox)
    cov.functions = sorted(functions)
    cov.tests[test] = { seconds, exitCode, covers: sorted(ran) }
    const count = Object.values(ran).reduce((n, s) => n + s.size, 0)
    console.log(`${test}: ${seconds} s, exit ${exitCode}, ${count} functions of src/ run`)
    cov.tests = Object.fromEntries(Object.entries(cov.tests).sort(([a], [b]) => a.localeCompare(b)))
    writeFileSync(NATIVE_COVERAGE_PATH, JSON.stringify(cov, null, 1) + '\n')
  }
  rmSync(profiles, { recursive: true, force: true })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()

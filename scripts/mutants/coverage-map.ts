// Which test files exercise which source files, measured: runs each ava test file once under
// NODE_V8_COVERAGE (ava's workers and every Node child a test starts inherit it) and records, per
// file of lib/, index.ts and bin/, the test files that ran at least one of its functions beyond
// the module body (loading a module is not covering it: index.ts loads all of lib/), and which.
// scripts/mutants/lib.ts runs only these tests against a file's mutants, those that cover the
// most of its functions first (testsFor).
//
//   node --import tsx scripts/mutants/coverage-map.ts              # every __test__/*.test.ts
//   node --import tsx scripts/mutants/coverage-map.ts signals exit # those whose name has these
//
// The tests need the built JavaScript (`npm run build:ts`) as `npm test` does: children of tests
// require the package's index.js. Writes scripts/mutants/coverage-map.json (merged with what is there: a partial run updates
// only the test files it ran). File level only: V8 reports offsets in tsx's transpiled text, and
// a finer map (line → tests) would need its source maps; a file's mutants all get the same tests.

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

import { root, testFiles } from './common.js'

export const MAP_PATH = join(root, 'scripts', 'mutants', 'coverage-map.json')

export interface CoverageMap {
  /** test file → the seconds it took, and per source file it covers the functions it ran there */
  tests: Record<string, { seconds: number; exitCode: number | null; covers: Record<string, string[]> }>
}

interface V8Coverage {
  result: { url: string; functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[]
}

/**
 * Whether `f` is code of the file that ran, not what tsx's transpiler (esbuild, CommonJS output)
 * or tsc (the built .js: __importStar and its ownKeys) adds and runs at load: the module body and other anonymous functions (a callback of the file's
 * own runs inside a named one), its helpers (__name, __export, ...), the `get` of its export
 * table and the table's getters (`name: () => name`, about the name's length), and V8's class
 * initializers.
 */
function ran(f: V8Coverage['result'][number]['functions'][number]): boolean {
  const range = f.ranges[0]
  if (!range || range.count === 0) return false
  const name = f.functionName
  if (name === '' || name === 'get' || name === 'ownKeys' || name.startsWith('__') || name.startsWith('<')) return false
  return range.endOffset - range.startOffset > name.length + 6
}

/** Per source file (relative to the root), the names of its own functions that ran (methods of
 * the same name in two classes count as one). */
function covered(dir: string): Record<string, string[]> {
  const files: Record<string, Set<string>> = {}
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue
    let data: V8Coverage
    try {
      data = JSON.parse(readFileSync(join(dir, name), 'utf8')) as V8Coverage
    } catch {
      continue
    }
    for (const script of data.result) {
      if (!script.url.startsWith('file://')) continue
      // A file loaded through tsx (the tests' own imports) or built by tsc (the Node children
      // of tests that require the package's index.js): both count for the .ts.
      const path = relative(root, fileURLToPath(script.url)).replace(/\.js$/, '.ts')
      if (!/^(lib\/.*|index|bin\/.*)\.ts$/.test(path)) continue
      for (const f of script.functions) {
        if (ran(f)) (files[path] ??= new Set()).add(f.functionName)
      }
    }
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)).map(([file, names]) => [file, [...names].sort()]))
}

export function readMap(): CoverageMap {
  return existsSync(MAP_PATH) ? (JSON.parse(readFileSync(MAP_PATH, 'utf8')) as CoverageMap) : { tests: {} }
}

/**
 * What NODE_V8_COVERAGE cannot attribute, named by hand and added to what the run measured: the
 * tests that run the package under Deno or Bun (the coverage is Node's), and those that load a
 * copy of it laid out as npm installs it, outside the tree (its URLs are not the tree's files).
 */
const UNSEEN: Record<string, Record<string, string[]>> = {
  // A load refused a permission: load.ts words it, serving.ts throws it rather than fall back.
  '__test__/deno.test.ts': { 'lib/load.ts': ['refusal'], 'lib/serving.ts': ['refusedByDeno', 'served'] },
  // A binary missing, or one that does not load: native.ts says which, and what to do.
  '__test__/loader.test.ts': { 'lib/native.ts': ['libc', 'load', 'version'] },
}

/** `measured` with what `test` covers unseen added. */
function withUnseen(test: string, measured: Record<string, string[]>): Record<string, string[]> {
  const covers = { ...measured }
  for (const [file, functions] of Object.entries(UNSEEN[test] ?? {})) covers[file] = [...new Set([...(covers[file] ?? []), ...functions])].sort()
  return covers
}

/**
 * The test files that cover `file`: `adding`, greedily, the one that runs the most of the file's
 * functions not run by those before it (ties: the faster), until none adds any, so that together
 * they run every function any test runs; then `rest`, the others, those running more of its
 * functions first.
 */
export function testsFor(map: CoverageMap, file: string): { adding: string[]; rest: string[] } {
  const candidates = Object.entries(map.tests).filter(([, t]) => (t.covers[file]?.length ?? 0) > 0)
  const order: string[] = []
  const seen = new Set<string>()
  for (;;) {
    let best: { test: string; gain: number; seconds: number } | null = null
    for (const [test, t] of candidates) {
      if (order.includes(test)) continue
      const gain = t.covers[file]!.filter((f) => !seen.has(f)).length
      if (gain > 0 && (!best || gain > best.gain || (gain === best.gain && t.seconds < best.seconds))) best = { test, gain, seconds: t.seconds }
    }
    if (!best) break
    order.push(best.test)
    for (const f of map.tests[best.test]!.covers[file]!) seen.add(f)
  }
  // The others: those that run more of the file's functions first (a test that only calls one
  // helper of it kills few of its mutants), then the quicker.
  const rest = candidates
    .filter(([test]) => !order.includes(test))
    .sort(([, a], [, b]) => b.covers[file]!.length - a.covers[file]!.length || a.seconds - b.seconds)
  return { adding: order, rest: rest.map(([test]) => test) }
}

/** Runs ava on `tests` with `env` added; the exit code (null: killed, timed out). Ends the run
 * (its whole process group) with this process. */
export function runAva(tests: string[], env: Record<string, string>, timeoutMs: number, extra: string[] = []): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.js'), ...extra, ...tests], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, ...env },
      detached: true,
    })
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }
    const timer = setTimeout(kill, timeoutMs)
    const onExit = () => {
      kill()
      process.exit(143)
    }
    process.once('SIGTERM', onExit)
    process.once('SIGINT', onExit)
    child.on('exit', (code) => {
      clearTimeout(timer)
      process.off('SIGTERM', onExit)
      process.off('SIGINT', onExit)
      kill() // what the tests left behind in the group
      resolve(code)
    })
  })
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2)
  const chosen = testFiles(filters)
  const map = readMap()
  for (const test of chosen) {
    const dir = mkdtempSync(join(tmpdir(), 'pidfd-cov-'))
    const started = Date.now()
    const exitCode = await runAva([test], { NODE_V8_COVERAGE: dir }, 15 * 60_000)
    const seconds = Math.round((Date.now() - started) / 100) / 10
    const covers = withUnseen(test, covered(dir))
    rmSync(dir, { recursive: true, force: true })
    map.tests[test] = { seconds, exitCode, covers }
    console.log(`${test}: ${seconds} s, exit ${exitCode}, ${Object.keys(covers).length} files`)
    writeFileSync(MAP_PATH, JSON.stringify(map, null, 2) + '\n')
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()

// Generated mutants for lib/ (StrykerJS, stryker.config.mjs), one piece of one file at a time:
//
//   npm run mutants:lib                          # every file of lib/, until done
//   npm run mutants:lib -- --budget 30           # stop starting pieces after 30 minutes
//   npm run mutants:lib -- lib/signals.ts exit   # the files whose path contains these
//   npm run mutants:lib -- --max-test-seconds 120 --force --list
//   npm run mutants:lib -- lib/subprocess.ts --from 660  # only its pieces that reach line 660 or later
//   npm run mutants:lib -- lib/ipc.ts --lines 470-763     # only these lines (a piece cut to them)
//   npm run mutants:lib -- lib/ipc.ts --lines 470-763 --resume  # go on from where a stopped run ended
//
// Pieces: a file's top-level statements, grouped up to PIECE_LINES lines (a mutant never spans
// two, so none is lost at a boundary; a class longer than that is one piece). A piece whose text
// and tests have not changed since its last complete run is not run again (--force runs it).
// One whose code changed, or that was stopped before its end, runs with Stryker's --incremental,
// which reuses the results of the mutants whose code is the same (Stryker saves what it finished
// when stopped); one whose tests changed (which tests, or their text) runs whole, unless --resume
// says to go on from a stopped run's results anyway (tests that only grew since: what they
// killed stays killed, and its survivors were sorted by hand against the new tests). The budget is
// checked between pieces, and a piece still running when it is spent is stopped.
//
// Tests per file: those that ran any of its functions (scripts/mutants/coverage-map.json, from
// coverage-map.ts): always those that together run every function of it any test runs, then
// others as fit in --max-test-seconds (default 60) of their unmutated time; the rest are named
// in the output and the report, since a survivor may be killed by one of them.
//
// Reports: .tmp/mutants/lib/<piece>.json (Stryker's JSON, mutation-testing-report-schema);
// `node --import tsx scripts/mutants/report.ts` sums them up for docs/mutants.md.

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import ts from 'typescript'

import { cacheDir, deadline, root } from './common.js'
import { readMap, testsFor } from './coverage-map.js'

const PIECE_LINES = 60

export interface Piece {
  file: string
  from: number
  to: number
  name: string
}

/** The source files of lib/, as Stryker would mutate them. */
export function libFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(`${dir}/${d.name}`) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [`${dir}/${d.name}`] : [],
    )
  return walk('lib').sort()
}

export function pieces(file: string): Piece[] {
  const text = readFileSync(join(root, file), 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true)
  const line = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1
  const out: Piece[] = []
  let current: { from: number; to: number } | null = null
  for (const statement of source.statements) {
    const from = line(statement.getStart(source))
    const to = line(statement.getEnd())
    if (current && to - current.from + 1 <= PIECE_LINES) current.to = to
    else {
      if (current) out.push({ file, ...current, name: '' })
      current = { from, to }
    }
  }
  if (current) out.push({ file, ...current, name: '' })
  return out.map((p) => ({ ...p, name: out.length === 1 ? slugOf(file) : `${slugOf(file)}@${p.from}-${p.to}` }))
}

/** `piece` cut to the lines `range` ("A-B") names, as a piece of its own (null if they miss it);
 * for a class too long to finish in one budget: its later lines can run on their own. */
export function narrowed(piece: Piece, range: string | undefined): Piece | null {
  if (range === undefined) return piece
  const m = /^(\d+)-(\d+)$/.exec(range)
  if (!m) throw new Error(`--lines takes A-B (line numbers), not ${range}`)
  const from = Math.max(piece.from, Number(m[1]))
  const to = Math.min(piece.to, Number(m[2]))
  if (from > to) return null
  if (from === piece.from && to === piece.to) return piece
  return { file: piece.file, from, to, name: `${slugOf(piece.file)}@${from}-${to}` }
}

/** A file's path as the start of its pieces' report names. */
const slugOf = (file: string): string => file.replace(/[/.]/g, '_')

/** The tests for `file`: all that add coverage (testsFor), then the others that fit in
 * `maxSeconds` with them; and those left out. */
export function chooseTests(file: string, maxSeconds: number): { run: string[]; left: string[] } {
  const map = readMap()
  const { adding, rest } = testsFor(map, file)
  const run = [...adding]
  let spent = adding.reduce((sum, t) => sum + map.tests[t]!.seconds, 0)
  for (const test of rest) {
    const seconds = map.tests[test]!.seconds
    if (spent + seconds > maxSeconds) continue
    run.push(test)
    spent += seconds
  }
  return { run, left: rest.filter((t) => !run.includes(t)) }
}

const dir = join(cacheDir, 'lib')
mkdirSync(dir, { recursive: true })

function stryker(piece: Piece, tests: string[], force: boolean, until: number): Promise<number | null> {
  return new Promise((resolve) => {
    const args = [join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run', ...(force ? ['--force'] : [])]
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: 'inherit',
      detached: true,
      env: {
        ...process.env,
        PIDFD_STRYKER_MUTATE: `${piece.file}:${piece.from}-${piece.to}`,
        PIDFD_STRYKER_TESTS: tests.join(' '),
        PIDFD_STRYKER_NAME: piece.name,
      },
    })
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {}
    }
    const timer = Number.isFinite(until) ? setTimeout(stop, Math.max(0, until - Date.now())) : null
    const onSignal = () => {
      stop()
      process.exit(130)
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(code)
    })
  })
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      budget: { type: 'string' },
      'max-test-seconds': { type: 'string', default: '60' },
      force: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      from: { type: 'string' },
      lines: { type: 'string' },
      resume: { type: 'boolean', default: false },
    },
  })
  const until = deadline(values.budget)
  const files = libFiles().filter((f) => positionals.length === 0 || positionals.some((p) => f.includes(p)))
  for (const file of files) {
    const tests = chooseTests(file, Number(values['max-test-seconds']))
    for (const full of pieces(file)) {
      if (values.from !== undefined && full.to < Number(values.from)) continue
      const piece = narrowed(full, values.lines)
      if (piece === null) continue
      const text = readFileSync(join(root, file), 'utf8').split('\n').slice(piece.from - 1, piece.to).join('\n')
      const srcHash = createHash('sha256').update(text).digest('hex').slice(0, 16)
      const testsHash = createHash('sha256')
        .update(tests.run.join(' '))
        .update(['__test__/helpers.ts', ...tests.run].map((t) => readFileSync(join(root, t), 'utf8')).join('\0'))
        .digest('hex')
        .slice(0, 16)
      const metaPath = join(dir, `${piece.name}.meta.json`)
      const meta = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as { srcHash?: string; testsHash?: string; complete?: boolean }) : null
      const done = meta?.complete === true && meta.srcHash === srcHash && meta.testsHash === testsHash
      // Stryker's incremental mode cannot see the command runner's tests: its results carry over
      // only while the tests are the same ones, unchanged; else every mutant runs again (unless
      // --resume says the old results stand).
      const force = values.force || (!values.resume && meta?.testsHash !== testsHash)
      const line = `${piece.file}:${piece.from}-${piece.to}  tests: ${tests.run.join(' ') || '(none cover it)'}${tests.left.length ? `  left out: ${tests.left.length}` : ''}`
      if (values.list) {
        console.log(`${done ? 'done ' : 'to do'} ${line}`)
        continue
      }
      if (done && !values.force) continue
      if (Date.now() >= until) {
        console.log(`budget spent; next time from ${piece.file}:${piece.from}`)
        return
      }
      if (tests.run.length === 0) {
        writeFileSync(metaPath, JSON.stringify({ srcHash, testsHash, complete: true, tests: [], left: [], noTests: true, seconds: 0 }, null, 2))
        console.log(`no test covers ${file}: its mutants all survive (no coverage)`)
        continue
      }
      console.log(`\n== ${line}`)
      // A run stopped while Stryker wrote its incremental file leaves it cut short: start over.
      const incremental = join(dir, `${piece.name}.incremental.json`)
      let whole = force
      try {
        if (existsSync(incremental)) JSON.parse(readFileSync(incremental, 'utf8'))
      } catch {
        rmSync(incremental)
        whole = true
      }
      // Written before the run: Stryker saves a partial incremental file when it is stopped (the
      // budget), and the next run goes on from it if the tests are still these.
      writeFileSync(metaPath, JSON.stringify({ srcHash, testsHash, complete: false }, null, 2))
      const started = Date.now()
      const code = await stryker(piece, tests.run, whole, until)
      const seconds = Math.round((Date.now() - started) / 1000)
      if (code === 0) {
        writeFileSync(metaPath, JSON.stringify({ srcHash, testsHash, complete: true, tests: tests.run, left: tests.left, seconds }, null, 2))
      } else {
        console.log(`stryker ended with ${code} after ${seconds} s (${Date.now() >= until ? 'budget spent' : 'failed'}); not recorded`)
        if (Date.now() >= until) return
      }
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()

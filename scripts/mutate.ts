// The mutation run: breaks the code on purpose, one small realistic change at a time, rebuilds,
// runs the tests that should notice, and reports which changes they missed.
//
//   npm run mutate                      # every mutation in scripts/mutations.ts
//   npm run mutate -- --only src/helper # those whose file path contains this (comma-separated: any)
//   npm run mutate -- --why cgroup      # those whose reason contains this (comma-separated: any)
//   npm run mutate -- --list            # the list, without running it
//
// A mutation whose text no longer appears exactly once in its file is reported as stale (the
// list needs updating), one that does not compile as unviable; neither counts in the score.
// Not part of CI: a full run takes about as long as 50 builds and test runs. See CONTRIBUTING.md.

import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { mutations, type Mutation } from './mutations.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { only: { type: 'string' }, why: { type: 'string' }, list: { type: 'boolean', default: false } } })
const only = values.only?.split(',').filter(Boolean)
const why = values.why?.split(',').filter(Boolean)
const chosen = mutations.filter((m) => (!only || only.some((part) => m.file.includes(part))) && (!why || why.some((part) => m.why.includes(part))))

if (values.list) {
  for (const m of chosen) console.log(`${m.file}: ${m.why}  [${m.tests.join(' ')}]`)
  process.exit(0)
}

type Outcome = 'killed' | 'survived' | 'unviable' | 'stale'

function run(command: string, args: string[], timeoutMs: number): number | null {
  const r = spawnSync(command, args, { cwd: root, stdio: 'ignore', timeout: timeoutMs })
  return r.status
}

function build(file: string): boolean {
  const native = file.startsWith('src/') || file.startsWith('helper/') || file === 'build.rs'
  return run('npm', ['run', native ? 'build' : 'build:ts'], 600_000) === 0
}

/** The tests as ava takes them: files, and `--match` for the entries that are titles. */
function avaArgs(tests: string[]): string[] {
  const files = tests.filter((t) => t.endsWith('.ts'))
  const matches = tests.filter((t) => !t.endsWith('.ts')).flatMap((t) => ['--match', t])
  return [join('node_modules', 'ava', 'entrypoints', 'cli.js'), ...files, ...matches]
}

let current: { path: string; original: string } | null = null
const restore = () => {
  if (current) writeFileSync(current.path, current.original)
  current = null
}
process.on('SIGINT', () => {
  restore()
  process.exit(130)
})

function mutate(m: Mutation): Outcome {
  const path = join(root, m.file)
  const original = readFileSync(path, 'utf8')
  if (original.split(m.find).length !== 2) return 'stale'
  current = { path, original }
  try {
    writeFileSync(path, original.replace(m.find, m.replace))
    if (!build(m.file)) return 'unviable'
    const kernels = m.tests.filter((t) => t.startsWith('kernel:')).map((t) => t.slice('kernel:'.length))
    const tests = m.tests.filter((t) => !t.startsWith('kernel:'))
    if (tests.length > 0 && run(process.execPath, avaArgs(tests), 900_000) !== 0) return 'killed'
    if (kernels.length > 0 && run('bash', ['scripts/kernel-matrix.sh', ...kernels], 900_000) !== 0) return 'killed'
    return 'survived'
  } finally {
    restore()
  }
}

const results: Array<{ m: Mutation; outcome: Outcome }> = []
for (const [i, m] of chosen.entries()) {
  const started = Date.now()
  const outcome = mutate(m)
  results.push({ m, outcome })
  console.log(`${String(i + 1).padStart(3)}/${chosen.length} ${outcome.padEnd(8)} ${m.file}: ${m.why} (${Math.round((Date.now() - started) / 1000)} s)`)
}
// Leave the build as the sources are.
build('src/')

const byFile = new Map<string, { killed: number; survived: number }>()
for (const { m, outcome } of results) {
  if (outcome !== 'killed' && outcome !== 'survived') continue
  const f = byFile.get(m.file) ?? { killed: 0, survived: 0 }
  f[outcome]++
  byFile.set(m.file, f)
}
console.log('\nfile                          killed / scored')
let killed = 0
let scored = 0
for (const [file, f] of [...byFile].sort()) {
  killed += f.killed
  scored += f.killed + f.survived
  console.log(`${file.padEnd(30)}${String(f.killed).padStart(6)} / ${f.killed + f.survived}  ${Math.round((100 * f.killed) / (f.killed + f.survived))}%`)
}
for (const { m, outcome } of results.filter((r) => r.outcome !== 'killed')) console.log(`${outcome}: ${m.file}: ${m.why}`)
console.log(`\nmutation score: ${killed} of ${scored} killed (${scored ? Math.round((100 * killed) / scored) : 0}%)`)
process.exit(killed === scored ? 0 : 1)

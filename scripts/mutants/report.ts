// Sums up the generated-mutant runs (.tmp/mutants/) for docs/mutants.md: per file, the mutants
// generated, run, killed (timeouts apart), survived, without a test; the kill rate; every
// survivor with its place and change; and the files not run yet, with how many mutants wait.
// Writes .tmp/mutants/report.json (the same, as data) and prints the tables in Markdown. It sees
// only this machine's runs (.tmp/ is not committed), so it does not write
// docs/mutants-results.json, the record of every session's runs: that is merged by hand (until
// 5 December it overwrote it, and a session's report lost the earlier sessions' rows).
//
//   node --import tsx scripts/mutants/report.ts

import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { cMutants } from './c-mutants.js'
import { cacheDir, cargoMutants, root } from './common.js'
import { libFiles, pieces } from './lib.js'
import { readResults } from './native.js'

interface Row {
  file: string
  tool: string
  generated: number | null
  run: number
  killed: number
  timeout: number
  survived: number
  noCoverage: number
  notCounted: number
  tests: string[]
  testsLeftOut: number
}
interface Survivor {
  file: string
  line: number
  mutation: string
  status: 'survived' | 'no coverage'
}

interface StrykerReport {
  files: Record<string, { source: string; mutants: { mutatorName: string; replacement?: string; status: string; location: { start: { line: number; column: number }; end: { line: number; column: number } } }[] }>
}

const rows: Row[] = []
const survivors: Survivor[] = []

// lib/: the reports of the pieces that finished (a .meta.json beside them).
const libDir = join(cacheDir, 'lib')
const libRows = new Map<string, Row>()
const currentPieces = new Set(libFiles().flatMap((f) => pieces(f).map((p) => p.name)))
for (const name of existsSync(libDir) ? readdirSync(libDir) : []) {
  if (!name.endsWith('.meta.json')) continue
  const piece = name.slice(0, -'.meta.json'.length)
  if (!currentPieces.has(piece)) continue // a report of pieces cut otherwise before
  const meta = JSON.parse(readFileSync(join(libDir, name), 'utf8')) as { tests: string[]; left: string[]; complete?: boolean }
  if (!meta.complete) continue
  const reportPath = join(libDir, `${piece}.json`)
  if (!existsSync(reportPath)) continue
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as StrykerReport
  for (const [file, data] of Object.entries(report.files)) {
    const row = libRows.get(file) ?? { file, tool: 'StrykerJS', generated: 0, run: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, notCounted: 0, tests: meta.tests, testsLeftOut: meta.left.length }
    libRows.set(file, row)
    const lines = data.source.split('\n')
    for (const m of data.mutants) {
      row.generated!++
      const original = lines[m.location.start.line - 1]?.trim() ?? ''
      const mutation = `${m.mutatorName}: \`${original.slice(0, 90)}\` → \`${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 90)}\``
      if (m.status === 'Killed') (row.run++, row.killed++)
      else if (m.status === 'Timeout') (row.run++, row.timeout++)
      else if (m.status === 'Survived') {
        row.run++
        row.survived++
        survivors.push({ file, line: m.location.start.line, mutation, status: 'survived' })
      } else if (m.status === 'NoCoverage') {
        row.noCoverage++
        survivors.push({ file, line: m.location.start.line, mutation, status: 'no coverage' })
      } else row.notCounted++ // CompileError (the checker refused it), RuntimeError, Ignored
    }
  }
}
rows.push(...libRows.values())

// src/ and helper/: the results of the file as it is now.
const native = readResults()
const currentKey = (file: string) => Object.keys(native).find((k) => k.startsWith(`${file}@`) && Object.values(native[k]!).length > 0)
const rustCounts = new Map<string, number>()
if (Object.keys(native).length > 0) {
  const r = spawnSync(cargoMutants(), ['mutants', '--list'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 })
  for (const line of r.stdout.split('\n')) {
    const file = line.split(':')[0]
    if (file) rustCounts.set(file, (rustCounts.get(file) ?? 0) + 1)
  }
}
const cFiles = readdirSync(join(root, 'helper')).filter((f) => f.endsWith('.c')).map((f) => `helper/${f}`)
const cCounts = new Map(cFiles.map((f) => [f, cMutants(f, readFileSync(join(root, f), 'utf8')).length]))
for (const [file, generated] of [...rustCounts, ...cCounts]) {
  const key = currentKey(file)
  if (!key) continue
  const results = Object.values(native[key]!)
  const row: Row = { file, tool: file.endsWith('.rs') ? 'cargo-mutants' : 'c-mutants.ts', generated, run: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, notCounted: 0, tests: results[0]!.tests, testsLeftOut: 0 }
  for (const m of results) {
    if (m.status === 'unviable') row.notCounted++
    else row.run++
    if (m.status === 'killed') row.killed++
    if (m.status === 'timeout') row.timeout++
    if (m.status === 'survived') {
      row.survived++
      survivors.push({ file, line: m.line, mutation: m.description, status: 'survived' })
    }
  }
  rows.push(row)
}

const ran = new Set(rows.map((r) => r.file))
const notRun = [
  ...libFiles().filter((f) => !ran.has(f)).map((f) => ({ file: f, generated: null as number | null })),
  ...[...rustCounts, ...cCounts].filter(([f]) => !ran.has(f)).map(([file, generated]) => ({ file, generated })),
]

writeFileSync(join(cacheDir, 'report.json'), JSON.stringify({ rows, survivors, notRun }, null, 1) + '\n')

const rate = (r: Row) => {
  const counted = r.killed + r.timeout + r.survived + r.noCoverage
  return counted === 0 ? '–' : `${Math.round((100 * (r.killed + r.timeout)) / counted)}%`
}
console.log('| file | generator | generated | run | killed | timeout | survived | no coverage | not counted | kill rate |')
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of rows) {
  console.log(`| \`${r.file}\` | ${r.tool} | ${r.generated} | ${r.run} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.notCounted} | ${rate(r)} |`)
}
console.log('\nSurvivors:\n')
for (const s of survivors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)) console.log(`- \`${s.file}:${s.line}\` ${s.status === 'no coverage' ? '(no coverage) ' : ''}${s.mutation}`)
console.log('\nNot run yet:\n')
for (const n of notRun) console.log(`- \`${n.file}\`${n.generated === null ? '' : ` (${n.generated} generated)`}`)

// The report of `pidfd time`: text for people, JSON for tools, markdown for CI summaries.

import type { CgroupStats } from '../cgroup.js'
import type { ExitInfo, ResourceUsage } from '../exit.js'
import type { Leftover } from '../tree.js'
import type { TraceSummary } from './trace.js'
import { count, kib, millis } from './units.js'

export interface Breach {
  budget: 'max-rss' | 'max-cpu'
  /** KiB for max-rss, milliseconds for max-cpu. */
  limit: number
  actual: number
}

export interface Report extends ExitInfo {
  command: string[]
  wallTimeMs: number
  timedOut: boolean
  breaches: Breach[]
  /** With --trace: the children the command's Node processes started, summed up. */
  trace?: TraceSummary
  /** The command and every orphan of it reaped here: times summed, the largest peak. */
  tree?: { processes: number; rusage: ResourceUsage }
  /** Descendants still running when the command exited. */
  leftovers?: Leftover[]
  /** What was done with them. */
  leftoversAction?: 'report' | 'kill' | 'wait'
  /** --runs, --warmup: the pids the runs before the last left running, still running when the last one ended. */
  earlierLeftovers?: number[]
  /** The cgroup the command ran in (--cgroup), or why it ran in none. */
  cgroup?: CgroupReport
  /** Which method measured each figure of the tree, and why a better one was missing. */
  methods?: Methods
  /** --runs: the measured runs' spread; the rest of the report is the last run's. */
  runs?: {
    count: number
    warmup: number
    wallTimeMs: Spread
    cpuMs: Spread
    maxRSSKiB: Spread
  }
}

export interface CgroupReport {
  /** Its directory; null when the command ran in none (`why` says why). */
  path: string | null
  /** How the command went into it. */
  via: 'CLONE_INTO_CGROUP' | 'cgroup.procs' | null
  /** Why there was none: --cgroup off, not writable, no cgroup v2, the spawn helper cannot run. */
  why: string | null
  /** Its figures, read when the tree was done (null without a cgroup). */
  stats: CgroupStats | null
  /** Whether it was removed at the end. */
  removed: boolean
  /** Leftovers still running, moved to pidfd's own cgroup so it could be removed. */
  movedOut: { to: string; pids: number[] } | null
}

/** How each figure of the tree was measured (a sentence each, with the reason for a fallback). */
export interface Methods {
  peakMemory: string
  cpu: string
  processes: string
  /** How pidfd knew the tree was empty. */
  end: string
  /** How --timeout ends the tree (with --timeout only). */
  timeout?: string
}

export interface Spread {
  min: number
  median: number
  max: number
}

export const RUSAGE_NOTE = 'rusage covers the command and the descendants it waited for'

function quote(arg: string): string {
  return /^[\w./=:,@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`
}

export function commandLine(command: string[]): string {
  return command.map(quote).join(' ')
}

function ending(r: Report): string {
  if (r.status === 'exited') return `exited ${r.code}`
  if (r.status === 'signaled') return `killed by ${r.signal ?? `signal ${r.signalNumber}`}${r.coreDumped ? ' (core dumped)' : ''}`
  return 'ended (status unknown)'
}

function breachLine(b: Breach): string {
  return b.budget === 'max-rss'
    ? `max-rss exceeded: peak RSS ${kib(b.actual)} is ${kib(b.actual - b.limit)} over ${kib(b.limit)}`
    : `max-cpu exceeded: CPU time ${millis(b.actual)} is ${millis(b.actual - b.limit)} over ${millis(b.limit)}`
}

function runsLine(r: NonNullable<Report['runs']>): string {
  const s = (x: Spread, f: (n: number) => string) => `${f(x.min)} / ${f(x.median)} / ${f(x.max)}`
  const warm = r.warmup > 0 ? ` after ${r.warmup} warm-up${r.warmup === 1 ? '' : 's'}` : ''
  return `${r.count} runs${warm} (min / median / max): wall ${s(r.wallTimeMs, millis)} · CPU ${s(r.cpuMs, millis)} · peak RSS ${s(r.maxRSSKiB, kib)}`
}

export function text(r: Report): string {
  const u = r.rusage!
  const lines = [
    `pidfd time: ${commandLine(r.command)}`,
    ...(r.runs ? [`  ${runsLine(r.runs)}`, '  the last run:'] : []),
    `  ${ending(r)}${r.timedOut ? ' after the --timeout' : ''} · wall ${millis(r.wallTimeMs)} · user ${millis(u.userCPUTime / 1000)} · system ${millis(u.systemCPUTime / 1000)}`,
    `  peak RSS ${kib(u.maxRSS)} · page faults ${count(u.minorPageFault)} minor, ${count(u.majorPageFault)} major`,
    `  context switches ${count(u.voluntaryContextSwitches)} voluntary, ${count(u.involuntaryContextSwitches)} involuntary · fs ${count(u.fsRead)} reads, ${count(u.fsWrite)} writes (512-byte blocks)`,
    ...treeText(r),
    ...cgroupText(r),
    ...r.breaches.map((b) => `  BUDGET ${breachLine(b)}`),
    `  (${RUSAGE_NOTE})`,
    ...(r.trace ? traceText(r.trace) : []),
  ]
  return lines.join('\n') + '\n'
}

const DONE = { report: 'still running', kill: 'killed', wait: 'waited for' } as const

/** What became of the leftovers: per --leftovers, unless the timeout ended them all. */
function leftDone(r: Report): string {
  return r.timedOut ? 'ended by the --timeout' : DONE[r.leftoversAction ?? 'report']
}

function earlierLine(pids: number[]): string {
  return `${pids.length} process${pids.length === 1 ? '' : 'es'}, pid ${pids.join(' ')}`
}

function leftoverLine(l: Leftover): string {
  return `pid ${l.pid}, ${millis(l.ageMs)} old${l.rssKiB === null ? '' : `, ${kib(l.rssKiB)}`}: ${commandLine(l.command)}`
}

/** The tree's figures, where orphans were reaped here, and the leftovers. */
function treeText(r: Report): string[] {
  const lines: string[] = []
  if (r.tree && r.tree.processes > 1) {
    const u = r.tree.rusage
    const n = r.tree.processes - 1
    lines.push(`  tree: user ${millis(u.userCPUTime / 1000)} · system ${millis(u.systemCPUTime / 1000)} · largest peak RSS ${kib(u.maxRSS)} (the command and ${n} orphan${n === 1 ? '' : 's'} reaped here)`)
  }
  const left = r.leftovers ?? []
  if (left.length > 0) {
    lines.push(`  LEFTOVERS: ${left.length} process${left.length === 1 ? '' : 'es'} left running by the command (${leftDone(r)}):`)
    for (const l of left) lines.push(`    ${leftoverLine(l)}`)
  }
  const earlier = r.earlierLeftovers ?? []
  if (earlier.length > 0) lines.push(`  LEFTOVERS of the earlier runs, still running: ${earlierLine(earlier)}`)
  return lines
}

/** The cgroup's figures, and the method of each figure of the tree. */
function cgroupText(r: Report): string[] {
  const c = r.cgroup
  if (!c) return []
  const lines: string[] = []
  if (c.path === null) lines.push(`  no cgroup: ${c.why ?? 'none'}`)
  else {
    const end = c.removed ? 'removed' : 'NOT removed'
    lines.push(`  cgroup ${c.path} (entered by ${c.via ?? 'unknown'}; ${end})`)
    lines.push(`    ${cgroupFigures(c).join(' · ')}`)
    if (c.movedOut) lines.push(`    ${c.movedOut.pids.length} leftover${c.movedOut.pids.length === 1 ? '' : 's'} moved to ${c.movedOut.to}: ${c.movedOut.pids.join(' ')}`)
  }
  const m = r.methods
  if (m) {
    lines.push('  measured by:')
    lines.push(`    peak memory: ${m.peakMemory}`)
    lines.push(`    CPU: ${m.cpu}`)
    lines.push(`    processes: ${m.processes}`)
    lines.push(`    end of the tree: ${m.end}`)
    if (m.timeout) lines.push(`    timeout: ${m.timeout}`)
  }
  return lines
}

/** The cgroup's figures that were had, each named by its file. */
function cgroupFigures(c: CgroupReport): string[] {
  const s = c.stats
  if (!s) return []
  const out: string[] = []
  if (s.cpu) out.push(`tree CPU user ${millis(s.cpu.userUs / 1000)} · system ${millis(s.cpu.systemUs / 1000)} (cpu.stat)`)
  out.push(s.memoryPeakKiB !== null ? `tree peak memory ${kib(s.memoryPeakKiB)} (memory.peak)` : 'tree peak memory not measured (no memory.peak)')
  out.push(s.pidsPeak !== null ? `most processes at once ${count(s.pidsPeak)} (pids.peak)` : 'most processes at once not measured (no pids.peak)')
  return out
}

function traceText(t: TraceSummary): string[] {
  if (t.processes === 0) return ['  traced: no child started through child_process by a Node process of the command']
  const proc = (p: TraceSummary['topByCpu'][number], figure: string) => `${p.command} (pid ${p.pid}) ${figure}`
  return [
    `  traced ${count(t.processes)} children of its Node processes, CPU ${millis(t.cpuMs)} in all:`,
    `    top by CPU: ${t.topByCpu.map((p) => proc(p, millis(p.cpuMs))).join(' · ')}`,
    `    top by peak RSS: ${t.topByRss.map((p) => proc(p, kib(p.maxRssKiB))).join(' · ')}`,
    `    by command: ${t.groups.map((g) => `${g.command} ×${count(g.count)} ${millis(g.cpuMs)}, peak ${kib(g.maxRssKiB)}`).join(' · ')}`,
  ]
}

function cgroupRows(r: Report): Array<[string, string]> {
  const c = r.cgroup
  const rows: Array<[string, string]> = []
  if (c) {
    rows.push(['cgroup', c.path === null ? `none: ${c.why ?? ''}` : `\`${c.path}\` (entered by ${c.via ?? 'unknown'}; ${c.removed ? 'removed' : 'NOT removed'})`])
    if (c.path !== null) rows.push(['cgroup figures', cgroupFigures(c).join(' · ')])
    if (c.movedOut) rows.push(['leftovers moved out', `${c.movedOut.pids.join(' ')} to \`${c.movedOut.to}\``])
  }
  const m = r.methods
  if (m) {
    rows.push(['peak memory measured by', m.peakMemory], ['CPU measured by', m.cpu], ['processes measured by', m.processes], ['end of the tree known by', m.end])
    if (m.timeout) rows.push(['timeout ends the tree by', m.timeout])
  }
  return rows
}

function traceMarkdown(t: TraceSummary): string[] {
  const cell = (s: string) => s.replaceAll('|', '\\|')
  if (t.processes === 0) return ['', '_traced: no child started through child_process by a Node process of the command._']
  return [
    '',
    `#### Traced: ${count(t.processes)} children, CPU ${millis(t.cpuMs)} in all`,
    '',
    '| command | processes | CPU | peak RSS | wall (sum) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...t.groups.map((g) => `| \`${cell(g.command)}\` | ${count(g.count)} | ${millis(g.cpuMs)} | ${kib(g.maxRssKiB)} | ${millis(g.wallMs)} |`),
    '',
    '| top by CPU | pid | CPU | | top by peak RSS | pid | peak RSS |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: |',
    ...t.topByCpu.map((p, i) => {
      const r = t.topByRss[i]
      return `| \`${cell(p.command)}\` | ${p.pid} | ${millis(p.cpuMs)} | | ${r ? `\`${cell(r.command)}\` | ${r.pid} | ${kib(r.maxRssKiB)}` : ' | | '} |`
    }),
  ]
}

export function json(r: Report): string {
  return JSON.stringify({ ...r, note: RUSAGE_NOTE }, null, 2) + '\n'
}

export function markdown(r: Report): string {
  const u = r.rusage!
  const rows: Array<[string, string]> = [
    ...(r.runs
      ? [
          [`${r.runs.count} runs${r.runs.warmup ? ` (+${r.runs.warmup} warm-up)` : ''}: wall min / median / max`, `${millis(r.runs.wallTimeMs.min)} / ${millis(r.runs.wallTimeMs.median)} / ${millis(r.runs.wallTimeMs.max)}`] as [string, string],
          ['CPU min / median / max', `${millis(r.runs.cpuMs.min)} / ${millis(r.runs.cpuMs.median)} / ${millis(r.runs.cpuMs.max)}`] as [string, string],
          ['peak RSS min / median / max', `${kib(r.runs.maxRSSKiB.min)} / ${kib(r.runs.maxRSSKiB.median)} / ${kib(r.runs.maxRSSKiB.max)}`] as [string, string],
        ]
      : []),
    ['exit', `${ending(r)}${r.timedOut ? ' (timed out)' : ''}`],
    ['wall time', millis(r.wallTimeMs)],
    ['user CPU', millis(u.userCPUTime / 1000)],
    ['system CPU', millis(u.systemCPUTime / 1000)],
    ['peak RSS', kib(u.maxRSS)],
    ['page faults', `${count(u.minorPageFault)} minor, ${count(u.majorPageFault)} major`],
    ['context switches', `${count(u.voluntaryContextSwitches)} voluntary, ${count(u.involuntaryContextSwitches)} involuntary`],
    ['fs reads / writes', `${count(u.fsRead)} / ${count(u.fsWrite)} (512-byte blocks)`],
    ...(r.tree && r.tree.processes > 1
      ? [
          ['tree CPU (user / system)', `${millis(r.tree.rusage.userCPUTime / 1000)} / ${millis(r.tree.rusage.systemCPUTime / 1000)}`] as [string, string],
          ['tree: orphans reaped here', count(r.tree.processes - 1)] as [string, string],
        ]
      : []),
    ...(r.leftovers ?? []).map((l): [string, string] => [`**leftover** (${leftDone(r)})`, leftoverLine(l)]),
    ...(r.earlierLeftovers?.length ? [['**leftovers of the earlier runs** (still running)', earlierLine(r.earlierLeftovers)] as [string, string]] : []),
    ...cgroupRows(r),
    ...r.breaches.map((b): [string, string] => [`**budget ${b.budget}**`, `**${breachLine(b)}**`]),
  ]
  const cell = (s: string) => s.replaceAll('|', '\\|')
  return [
    `### pidfd time: \`${commandLine(r.command).replaceAll('`', "'")}\``,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
    '',
    `_${RUSAGE_NOTE}._`,
    ...(r.trace ? traceMarkdown(r.trace) : []),
    '',
  ].join('\n')
}

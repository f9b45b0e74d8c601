// The report of `pidfd time`: text for people, JSON for tools, markdown for CI summaries.

import type { ExitInfo } from '../exit.js'
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

export function text(r: Report): string {
  const u = r.rusage!
  const lines = [
    `pidfd time: ${commandLine(r.command)}`,
    `  ${ending(r)}${r.timedOut ? ' after the --timeout' : ''} · wall ${millis(r.wallTimeMs)} · user ${millis(u.userCPUTime / 1000)} · system ${millis(u.systemCPUTime / 1000)}`,
    `  peak RSS ${kib(u.maxRSS)} · page faults ${count(u.minorPageFault)} minor, ${count(u.majorPageFault)} major`,
    `  context switches ${count(u.voluntaryContextSwitches)} voluntary, ${count(u.involuntaryContextSwitches)} involuntary · fs ${count(u.fsRead)} reads, ${count(u.fsWrite)} writes (512-byte blocks)`,
    ...r.breaches.map((b) => `  BUDGET ${breachLine(b)}`),
    `  (${RUSAGE_NOTE})`,
    ...(r.trace ? traceText(r.trace) : []),
  ]
  return lines.join('\n') + '\n'
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
    ['exit', `${ending(r)}${r.timedOut ? ' (timed out)' : ''}`],
    ['wall time', millis(r.wallTimeMs)],
    ['user CPU', millis(u.userCPUTime / 1000)],
    ['system CPU', millis(u.systemCPUTime / 1000)],
    ['peak RSS', kib(u.maxRSS)],
    ['page faults', `${count(u.minorPageFault)} minor, ${count(u.majorPageFault)} major`],
    ['context switches', `${count(u.voluntaryContextSwitches)} voluntary, ${count(u.involuntaryContextSwitches)} involuntary`],
    ['fs reads / writes', `${count(u.fsRead)} / ${count(u.fsWrite)} (512-byte blocks)`],
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

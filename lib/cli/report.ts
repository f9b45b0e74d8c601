// The report of `pidfd time`: text for people, JSON for tools, markdown for CI summaries.

import type { ExitInfo } from '../exit.js'
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
  ]
  return lines.join('\n') + '\n'
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
    '',
  ].join('\n')
}

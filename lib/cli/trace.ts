// `pidfd time --trace`: the lines PIDFD_TRACE collected, turned into what cost what: the top
// processes by CPU and by peak RSS, and the processes grouped by command.

import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

import type { TraceLine } from '../trace.js'

export interface TracedProcess {
  pid: number
  ppid: number
  command: string
  cpuMs: number
  maxRssKiB: number
  wallMs: number
}

export interface TraceGroup {
  command: string
  count: number
  cpuMs: number
  maxRssKiB: number
  wallMs: number
}

export interface TraceSummary {
  /** Every child the package spawned in the command's tree, with usage. */
  processes: number
  /** Their CPU time together (each reaped child's usage covers what it waited for too). */
  cpuMs: number
  topByCpu: TracedProcess[]
  topByRss: TracedProcess[]
  groups: TraceGroup[]
}

const TOP = 5
const GROUPS = 10
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash'])
const INTERPRETERS = new Set(['node', 'nodejs', 'bun', 'deno', 'python', 'python3', 'ruby', 'perl'])

/** A command's name for grouping: the program, or the script an interpreter or shell runs. */
export function commandLabel(line: Pick<TraceLine, 'file' | 'argv'>): string {
  const program = basename(line.file)
  const rest = line.argv.slice(1)
  if (SHELLS.has(program)) {
    const c = rest.indexOf('-c')
    const script = c >= 0 ? rest[c + 1] : rest.find((a) => !a.startsWith('-'))
    const first = script?.trim().split(/\s+/)[0]
    return first ? `${program} -c ${basename(first)}` : program
  }
  if (INTERPRETERS.has(program)) {
    // Code given inline is named by its flag (`node -e`); else the script the flags lead to.
    const inline = rest.find((a) => ['-e', '--eval', '-p', '--print', '-c'].includes(a))
    if (inline) return `${program} ${inline}`
    const script = rest.find((a) => !a.startsWith('-'))
    return script ? `${program} ${basename(script)}` : program
  }
  return program
}

/** The trace's lines; a line cut short (a process killed mid-write) is skipped. */
export function readTrace(path: string): TraceLine[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  const lines: TraceLine[] = []
  for (const raw of text.split('\n')) {
    if (!raw) continue
    try {
      lines.push(JSON.parse(raw) as TraceLine)
    } catch {
      // not a whole line
    }
  }
  return lines
}

export function summarize(lines: TraceLine[]): TraceSummary {
  const processes = lines.map(
    (l): TracedProcess => ({
      pid: l.pid,
      ppid: l.ppid,
      command: commandLabel(l),
      cpuMs: l.rusage ? (l.rusage.userCPUTime + l.rusage.systemCPUTime) / 1000 : 0,
      maxRssKiB: l.rusage?.maxRSS ?? 0,
      wallMs: l.wallMs,
    }),
  )
  const groups = new Map<string, TraceGroup>()
  for (const p of processes) {
    const g = groups.get(p.command) ?? { command: p.command, count: 0, cpuMs: 0, maxRssKiB: 0, wallMs: 0 }
    g.count++
    g.cpuMs += p.cpuMs
    g.maxRssKiB = Math.max(g.maxRssKiB, p.maxRssKiB)
    g.wallMs += p.wallMs
    groups.set(p.command, g)
  }
  return {
    processes: processes.length,
    cpuMs: processes.reduce((sum, p) => sum + p.cpuMs, 0),
    topByCpu: [...processes].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, TOP),
    topByRss: [...processes].sort((a, b) => b.maxRssKiB - a.maxRssKiB).slice(0, TOP),
    groups: [...groups.values()].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, GROUPS),
  }
}

// PIDFD_TRACE=FILE: every child this package spawns appends one JSON line to FILE at its exit
// (pid, ppid, file, argv, cwd, start, wall time, code, signal, rusage). One write per line on a
// descriptor opened with O_APPEND, so lines from many processes stay whole. Read at each spawn:
// the variable, inherited, reaches the Node children of an app too.

import { closeSync, openSync, writeSync } from 'node:fs'

import type { ExitInfo } from './exit.js'

/** At most this many arguments, each at most this long, go in a line: lines stay small. */
const MAX_ARGS = 32
const MAX_ARG = 200

/** What a traced spawn remembers until its exit. */
export interface TraceStart {
  path: string
  file: string
  argv: string[]
  cwd: string
  /** Wall clock at the spawn, ms since the epoch. */
  startMs: number
  /** Monotonic, for the wall time. */
  t0: bigint
}

/** One line of a trace, as `pidfd time --trace` reads it back. */
export interface TraceLine {
  pid: number
  ppid: number
  file: string
  argv: string[]
  /** How many arguments were left out of `argv`. */
  argvDropped?: number
  cwd: string
  /** ISO 8601. */
  start: string
  wallMs: number
  code: number | null
  signal: string | null
  rusage: ExitInfo['rusage']
}

/** The trace to write to, if PIDFD_TRACE names one; read at each spawn. */
export function traceStart(file: string, argv: string[], cwd: string | undefined): TraceStart | null {
  const path = process.env.PIDFD_TRACE
  if (!path) return null
  return { path, file, argv, cwd: cwd ?? process.cwd(), startMs: Date.now(), t0: process.hrtime.bigint() }
}

const bound = (arg: string) => (arg.length > MAX_ARG ? `${arg.slice(0, MAX_ARG)}…` : arg)

/** Appends the child's line. A trace that cannot be written never disturbs the app. */
export function traceExit(start: TraceStart, pid: number, exit: Pick<ExitInfo, 'code' | 'signal' | 'rusage'>): void {
  const line: TraceLine = {
    pid,
    ppid: process.pid,
    file: start.file,
    argv: start.argv.slice(0, MAX_ARGS).map(bound),
    cwd: start.cwd,
    start: new Date(start.startMs).toISOString(),
    wallMs: Math.round(Number(process.hrtime.bigint() - start.t0) / 1e3) / 1e3,
    code: exit.code,
    signal: exit.signal,
    rusage: exit.rusage,
  }
  if (start.argv.length > MAX_ARGS) line.argvDropped = start.argv.length - MAX_ARGS
  let fd = -1
  try {
    fd = openSync(start.path, 'a')
    writeSync(fd, `${JSON.stringify(line)}\n`)
  } catch {
    // the trace loses this line; the app must not notice
  } finally {
    if (fd >= 0) closeSync(fd)
  }
}

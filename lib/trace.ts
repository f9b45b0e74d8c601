// PIDFD_TRACE=FILE: every child this package spawns appends one JSON line to FILE at its exit
// (pid, ppid, file, argv, cwd, start, wall time, code, signal, rusage). Read at each spawn: the
// variable, inherited, reaches the Node children of an app too.
//
// Each line is one write at the child's exit, made at once, on a descriptor opened O_APPEND (so
// lines from many processes stay whole) and O_NONBLOCK (so a FIFO or socket that is full or has
// no reader refuses at once instead of blocking the JS thread). A regular file takes a line as
// Node's own process.stdout to a file does: one write the page cache takes. Only the open is in
// the thread pool (a slow mount). Writes are not left to the pool: a write still there when the
// app calls process.exit() is lost or lands after the lines behind it (a busy machine showed it).
// A sink that does not keep up (a full FIFO) holds at most MAX_QUEUED bytes, tried again every
// RETRY_MS; past that, lines are dropped and counted, and the count is said once on stderr at
// exit. A sink that fails (cannot be opened, ENOSPC, no reader) is said once, and its lines are
// dropped. At exit what is queued is written if the sink takes it at once, without waiting.

import { closeSync, constants, open, openSync, writeSync } from 'node:fs'

import type { ExitInfo } from './exit.js'

/** At most this many arguments, each at most this long, go in a line: lines stay small. */
const MAX_ARGS = 32
const MAX_ARG = 200
/** The most a pipe takes in one write, whole: Linux's PIPE_BUF. */
const PIPE_BUF = 4096

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

/** Appends the child's line, without blocking. A trace that cannot be written never disturbs the app. */
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
  // A line fits in PIPE_BUF, so that a FIFO takes it whole or not at all: arguments go first.
  let text = `${JSON.stringify(line)}\n`
  while (Buffer.byteLength(text) > PIPE_BUF && line.argv.length > 0) {
    line.argv.pop()
    line.argvDropped = (line.argvDropped ?? 0) + 1
    text = `${JSON.stringify(line)}\n`
  }
  if (Buffer.byteLength(text) > PIPE_BUF) {
    line.cwd = bound(line.cwd)
    line.file = bound(line.file)
    text = `${JSON.stringify(line)}\n`
  }
  sink(start.path).push(text)
}

/** A path as one line of stderr: quoted as JSON where it holds a control character (a newline). */
const shown = (path: string) => (/[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path)

/** Bytes a sink may hold while it does not keep up; past them its lines are dropped. */
const MAX_QUEUED = 1 << 20
/** How long a full FIFO or socket is left before the next try. */
const RETRY_MS = 20
const FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK

type FsError = NodeJS.ErrnoException

/** One trace file: its descriptor, its queue of lines in order, and what it has said. */
class Sink {
  #fd = -1
  #busy = false
  #queue: Buffer[] = []
  #queued = 0
  #dropped = 0
  #said = false

  constructor(readonly path: string) {}

  push(line: string): void {
    const bytes = Buffer.from(line)
    if (this.#queued + bytes.length > MAX_QUEUED) {
      this.#dropped++
      return
    }
    this.#queue.push(bytes)
    this.#queued += bytes.length
    this.#pump()
  }

  /** What is queued, written now (or the open first), unless the open or a retry is under way. */
  #pump(): void {
    if (this.#busy || this.#queue.length === 0) return
    if (this.#fd < 0) {
      this.#busy = true
      open(this.path, FLAGS, 0o666, (err, fd) => {
        this.#busy = false
        if (err) return this.#fail(err, this.#queue.length)
        this.#fd = fd
        this.#pump()
      })
      return
    }
    while (this.#queue.length > 0) {
      let written: number
      try {
        written = writeSync(this.#fd, this.#queue[0]!)
      } catch (e) {
        const err = e as FsError
        if (err.code === 'EAGAIN') {
          // A FIFO or socket that is full: tried again later, without holding the app open.
          this.#busy = true
          setTimeout(() => {
            this.#busy = false
            this.#pump()
          }, RETRY_MS).unref()
          return
        }
        return this.#fail(err, 1)
      }
      this.#take(written)
    }
  }

  /** `written` bytes of the queue's head went out: the rest of a line stays first. */
  #take(written: number): void {
    const head = this.#queue[0]!
    this.#queued -= written
    if (written < head.length) this.#queue[0] = head.subarray(written)
    else this.#queue.shift()
  }

  /** The sink refused: said once; `lines` lines are dropped (all that wait, when it cannot be opened). */
  #fail(err: FsError, lines: number): void {
    for (let i = 0; i < lines; i++) this.#queued -= this.#queue.shift()?.length ?? 0
    this.#dropped += lines
    if (this.#fd >= 0 && err.code !== 'ENOSPC') {
      // Opened anew for the next line (a FIFO's reader may come back).
      closeQuietly(this.#fd)
      this.#fd = -1
    }
    if (!this.#said) {
      this.#said = true
      process.stderr.write(`pidfd: PIDFD_TRACE: cannot write ${shown(this.path)}: ${err.code ?? 'error'}; its lines are dropped\n`)
    }
    this.#pump()
  }

  /** At exit: what is queued, if the sink takes it now (an open still in the pool is made again here); the count of what it did not. */
  drainAtExit(): void {
    const queue = this.#queue
    try {
      if (queue.length > 0 && this.#fd < 0) this.#fd = openSync(this.path, FLAGS, 0o666)
      while (queue.length > 0) {
        const head = queue[0]!
        const written = writeSync(this.#fd, head)
        if (written < head.length) queue[0] = head.subarray(written)
        else queue.shift()
      }
    } catch {
      // EAGAIN, ENOSPC, no reader: what is left is dropped
    }
    this.#dropped += queue.length
    this.#queue = []
    if (this.#fd >= 0) closeQuietly(this.#fd)
    if (this.#dropped > 0) {
      process.stderr.write(`pidfd: PIDFD_TRACE: ${this.#dropped} line${this.#dropped === 1 ? '' : 's'} dropped: ${shown(this.path)} did not take them\n`)
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already gone
  }
}

const sinks = new Map<string, Sink>()

function sink(path: string): Sink {
  let found = sinks.get(path)
  if (!found) {
    if (sinks.size === 0) process.once('exit', () => sinks.forEach((s) => s.drainAtExit()))
    found = new Sink(path)
    sinks.set(path, found)
  }
  return found
}

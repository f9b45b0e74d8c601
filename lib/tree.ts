// The process tree a command leaves behind: this process as a child subreaper, so descendants
// orphaned by their parents (daemons, double forks) are reparented here instead of to init;
// their reaping with rusage, so the tree's usage counts them; and the ones still running when
// the command is done (leftovers), with what they are. For `pidfd time`, and for any program
// whose own children are all this package's (a child of `child_process` would be taken from
// libuv, which never emits its 'exit' then).

import { readdirSync, readFileSync } from 'node:fs'

import { callNative } from './errors.js'
import { toExitInfo, type ExitInfo, type ResourceUsage } from './exit.js'
import { binding } from './native.js'
import { signalEach } from './pidfd.js'

/** A descendant still running when the command was done. */
export interface Leftover {
  pid: number
  ppid: number
  /** Its command line (`/proc/<pid>/cmdline`; the name in brackets for a kernel-less one). */
  command: string[]
  /** How long it has run, ms. */
  ageMs: number
  /** Its resident memory now, KiB (null once gone). */
  rssKiB: number | null
}

/** An orphan reaped here. */
export interface Reaped {
  pid: number
  exit: ExitInfo
}

/** /proc's clock for process start times (USER_HZ, 100 on every Linux architecture). */
const USER_HZ = 100

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The thread ids of `pid` (none once it is gone). */
function threadsOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
}

/** A `stat` line's fields after the command name, which is in parentheses and may hold anything. */
function fieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** The children of `pid`, from every thread's `children` list. */
function childrenOf(pid: number): number[] {
  const out = new Set<number>()
  for (const tid of threadsOf(pid)) {
    for (const p of (read(`/proc/${pid}/task/${tid}/children`) ?? '').split(/\s+/)) if (p) out.add(Number(p))
  }
  return [...out]
}

/** The kernel's flag for a task that has begun to exit (`PF_EXITING`, /proc's `stat` field 9). */
const PF_EXITING = 0x4
/**
 * SIGKILL among a thread's pending signals (/proc's `stat` field 31): a fatal signal was sent
 * (the kernel makes any signal that kills into SIGKILL for every thread as it is sent), and the
 * thread ends when it next runs.
 */
const KILL_PENDING = 1 << (9 - 1)

/**
 * Whether any thread of `pid` still runs. A zombie (exited, not yet reaped) is not running:
 * reap() takes it. Nor is a thread that has begun to exit: it has let go of its memory (its
 * command line reads empty) and frees it before it is a zombie, which for a large process takes
 * a while. Nor one a fatal signal has been sent to and that has not run since (the --timeout's
 * SIGTERM reaches the command's group at once, and the command's exit can be seen first). A
 * process whose main thread has exited shows as a zombie too, but while its other threads live
 * it runs (and cannot be reaped yet).
 */
function running(pid: number): boolean {
  return threadsOf(pid).some((tid) => {
    const stat = read(`/proc/${pid}/task/${tid}/stat`)
    if (stat === null) return false
    // The state is the first field after the name (which may hold ") Z " too), the flags the 7th,
    // the pending signals the 29th.
    const fields = fieldsAfterName(stat)
    return fields[0] !== 'Z' && fields[0] !== 'X' && (Number(fields[6]) & PF_EXITING) === 0 && (Number(fields[28]) & KILL_PENDING) === 0
  })
}

function describe(pid: number): Leftover | null {
  const stat = read(`/proc/${pid}/stat`)
  if (stat === null) return null
  const fields = fieldsAfterName(stat)
  const ppid = Number(fields[1])
  const startTicks = Number(fields[19])
  const uptime = Number((read('/proc/uptime') ?? '0').split(' ')[0])
  const cmdline = (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1)
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
  const rss = /^VmRSS:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? '')
  return {
    pid,
    ppid,
    command: cmdline.length > 0 ? cmdline : [`[${name}]`],
    ageMs: Math.max(0, Math.round((uptime - startTicks / USER_HZ) * 1000)),
    rssKiB: rss ? Number(rss[1]) : null,
  }
}

/** Adds `b` into `a`: times and counts summed, the peak the larger. */
function add(a: ResourceUsage, b: ResourceUsage): ResourceUsage {
  const sum = { ...a }
  for (const key of Object.keys(b) as Array<keyof ResourceUsage>) sum[key] = key === 'maxRSS' ? Math.max(a[key], b[key]) : a[key] + b[key]
  return sum
}

/**
 * This process as a child subreaper, for the length of a command. Orphans are reaped as they
 * exit (on SIGCHLD) and whenever `reap()` is called; their records are in `reaped`.
 */
export class Subreaper {
  readonly reaped: Reaped[] = []
  #listening = true
  readonly #onChild = () => {
    try {
      this.reap()
    } catch {
      // Not thrown from a signal listener, where it would end the app: the next reap() call,
      // which meets the same refusal, throws it.
    }
  }

  private constructor() {
    callNative(() => binding.setChildSubreaper(true))
    process.on('SIGCHLD', this.#onChild)
  }

  /** Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`) until `stop()`. */
  static start(): Subreaper {
    return new Subreaper()
  }

  /** Reaps every orphan that has exited; returns how many. Never a child of this package. */
  reap(): number {
    const got = callNative(() => binding.reapOrphans())
    for (const o of got) this.reaped.push({ pid: o.pid, exit: toExitInfo(o.exit) })
    return got.length
  }

  /**
   * The orphans still running, and all their descendants, parents first; with `under`, the
   * descendants of those processes too (a command still running, with its children).
   */
  leftovers(under: number[] = []): Leftover[] {
    const found: Leftover[] = []
    const queue = [...callNative(() => binding.orphans()), ...under.flatMap(childrenOf)]
    const seen = new Set<number>()
    while (queue.length > 0) {
      const pid = queue.shift()!
      if (seen.has(pid)) continue
      seen.add(pid)
      const d = describe(pid)
      if (!d) continue
      // Whether it runs is read after what it is: a command line read empty because it was
      // exiting then shows it exiting. One that is exiting still has its children until it is a
      // zombie, and they may run on: they are looked at either way.
      if (running(pid)) found.push(d)
      queue.push(...childrenOf(pid))
    }
    return found
  }

  /**
   * Whether no orphan is left: none is this process's child any more, running or exited and not
   * yet reaped. Call `reap()` first. Not the same as `leftovers()` being empty: a process whose
   * main thread has exited shows as a zombie (so it is not listed as running) while its other
   * threads still end, and it can be reaped, with its rusage, only once they have.
   */
  empty(): boolean {
    return callNative(() => binding.orphans()).length === 0
  }

  /**
   * Sends `signal` to every leftover, each through a pidfd opened first (so a pid that has just
   * been freed and reused is not hit); returns how many it reached.
   */
  signal(signal: NodeJS.Signals | number, under: number[] = []): number {
    return signalEach(this.leftovers(under).map((l) => l.pid), signal)
  }

  /** The orphans' usage together (times and counts summed, the largest peak), or null if none. */
  usage(): ResourceUsage | null {
    return this.reaped.reduce<ResourceUsage | null>((sum, r) => (r.exit.rusage ? (sum ? add(sum, r.exit.rusage) : { ...r.exit.rusage }) : sum), null)
  }

  /** No longer a subreaper; orphans from now on go to init (or the next subreaper up). */
  stop(): void {
    if (!this.#listening) return
    this.#listening = false
    process.removeListener('SIGCHLD', this.#onChild)
    callNative(() => binding.setChildSubreaper(false))
  }
}

/** `a` and `b` together, as a tree's usage: times and counts summed, the largest peak. */
export function combineUsage(a: ResourceUsage, b: ResourceUsage | null): ResourceUsage {
  return b ? add(a, b) : a
}

// `pidfd time [options] -- command [args...]`: run a command, report how it ended and what it
// used, enforce budgets.

import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { Cgroup } from '../cgroup.js'
import { spawn, type Subprocess } from '../subprocess.js'
import { combineUsage, Subreaper, type Leftover } from '../tree.js'
import { toChildSignal, toSignalNumber } from '../signals.js'
import { isBrokenPipe, print, reason, toStderr, writeAllSync } from './output.js'
import { json, markdown, text, type Breach, type CgroupReport, type Methods, type Report } from './report.js'
import { setLongTimeout, type LongTimer } from './timer.js'
import { readTrace, summarize } from './trace.js'
import { loadHumanisers, parseDurationMs, parseSizeKiB } from './units.js'
import { EXIT, UsageError } from './usage.js'

export const TIME_HELP = `Usage: pidfd time [options] -- command [args...]

Runs the command with this terminal's stdin, stdout and stderr, then reports how it ended and
what it used: wall time, user and system CPU, peak RSS, page faults, context switches, file
system reads and writes. The report goes to stderr (or --output). rusage covers the command
and the descendants it waited for.

Options:
  --format text|json|markdown  report format (default text)
  --output FILE                write the report to FILE instead of stderr
  --no-summary                 do not append a markdown table to $GITHUB_STEP_SUMMARY
  --max-rss SIZE               fail if the peak RSS exceeds SIZE (checked after exit):
                               512M, 2G
  --max-cpu DURATION           fail if user + system CPU time exceeds DURATION (checked
                               after exit): 30s, 2m
  --timeout DURATION           kill the command after DURATION (enforced while it runs); the
                               command then runs in a process group of its own (as under GNU
                               timeout), and the signals reach the whole group
  --kill-signal SIGNAL         signal sent at the timeout (default SIGTERM)
  --kill-after DURATION        then SIGKILL after this much longer (default 5s)
  --leftovers report|kill|wait what to do with descendants still running when the command
                               exits (default report: listed, and a GitHub warning); kill:
                               SIGTERM, SIGKILL after --kill-after; wait: until they are gone
                               (bounded by --timeout)
  --fail-on-leftovers          exit 122 when the command left processes running
  --cgroup auto|off|required   run the command in a cgroup v2 of its own, made inside pidfd's
                               cgroup (default auto: where the hierarchy is writable, as root
                               or a subtree delegated by systemd; else without, and the report
                               says why); required: exit 125 without running the command when
                               none can be had. The tree's CPU (cpu.stat), peak memory
                               (memory.peak) and most processes at once (pids.peak) come from
                               it where the kernel keeps them; --timeout and --leftovers kill
                               end it with cgroup.kill; cgroup.events says when it is empty
  --runs N                     run the command N times and report the min, median and max of
                               wall time, CPU and peak RSS (with the last run's details)
  --warmup K                   first run it K times more, unmeasured
  --trace                      also report every child the command's Node processes start
                               (through child_process, swapped for pidfd's by -r pidfd/register
                               in NODE_OPTIONS): the top ones by CPU and by peak RSS, and by
                               command
  --trace-file FILE            with --trace, keep the raw trace (one JSON line per child) there
  -h, --help                   this help

SIZE and DURATION: digits, optionally a fraction (.digits), then a unit in any case, with no
space. SIZE: K, M, G or T (KiB, MiB, GiB, TiB; also written Ki, KiB, KB, ...), a bare number is
KiB: 512M, 1.5G, 100K. DURATION: ms, s, m, h or d, a bare number is seconds: 250ms, 30s, 1.5h,
25d. More than 0 and at most 2^53 - 1 bytes or ms; anything else exits 2. Durations past
24.8 days (Node's timer limit) are waited for in steps.

pidfd is the command's subreaper: descendants the command orphans (daemons, double forks) are
reparented to it and reaped here, so the tree's usage counts them, and those still running when
the command exits are its leftovers. With a cgroup, leftovers still running when pidfd is done
(--leftovers report) are moved to pidfd's own cgroup, and the command's cgroup is removed; the
report says which method measured each figure, and why a better one was missing.

Exit status: the command's own (a command killed by a signal makes pidfd kill itself with the
same signal, so the calling shell sees the same wait status; 128+n where that cannot work);
124 when --timeout killed it; 123 when a --max-rss or --max-cpu budget was exceeded; 122 with
--fail-on-leftovers when processes were left running; 127 when the command was not found, 126
when it cannot be run; 125 when --cgroup required cannot be met; 2 for bad usage. 124 wins over 123, 123 over 122, and 122 over the
command's own failure. The report is written in every case; one that cannot
be written (--output, $GITHUB_STEP_SUMMARY) is one line on stderr and leaves the status alone,
and a report to a pipe nobody reads any more (| head) is dropped without a word.

Examples:
  pidfd time -- npm test
  pidfd time --format json --output usage.json -- make -j2
  pidfd time --max-rss 512M --max-cpu 2m --timeout 10m -- ./build.sh
  pidfd time --trace -- npm test
  pidfd time --runs 10 --warmup 2 -- node build.js
  pidfd time --cgroup required --timeout 5m -- ./start-services.sh
`

interface TimeOptions {
  format: 'text' | 'json' | 'markdown'
  output: string | undefined
  summary: boolean
  maxRssKiB: number | undefined
  maxCpuMs: number | undefined
  timeoutMs: number | undefined
  killSignal: NodeJS.Signals | number
  killAfterMs: number
  trace: boolean
  traceFile: string | undefined
  leftovers: 'report' | 'kill' | 'wait'
  failOnLeftovers: boolean
  runs: number
  warmup: number
  cgroup: 'auto' | 'off' | 'required'
}

function parse(argv: string[]): { options: TimeOptions; command: string[] } | 'help' {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      format: { type: 'string', default: 'text' },
      output: { type: 'string' },
      'no-summary': { type: 'boolean', default: false },
      'max-rss': { type: 'string' },
      'max-cpu': { type: 'string' },
      timeout: { type: 'string' },
      'kill-signal': { type: 'string', default: 'SIGTERM' },
      'kill-after': { type: 'string', default: '5s' },
      trace: { type: 'boolean', default: false },
      leftovers: { type: 'string', default: 'report' },
      'fail-on-leftovers': { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '0' },
      cgroup: { type: 'string', default: 'auto' },
      'trace-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return 'help'
  const terminator = tokens.find((t) => t.kind === 'option-terminator')
  if (!terminator) {
    throw new UsageError(positionals.length ? `put -- before the command: pidfd time -- ${positionals.join(' ')}` : 'no command: pidfd time [options] -- command [args...]')
  }
  const before = tokens.filter((t) => t.kind === 'positional' && t.index < terminator.index)
  if (before.length) throw new UsageError(`unexpected argument '${(before[0] as { value: string }).value}' before --`)
  if (positionals.length === 0) throw new UsageError('no command after --')
  const format = values.format
  if (format !== 'text' && format !== 'json' && format !== 'markdown') {
    throw new UsageError(`--format: '${format}' is not one of text, json, markdown`)
  }
  const leftovers = values.leftovers
  if (leftovers !== 'report' && leftovers !== 'kill' && leftovers !== 'wait') {
    throw new UsageError(`--leftovers: '${leftovers}' is not one of report, kill, wait`)
  }
  const cgroup = values.cgroup
  if (cgroup !== 'auto' && cgroup !== 'off' && cgroup !== 'required') {
    throw new UsageError(`--cgroup: '${cgroup}' is not one of auto, off, required`)
  }
  const count = (name: string, raw: string, min: number) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`--${name}: '${raw}' is not a whole number of at least ${min}`)
    return Number(raw)
  }
  const runs = count('runs', values.runs, 1)
  const warmup = count('warmup', values.warmup, 0)
  let killSignal: NodeJS.Signals | number
  try {
    const raw = values['kill-signal']
    const name = /^\d+$/.test(raw) ? Number(raw) : raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`
    // Sent through the subprocess's kill, which reads it as child_process does: a signal Node
    // names (a number with no name, a real-time one, is refused here rather than at the timeout).
    toChildSignal(name)
    killSignal = name as NodeJS.Signals | number
  } catch {
    throw new UsageError(`--kill-signal: '${values['kill-signal']}' is not a signal`)
  }
  return {
    command: positionals,
    options: {
      format,
      output: values.output,
      summary: !values['no-summary'],
      maxRssKiB: values['max-rss'] === undefined ? undefined : parseSizeKiB('--max-rss', values['max-rss']),
      maxCpuMs: values['max-cpu'] === undefined ? undefined : parseDurationMs('--max-cpu', values['max-cpu']),
      timeoutMs: values.timeout === undefined ? undefined : parseDurationMs('--timeout', values.timeout),
      killSignal,
      killAfterMs: parseDurationMs('--kill-after', values['kill-after']),
      trace: values.trace || values['trace-file'] !== undefined,
      traceFile: values['trace-file'],
      leftovers,
      failOnLeftovers: values['fail-on-leftovers'],
      runs,
      warmup,
      cgroup,
    },
  }
}

function breaches(report: Omit<Report, 'breaches'>, o: TimeOptions): Breach[] {
  const found: Breach[] = []
  const u = report.rusage!
  if (o.maxRssKiB !== undefined && u.maxRSS > o.maxRssKiB) found.push({ budget: 'max-rss', limit: o.maxRssKiB, actual: u.maxRSS })
  const cpuMs = (u.userCPUTime + u.systemCPUTime) / 1000
  if (o.maxCpuMs !== undefined && cpuMs > o.maxCpuMs) found.push({ budget: 'max-cpu', limit: o.maxCpuMs, actual: cpuMs })
  return found
}

/**
 * One write of the report. Its failure is one line on stderr, never the exit status: that is the
 * command's (or 124, 123), and a CI step must not pass or fail on where its report went. A
 * reader that has gone away (EPIPE) is told nothing.
 */
function deliver(what: string, write: () => void): void {
  try {
    write()
  } catch (err) {
    if (!isBrokenPipe(err)) toStderr(`pidfd: cannot write ${what}: ${reason(err)}\n`)
  }
}

function writeReport(report: Report, o: TimeOptions): void {
  const rendered = o.format === 'json' ? json(report) : o.format === 'markdown' ? markdown(report) : text(report)
  const output = o.output
  if (output !== undefined) deliver(`the report to ${output}`, () => writeFileSync(output, rendered))
  else deliver('the report to stderr', () => writeAllSync(2, rendered))
  const summary = process.env.GITHUB_STEP_SUMMARY
  if (o.summary && summary) deliver(`the summary to $GITHUB_STEP_SUMMARY (${summary})`, () => appendSummary(summary, markdown(report) + '\n'))
}

/**
 * Appends to the file an inherited variable names, opened without blocking: a FIFO nobody reads
 * (ENXIO) or a full one (EAGAIN) is reported, never waited on.
 */
function appendSummary(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o666)
  try {
    writeAllSync(fd, text, 0)
  } finally {
    closeSync(fd)
  }
}

/**
 * Signals Node keeps for itself or ignores, which re-raising cannot turn into the same ending:
 * SIGUSR1 starts the inspector, SIGPIPE is ignored; the rest do not end a process by default.
 */
const NOT_RERAISED = new Set(['SIGUSR1', 'SIGPIPE', 'SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'])

/** Ends this process the way the command ended: the same signal, else 128+n. */
function raise(signal: NodeJS.Signals | null, number: number): never {
  if (!NOT_RERAISED.has(signal ?? '')) {
    if (signal) process.removeAllListeners(signal)
    try {
      // With the default action restored, the kernel ends us on the way out of this call.
      process.kill(process.pid, signal ?? number)
    } catch {
      // fall through to the exit status
    }
  }
  process.exit(128 + number)
}

/**
 * --trace: the command's environment gets PIDFD_TRACE (a file of ours unless --trace-file names
 * one) and `-r pidfd/register` in NODE_OPTIONS, so every Node process of the tree swaps
 * child_process for this package and each child it starts leaves a line at its exit.
 */
function traceSetup(keep: string | undefined): { path: string; env: NodeJS.ProcessEnv; done(): void } {
  const dir = keep === undefined ? mkdtempSync(join(tmpdir(), 'pidfd-trace-')) : undefined
  const path = keep ?? join(dir!, 'trace.jsonl')
  if (keep !== undefined) writeFileSync(keep, '')
  const register = join(__dirname, '..', 'register.js')
  const nodeOptions = [`--require=${JSON.stringify(register)}`, process.env.NODE_OPTIONS].filter(Boolean).join(' ')
  return {
    path,
    env: { ...process.env, PIDFD_TRACE: path, NODE_OPTIONS: nodeOptions },
    done: () => {
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * --leftovers kill: SIGTERM to each, SIGKILL after --kill-after (with a cgroup: SIGTERM to
 * every process in it, then cgroup.kill), reaped (their usage counts); wait: until none runs,
 * or the timeout; report: nothing more. After a timeout, whatever the action, until the tree is
 * gone: the timeout's SIGKILL (cgroup.kill) ends what outlived its first signal.
 */
async function settleLeftovers(tree: Subreaper, cgroup: Cgroup | null, o: TimeOptions, timedOut: () => boolean): Promise<void> {
  // Gone when no orphan is left to reap here (not when none is listed as running: a Node whose
  // main thread has exited is a zombie for a while before it can be reaped, and stopping then
  // lost its rusage), and with a cgroup, when cgroup.events says the cgroup is empty too.
  const gone = () => {
    tree.reap()
    return tree.empty() && !cgroup?.populated()
  }
  if (gone()) return
  if (o.leftovers === 'kill') {
    if (cgroup) cgroup.signal('SIGTERM')
    else tree.signal('SIGTERM')
    // A monotonic clock: --kill-after may be long, and the wall clock may be changed meanwhile.
    const end = performance.now() + o.killAfterMs
    while (!gone() && performance.now() < end) await sleep(20)
    if (!gone()) {
      cgroup?.kill()
      // Also an orphan moved out of the cgroup, which gone() waits for too.
      tree.signal('SIGKILL')
    }
    while (!gone()) await sleep(20)
    return
  }
  // wait: bounded by --timeout, whose timer then ends the tree (and this wait with it).
  if (o.leftovers === 'wait') while (!gone() && !timedOut()) await sleep(50)
  while (timedOut() && !gone()) await sleep(20)
}

/**
 * The command, started in `cgroup` where there is one. A cgroup it cannot be started in (the
 * spawn helper cannot run here) is `cgroupError`, and no child: the caller decides (--cgroup
 * auto starts it without, required does not start it).
 */
function start(file: string, args: string[], options: { processGroup: boolean; env?: NodeJS.ProcessEnv | undefined }, cgroup: Cgroup | null): { child: Subprocess | null; cgroupError: string | null } {
  const base = { stdio: 'inherit' as const, processGroup: options.processGroup, ...(options.env && { env: options.env }) }
  try {
    // If this process is SIGKILLed, what the command started must not run on: the cgroup's guard
    // ends all of it and removes the cgroup; without one, the command's own guard ends it and the
    // group it leads (with --timeout).
    return { child: spawn(file, args, cgroup ? { ...base, cgroup } : { ...base, guard: true }), cgroupError: null }
  } catch (err) {
    const message = (err as Error).message
    if (!cgroup || !message.includes('cgroup')) throw err
    return { child: null, cgroupError: `the command cannot be started in ${cgroup.path}: ${message}` }
  }
}

/** Waits for the child's 'spawn' or 'error'. */
function started(child: Subprocess): Promise<(NodeJS.ErrnoException & { step?: string }) | null> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(null))
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err))
  })
}

/** Which method measured each figure of the tree, and why a better one was missing. */
function methods(cgroup: CgroupReport, o: TimeOptions): Methods {
  const s = cgroup.stats
  const why = (missing: string | undefined) => missing ?? (cgroup.path === null ? 'no cgroup' : 'not in the cgroup')
  return {
    peakMemory: s?.memoryPeakKiB != null ? 'cgroup memory.peak (the whole tree at once)' : `largest single process maxRSS (rusage); ${why(s?.missing.memoryPeak)}`,
    cpu: s?.cpu ? 'cgroup cpu.stat (every process that was in the cgroup)' : `rusage of the command, the descendants it waited for and the orphans reaped here; ${why(s?.missing.cpu)}`,
    processes: s?.pidsPeak != null ? 'cgroup pids.peak (the most at once)' : `count of the command and the orphans reaped here; ${why(s?.missing.pidsPeak)}`,
    end: cgroup.path ? 'cgroup.events (populated 0)' : "the subreaper's list of descendants",
    ...(o.timeoutMs !== undefined && {
      timeout: cgroup.path ? `${String(o.killSignal)} to every process in the cgroup, then cgroup.kill after --kill-after` : `${String(o.killSignal)} to the process group and every descendant reparented here, then SIGKILL after --kill-after`,
    }),
  }
}

/** A GitHub Actions warning annotation listing the leftovers (read from this step's stdout). */
function annotate(left: Leftover[], action: TimeOptions['leftovers']): void {
  const what = left.map((l) => `${l.pid} ${l.command.join(' ').slice(0, 80)}`).join('; ')
  const done = action === 'kill' ? ' (killed)' : action === 'wait' ? ' (waited for)' : ''
  const message = `${left.length} process${left.length === 1 ? '' : 'es'} left running by the command${done}: ${what}`
  deliver('the annotation', () => writeAllSync(1, `::warning title=pidfd time::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`))
}

export async function time(argv: string[]): Promise<number> {
  const parsed = parse(argv)
  if (parsed === 'help') {
    await print(TIME_HELP)
    return 0
  }
  const { options, command } = parsed
  await loadHumanisers()

  // With --timeout the command runs in a process group of its own, as GNU timeout runs it, so
  // the timeout ends everything it started there (`sh -c 'sleep 100 & wait'` leaves no sleep).
  const ownGroup = options.timeoutMs !== undefined
  // As /usr/bin/time: the terminal delivers SIGINT and SIGQUIT to the command too, so pidfd
  // ignores them (but passes them on to a command in its own group, which the terminal no
  // longer reaches); SIGTERM and SIGHUP (what CI runners send) are passed on.
  let forwardTo: ((signal: NodeJS.Signals) => void) | null = null
  const ignore = () => {}
  const forward = (signal: NodeJS.Signals) => forwardTo?.(signal)
  process.on('SIGINT', ownGroup ? forward : ignore)
  process.on('SIGQUIT', ownGroup ? forward : ignore)
  process.on('SIGTERM', forward)
  process.on('SIGHUP', forward)

  const total = options.warmup + options.runs
  const measured: Report[] = []
  let status: number | null = null
  let last: { report: Report; left: Leftover[]; stillEarlier: number[] } | null = null
  // What earlier runs left running (--leftovers report): not the next run's leftovers. (The
  // last run's go in too, and nothing reads them.)
  const earlier: number[] = []
  for (let i = 0; i < total; i++) {
    const run = await once(command, options, ownGroup, (to) => (forwardTo = to), earlier)
    if (typeof run === 'number') return run // the command could not be started
    if (i >= options.warmup) measured.push(run.report)
    earlier.push(...run.left.map((l) => l.pid))
    last = run
    // The worst ending wins: a timeout, then a budget, then leftovers, then a failing command.
    const ending = exitStatus(run.report, run.left, options)
    status = status === null ? ending : worse(status, ending)
  }
  const { report, left, stillEarlier } = last!
  if (options.runs > 1) report.runs = summarizeRuns(measured, options.warmup)
  if (total > 1) report.earlierLeftovers = stillEarlier
  writeReport(report, options)
  if (left.length > 0 && process.env.GITHUB_ACTIONS === 'true') annotate(left, options.leftovers)
  // One run killed by a signal: end the same way, so the calling shell sees the same status.
  if (total === 1 && status === 128 + (report.signalNumber ?? -128) && report.status === 'signaled') raise(report.signal, report.signalNumber!)
  return status ?? 0
}

/** The status of one run: 124, 123, 122, the command's own (128+n for a signal). */
function exitStatus(report: Report, left: Leftover[], o: TimeOptions): number {
  if (report.timedOut) return EXIT.TIMEOUT
  if (report.breaches.length > 0) return EXIT.BUDGET
  if (o.failOnLeftovers && left.length > 0) return EXIT.LEFTOVERS
  if (report.signalNumber !== null) return 128 + report.signalNumber // only a signaled run has one
  return report.code ?? 1
}

const RANK: Record<number, number> = { [EXIT.TIMEOUT]: 4, [EXIT.BUDGET]: 3, [EXIT.LEFTOVERS]: 2 }
/** Of two runs' statuses, the one to exit with: the higher rank, else the first failure. */
function worse(a: number, b: number): number {
  const rank = (status: number) => RANK[status] ?? (status === 0 ? 0 : 1)
  return rank(b) > rank(a) ? b : a
}

function spread(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! }
}

/** --runs: min, median and max of the measured runs' wall time, CPU and peak RSS. */
function summarizeRuns(reports: Report[], warmup: number): NonNullable<Report['runs']> {
  return {
    count: reports.length,
    warmup,
    wallTimeMs: spread(reports.map((r) => r.wallTimeMs)),
    cpuMs: spread(reports.map((r) => (r.rusage!.userCPUTime + r.rusage!.systemCPUTime) / 1000)),
    maxRSSKiB: spread(reports.map((r) => r.rusage!.maxRSS)),
  }
}

/**
 * One run of the command, to its end and its leftovers' (per --leftovers); its report, not yet
 * written. A number: the command could not be started (127, 126), said on stderr.
 */
async function once(
  command: string[],
  options: TimeOptions,
  ownGroup: boolean,
  // Signals to pidfd go to this run's command from its start; once it has exited, they reach
  // nobody (its Subprocess answers false), until the next run's.
  forwardTo: (to: (signal: NodeJS.Signals) => void) => void,
  earlier: number[] = [],
): Promise<{ report: Report; left: Leftover[]; stillEarlier: number[] } | number> {
  const [file, ...args] = command as [string, ...string[]]
  // A cgroup of the command's own, where one can be had (--cgroup auto, required).
  let cgroup: Cgroup | null = null
  let cgroupWhy: string | null = options.cgroup === 'off' ? '--cgroup off' : null
  if (options.cgroup !== 'off') {
    try {
      cgroup = Cgroup.create({ guard: true })
    } catch (err) {
      const e = err as Error & { code?: string; path?: string }
      cgroupWhy = e.message.startsWith('cannot make a cgroup: ') ? e.message.slice(22) : `cannot make a cgroup (${e.code ?? e.message})`
    }
  }
  const refuse = (why: string) => {
    toStderr(`pidfd: --cgroup required: ${why}\n`)
    return EXIT.CGROUP
  }
  if (!cgroup && options.cgroup === 'required') return refuse(cgroupWhy!)
  const trace = options.trace ? traceSetup(options.traceFile) : null
  // Orphans of the command are reparented here and reaped with their usage.
  const tree = Subreaper.start()
  const env = trace?.env
  let startedAt = process.hrtime.bigint()
  const first = start(file, args, { processGroup: ownGroup, env }, cgroup)
  let child = first.child
  let spawnError = child ? await started(child) : null
  // The child could not enter the cgroup (it ran nothing): without it (auto), or not at all.
  // ENOSYS: the cgroup option needs the spawn helper, which cannot run here (the one option
  // given that needs it).
  const refusedHere = spawnError?.code === 'ENOSYS' ? `the command cannot be started in ${cgroup?.path}: ${spawnError.message}` : null
  if (cgroup && (first.cgroupError || refusedHere || spawnError?.step === 'cgroup.procs')) {
    cgroupWhy = first.cgroupError ?? refusedHere ?? `the command could not enter ${cgroup.path} (cgroup.procs: ${spawnError!.code})`
    cgroup.remove()
    cgroup = null
    if (options.cgroup === 'required') {
      trace?.done()
      tree.stop()
      return refuse(cgroupWhy)
    }
    startedAt = process.hrtime.bigint()
    child = start(file, args, { processGroup: ownGroup, env }, null).child
    spawnError = await started(child!)
  }
  if (!child) throw new Error('unreachable: no child and no cgroup error')
  const signalCommand = (signal: NodeJS.Signals | number) => (ownGroup ? child.killGroup(signal) : child.kill(signal))
  forwardTo(signalCommand)
  if (spawnError) {
    trace?.done()
    tree.stop()
    // The child that failed its exec may still be on its way out of the cgroup.
    if (cgroup) await removeCgroup(cgroup, finishCgroup(cgroup, null, null))
    const notFound = spawnError.code === 'ENOENT'
    toStderr(`pidfd: ${file}: ${notFound ? 'command not found' : `cannot run it (${spawnError.code})`}\n`)
    return notFound ? EXIT.NOT_FOUND : EXIT.CANNOT_EXECUTE
  }

  let timedOut = false
  // Long timers: a --timeout or --kill-after past 24.8 days must not overflow setTimeout.
  let timer: LongTimer | undefined
  let killAfter: LongTimer | undefined
  if (options.timeoutMs !== undefined) {
    const tg = cgroup
    // The whole tree: with a cgroup, every process in it (SIGKILL by cgroup.kill, which reaches
    // a process forking meanwhile too); else the command's group, and every descendant
    // reparented here.
    const signalTree = (signal: NodeJS.Signals | number) => {
      if (tg) {
        if (toSignalNumber(signal) === 9) tg.kill()
        else tg.signal(signal)
        return
      }
      signalCommand(signal)
      // Also what left the group (setsid) below the command, and what it orphaned.
      tree.signal(signal, child.pid === undefined ? [] : [child.pid])
    }
    timer = setLongTimeout(() => {
      timedOut = true
      signalTree(options.killSignal)
      killAfter = setLongTimeout(() => signalTree('SIGKILL'), options.killAfterMs).unref()
    }, options.timeoutMs)
  }

  const exit = await child.exited
  const wallTimeMs = Number(process.hrtime.bigint() - startedAt) / 1e6
  // Not what an earlier run left (--runs), nor what that started (listed after its parent):
  // those still running are told apart.
  const theirs = new Set(earlier)
  const left: Leftover[] = []
  const stillEarlier: number[] = []
  for (const l of tree.leftovers()) {
    if (!theirs.has(l.pid) && !theirs.has(l.ppid)) left.push(l)
    else {
      theirs.add(l.pid)
      stillEarlier.push(l.pid)
    }
  }
  await settleLeftovers(tree, cgroup, options, () => timedOut)
  timer?.clear()
  // Its SIGKILL must not reach the next run's tree (--runs).
  killAfter?.clear()
  tree.reap()
  tree.stop()
  const cgroupReport = finishCgroup(cgroup, cgroupWhy, child.cgroupVia)
  await removeCgroup(cgroup, cgroupReport)
  const traced = trace ? summarize(readTrace(trace.path)) : undefined
  trace?.done()
  const treeUsage = { processes: 1 + tree.reaped.length, rusage: combineUsage(exit.rusage, tree.usage()) }
  const partial = {
    command,
    wallTimeMs,
    timedOut,
    ...exit,
    tree: treeUsage,
    leftovers: left,
    leftoversAction: options.leftovers,
    cgroup: cgroupReport,
    methods: methods(cgroupReport, options),
    ...(traced && { trace: traced }),
  }
  const report: Report = { ...partial, breaches: breaches(partial, options) }
  return { report, left, stillEarlier }
}



/** The cgroup's figures, read once the run is done (before anything is moved out of it). */
function finishCgroup(cgroup: Cgroup | null, why: string | null, via: Subprocess['cgroupVia']): CgroupReport {
  if (!cgroup) return { path: null, via: null, why, stats: null, removed: false, movedOut: null }
  return { path: cgroup.path, via, why: null, stats: cgroup.stats(), removed: false, movedOut: null }
}

/**
 * Removes the cgroup once empty. Leftovers still running in it (--leftovers report) are moved to
 * the cgroup pidfd runs in, where they would have been without one, so nothing is left behind
 * in the hierarchy; the report says which and where.
 */
async function removeCgroup(cgroup: Cgroup | null, report: CgroupReport): Promise<void> {
  if (!cgroup) return
  if (cgroup.populated()) {
    const pids = cgroup.moveOut()
    if (pids.length > 0) report.movedOut = { to: cgroup.parent, pids }
  }
  // An exit just reaped may take the kernel a moment to count out of the cgroup.
  for (let i = 0; i < 100 && !(report.removed = cgroup.remove()); i++) await sleep(10)
}

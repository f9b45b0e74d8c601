// `pidfd wait <pid>...` and `pidfd info <pid>`: any process, not only our children.

import { parseArgs } from 'node:util'

import { AsyncPidFd, PidFd } from '../pidfd.js'
import type { ExitInfo } from '../exit.js'
import { print } from './output.js'
import { setLongTimeout } from './timer.js'
import { parseDurationMs } from './units.js'
import { EXIT, UsageError } from './usage.js'

export const WAIT_HELP = `Usage: pidfd wait [--timeout DURATION] [--format text|json] pid...

Blocks until each process is gone (not only children: any process this user may see), then
prints how it ended where the kernel tells it (Linux 6.15; before that the status is unknown).
A process that is not our child is gone when its own parent has reaped it.

Options:
  --timeout DURATION   give up after DURATION (exit status 124): digits, optionally .digits,
                       then ms, s, m, h or d (a bare number is seconds): 30s, 5m, 1.5h, 25d
  --format text|json   output format (default text)
  -h, --help           this help

Examples:
  pidfd wait 1234
  pidfd wait --timeout 1m --format json 1234 5678
`

export const INFO_HELP = `Usage: pidfd info [--format text|json] pid

Prints what the kernel tells about a process through its pidfd: pid, tgid, ppid, real,
effective, saved and file-system uids and gids, cgroup id (PIDFD_GET_INFO on Linux 6.13, /proc
before that).

Options:
  --format text|json   output format (default text)
  -h, --help           this help

Examples:
  pidfd info $$
  pidfd info --format json 1
`

function pids(positionals: string[]): number[] {
  if (positionals.length === 0) throw new UsageError('no pid given')
  return positionals.map((p) => {
    const n = Number(p)
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n) || n < 1 || n > 2 ** 31 - 1) throw new UsageError(`'${p}' is not a pid`)
    return n
  })
}

function format(value: string | undefined): 'text' | 'json' {
  if (value === 'text' || value === 'json') return value
  throw new UsageError(`--format: '${value}' is not one of text, json`)
}

function describe(exit: ExitInfo | null): string {
  if (exit === null) return 'not running'
  if (exit.status === 'exited') return `exited ${exit.code}`
  if (exit.status === 'signaled') return `killed by ${exit.signal ?? `signal ${exit.signalNumber}`}`
  return 'ended (status unknown: it needs Linux 6.15)'
}

export async function wait(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { timeout: { type: 'string' }, format: { type: 'string', default: 'text' }, help: { type: 'boolean', short: 'h', default: false } },
  })
  if (values.help) {
    await print(WAIT_HELP)
    return 0
  }
  const out = format(values.format)
  const timeout = values.timeout === undefined ? undefined : parseDurationMs('--timeout', values.timeout)
  const list = pids(positionals)
  // Not AbortSignal.timeout: it takes whole milliseconds up to 2^32 − 1 only, and fires after
  // 1 ms past 2^31 − 1 (24.8 days). Unreferenced as that one is: the waits keep the loop alive.
  const controller = timeout === undefined ? undefined : new AbortController()
  const timer = timeout === undefined ? undefined : setLongTimeout(() => controller!.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), timeout).unref()
  const signal = controller?.signal
  const results = await Promise.all(
    list.map(async (pid) => {
      let fd: AsyncPidFd
      try {
        fd = AsyncPidFd.fromPid(pid)
      } catch (err) {
        if ((err as { code?: string }).code === 'ESRCH') return { pid, exit: null, timedOut: false }
        throw err
      }
      try {
        return { pid, exit: await fd.wait({ signal }), timedOut: false }
      } catch (err) {
        if ((err as { code?: string }).code === 'ABORT_ERR') return { pid, exit: null, timedOut: true }
        throw err
      } finally {
        fd.close()
      }
    }),
  )
  timer?.clear()
  if (out === 'json') await print(JSON.stringify(results, null, 2) + '\n')
  else await print(results.map((r) => `${r.pid}: ${r.timedOut ? 'still running at the timeout' : describe(r.exit)}\n`).join(''))
  return results.some((r) => r.timedOut) ? EXIT.TIMEOUT : 0
}

export async function info(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'text' }, help: { type: 'boolean', short: 'h', default: false } },
  })
  if (values.help) {
    await print(INFO_HELP)
    return 0
  }
  const out = format(values.format)
  const [pid, ...rest] = pids(positionals)
  if (rest.length) throw new UsageError('info takes one pid')
  const fd = PidFd.fromPid(pid!)
  const data = fd.info()
  fd.close()
  const plain = { ...data, cgroupId: data.cgroupId === null ? null : data.cgroupId.toString() }
  if (out === 'json') await print(JSON.stringify(plain, null, 2) + '\n')
  else {
    const lines = Object.entries(plain)
      .filter(([k]) => k !== 'exit')
      .map(([k, v]) => `${k.padEnd(9)} ${v}\n`)
    if (data.exit) lines.push(`exit      ${describe(data.exit)}\n`)
    await print(lines.join(''))
  }
  return 0
}

// Shared by the tests: real processes, real descriptors, no mocks.

import { execFile, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test, { type ExecutionContext } from 'ava'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The built entry point, as a user's require('pidfd') loads it. */
export const entry = join(root, 'index.js')

/**
 * A line of JavaScript that sets the package's test hooks (src/hooks.rs) in the Node it runs in:
 * the next spawn helper pauses at `pause` (request|exec|reply[:N]), and every exchange with a
 * helper has `deadlineMs`. Only a call in the process sets them; no environment does.
 */
export function testHooks({ pause, deadlineMs }: { pause?: string; deadlineMs?: number }): string {
  const native = JSON.stringify(join(root, 'lib', 'native.js'))
  return `require(${native}).binding.setTestHooks(${JSON.stringify(pause ?? null)}, ${JSON.stringify(deadlineMs ?? null)});\n`
}

/**
 * An app written for child_process, as a file in `dir` (with the child it forks): execFile, spawn
 * (with 'error' handled), spawnSync and fork with a message each way, each step's outcome
 * printed as a JSON array when all are done. `works`: what it prints where everything works.
 */
export function childProcessApp(dir: string): { app: string; works: string[] } {
  const child = join(dir, 'child.js')
  writeFileSync(child, `process.on('message', (m) => process.send(m + ' back', () => process.disconnect()))\n`)
  const app = join(dir, 'app.js')
  writeFileSync(
    app,
    `const cp = require('node:child_process');
     const seen = [];
     cp.execFile('echo', ['hi'], (err, stdout) => {
       seen.push(err ? 'execFile ' + err.code : 'execFile ' + stdout.trim());
       const sub = cp.spawn('sh', ['-c', 'exit 3']);
       sub.on('error', (e) => seen.push('spawn error ' + e.code));
       sub.on('close', (code) => {
         seen.push('spawn ' + code);
         const sync = cp.spawnSync('sh', ['-c', 'echo sync']);
         seen.push(sync.error ? 'spawnSync ' + sync.error.code : String(sync.stdout).trim());
         const forked = cp.fork(${JSON.stringify(child)});
         forked.on('error', (e) => seen.push('fork error ' + e.code));
         forked.on('message', (m) => seen.push(m));
         forked.on('close', (code) => { seen.push('fork ' + code); console.log(JSON.stringify(seen)) });
         forked.send('hello');
       });
     });\n`,
  )
  return { app, works: ['execFile hi', 'spawn 3', 'sync', 'hello back', 'fork 0'] }
}

/**
 * A child (a file in `dir`) whose server sends both its connections to the parent over IPC.
 * Told 'count', it sends `{ count }` from getConnections(); 'close', it closes the server and
 * sends 'closed' once close() calls back (when the parent holds none of them); 'bye', it exits.
 */
export function lenderScript(dir: string): string {
  const path = join(dir, 'lender.js')
  writeFileSync(
    path,
    `const net = require('net')
const server = net.createServer((socket) => process.send('socket', socket)).listen(0, '127.0.0.1', () => {
  for (let i = 0; i < 2; i++) net.connect(server.address().port, '127.0.0.1').on('error', () => {})
})
process.on('message', (m) => {
  if (m === 'count') server.getConnections((err, n) => process.send({ count: err ? err.code : n }))
  if (m === 'close') server.close(() => process.send('closed'))
  if (m === 'bye') process.exit(0)
})
`,
  )
  return path
}

/** Whether the running kernel is at least `major.minor`. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split('.').map((n) => parseInt(n, 10))
  return a > major || (a === major && b >= minor)
}

/** Our open descriptors, each with what it points at (a pipe, a socket, anon_inode:[pidfd]…). */
export function fdTable(): Map<string, string> {
  const table = new Map<string, string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      table.set(fd, readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      // closed between the listing and the read
    }
  }
  return table
}

/** Descriptors open now that were not open (to the same thing) in `before`. */
export function newFds(before: Map<string, string>): string[] {
  return [...fdTable()].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} → ${target}`)
}

/** The one-letter state of a process from /proc (Z: zombie), or null once it is reaped. */
/**
 * SIGKILLs `pid` where it can name a process other than this one and init: an integer above 1.
 * A test that read no pid (an empty line, and Number('') is 0) would otherwise end its own
 * process group (0: the runner too), every process it may signal (-1), or init. A process
 * already gone is fine.
 */
export function killPid(pid: unknown): void {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1 || pid === process.pid) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone
  }
}

export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return null
  }
}

export function gone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `predicate` holds, up to `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (predicate()) return true
    await sleep(10)
  }
  return predicate()
}

/**
 * `promise`, or a rejection naming `what` once `ms` have passed: a step that never ends fails its
 * own test, with its name, instead of stalling the run until ava's timeout names nothing.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

export interface NodeRun {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
}

/** Runs a CommonJS script in a fresh Node process, with `pidfd` resolving to this package. */
export function runNode(
  script: string,
  { timeoutMs = 20_000, nodeArgs = [] as string[], prelude = true, env = {} as Record<string, string>, cwd = undefined as string | undefined, fileSizeLimit = undefined as number | undefined } = {},
): Promise<NodeRun> {
  const code = (prelude ? `const pidfd = require(${JSON.stringify(entry)});\n` : '') + script
  // With fileSizeLimit (bytes), no file the script writes grows past it (RLIMIT_FSIZE; Node
  // ignores SIGXFSZ, so the write past it fails with EFBIG): a writer gone wrong stops there
  // instead of filling the disk.
  const [file, args] = fileSizeLimit === undefined
    ? [process.execPath, [...nodeArgs, '-e', code]]
    : ['prlimit', [`--fsize=${fileSizeLimit}`, '--', process.execPath, ...nodeArgs, '-e', code]]
  return new Promise((resolve) => {
    const options = { timeout: timeoutMs, env: { ...process.env, ...env }, cwd }
    execFile(file, args, options, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string }) | null
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      })
    })
  })
}

/**
 * Builds `__test__/fixtures/<name>.c` into `out` with the C compiler the build already needs ($CC,
 * else cc); returns null, or why it could not (for runsIf).
 */
export function buildFixture(name: string, out: string, flags: string[] = []): string | null {
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Werror', ...flags, '-o', out, join(root, '__test__', 'fixtures', `${name}.c`)], { stdio: 'pipe' })
    return null
  } catch (err) {
    return `no C compiler to build fixtures/${name}.c: ${(err as Error).message.split('\n')[0]}`
  }
}

/** Asserts a Node-shaped error: class, code and (for system errors) errno and syscall. */
export function isError(
  t: ExecutionContext,
  err: unknown,
  expected: { instanceOf?: new (...a: never[]) => Error; code: string; errno?: number; syscall?: string },
): void {
  t.true(err instanceof (expected.instanceOf ?? Error), `expected ${expected.instanceOf?.name ?? 'Error'}, got ${String(err)}`)
  const e = err as { code?: string; errno?: number; syscall?: string }
  t.is(e.code, expected.code)
  if (expected.errno !== undefined) t.is(e.errno, expected.errno)
  if (expected.syscall !== undefined) t.is(e.syscall, expected.syscall)
}

/**
 * `test`, or `test.skip` with the reason printed where `reason` says why the test cannot run on
 * this machine: a test that cannot run is skipped visibly, never passed silently.
 */
export function runsIf(reason: string | null, title: string): typeof test.skip {
  if (reason === null) return test
  console.log(`skipped: ${title}: ${reason}`)
  return test.skip
}

export const needsRoot = process.getuid?.() === 0 ? null : 'needs root'

/**
 * The built package as npm installs it in `app/node_modules/pidfd`: its JS and the CLI's
 * dependencies, with `extra` files from the root (a `.node`, say); no helper, no Cargo.toml.
 */
export function installedCopy(extra: string[] = []): { app: string; pkg: string; done: () => void } {
  const app = tempDir('pidfd-copy-')
  const pkg = join(app, 'node_modules', 'pidfd')
  mkdirSync(pkg, { recursive: true })
  for (const f of ['index.js', 'package.json', 'lib', ...extra]) cpSync(join(root, f), join(pkg, f), { recursive: true })
  for (const dep of readdirSync(join(root, 'node_modules'))) {
    if (['ms', 'bytes', 'pretty-ms', 'pretty-bytes', 'parse-ms'].includes(dep)) cpSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep), { recursive: true })
  }
  return { app, pkg, done: () => rmSync(app, { recursive: true, force: true }) }
}

/** The cgroup v1 hierarchies mounted here, from /proc/self/mountinfo: each mount point with its
 * super options (the controllers, as `freezer` or `name=systemd`, among them). */
export function cgroupV1Mounts(): Array<{ point: string; options: string[] }> {
  const mounts: Array<{ point: string; options: string[] }> = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ')
    const [type, , options] = after?.split(' ') ?? []
    if (type === 'cgroup') mounts.push({ point: before!.split(' ')[4]!, options: options?.split(',') ?? [] })
  }
  return mounts
}

/** A thread's scheduler slice (ns), from its /proc sched file: undefined where not shown. */
export const sliceOf = (sched: string): string | undefined => /^se\.slice\s*:\s*(\d+)/m.exec(sched)?.[1]
/** Whether /proc shows slices here (CONFIG_SCHED_DEBUG on an EEVDF kernel). */
export const sliceShown = existsSync('/proc/self/sched') && sliceOf(readFileSync('/proc/self/sched', 'utf8')) !== undefined

/** For runsIf: null where strace(1) runs here, else why not. */
export const noStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' })
    return null
  } catch {
    return 'strace is not installed'
  }
})()

/**
 * Runs `node -e script` under strace, tracing `calls`, and gives the lines of Node's main thread
 * in order, each after its tid as `strace -f` writes them (`paths`: strace's -y, which names
 * each descriptor's file; `env`: added to Node's). Each thread is traced into a file of its own
 * (-ff), so a call is never split into `<unfinished ...>` and `<... resumed>` lines by another
 * thread's. The script marks where a step starts with
 * `process.stderr.write('MARK<label>\\n')`; `markIn` finds it.
 */
export async function straceNode(
  script: string,
  calls: string[],
  { paths = false, timeout = 30_000, env = {} }: { paths?: boolean; timeout?: number; env?: Record<string, string> } = {},
): Promise<string[]> {
  const dir = tempDir('pidfd-strace-')
  try {
    // execve too: the main thread's file is the one that starts with Node's.
    const args = ['-ff', '-o', join(dir, 'trace'), ...(paths ? ['-y'] : []), '-e', `trace=execve,${calls.join(',')}`, process.execPath, '-e', script]
    await new Promise<void>((resolve, reject) =>
      execFile('strace', args, { timeout, env: { ...process.env, ...env } }, (err) => (err ? reject(err) : resolve())),
    )
    for (const name of readdirSync(dir)) {
      const lines = readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l !== '')
      if (lines[0]?.startsWith(`execve(${JSON.stringify(process.execPath)}`)) return lines.map((l) => `${name.slice('trace.'.length)} ${l}`)
    }
    throw new Error(`no trace of ${process.execPath} among ${readdirSync(dir).join(', ')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The index of the main thread's write of `MARK<label>\n` to stderr in straceNode's lines (-1: none). */
export const markIn = (lines: string[], label: string | number = ''): number =>
  lines.findIndex((l) => / write\(2(<[^>]*>)?, "MARK/.test(l) && l.includes(`"MARK${label}\\n"`))

/** Why unprivileged user and pid namespaces cannot be had here (null: they can). */
export const userNamespaces: string | null = (() => {
  try {
    execFileSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', 'true'], { stdio: 'pipe' })
    return null
  } catch (err) {
    return `this machine refuses unprivileged user namespaces (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`
  }
})()

/** A code block of a page that is marked `runnable` (```ts runnable): where it is, and its code. */
export interface RunnableBlock {
  file: string
  line: number
  lang: string
  code: string
}

/** The blocks of `page` (a path from the repository's root) marked `runnable`, in order. */
export function runnableBlocks(page: string): RunnableBlock[] {
  const out: RunnableBlock[] = []
  const lines = readFileSync(join(root, page), 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*(.*)$/.exec(lines[i]!)
    if (!open) continue
    const [, fence, lang = '', info = ''] = open
    const start = i
    const body: string[] = []
    while (++i < lines.length && lines[i] !== fence) body.push(lines[i]!)
    if (/\brunnable\b/.test(info)) out.push({ file: page, line: start + 1, lang, code: body.join('\n') + '\n' })
  }
  return out
}

/** Why a child cannot dump core here without changing machine-wide settings (null: it can). */
export const noCoreDump: string | null = (() => {
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim()
  if (pattern.startsWith('|')) return `core_pattern hands cores to a program (${pattern}), not to a file in the child's cwd`
  const hard = /^Max core file size\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
  if (hard === '0') return 'the hard RLIMIT_CORE is 0: a shell cannot raise it'
  return null
})()

/** A figure as the text report writes it, back to a number: a duration in ms, a size in KiB. */
export function figure(text: string): number {
  const m = /^([\d.]+) ?(µs|ms|s|B|kB|KiB|MiB|GiB)$/.exec(text)
  if (!m) throw new Error(`not a figure: ${text}`)
  const scale: Record<string, number> = { µs: 0.001, ms: 1, s: 1000, B: 1 / 1024, kB: 1000 / 1024, KiB: 1, MiB: 1024, GiB: 1024 * 1024 }
  return Number(m[1]) * scale[m[2]!]!
}

/** Patterns of a duration and of a size as the reports write them (what figure() reads back). */
export const DURATION = '[\\d.]+(?:µs|ms|s)'
export const SIZE = '[\\d.]+ (?:B|kB|KiB|MiB|GiB)'

/** `s` matched literally inside a RegExp. */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const madeDirs: string[] = []

/**
 * A directory of its own under the system's temporary one (`prefix` then six random
 * characters), removed with what it holds when this test file's process exits: a suite run
 * leaves nothing in /tmp. A run killed outright (a mutant's timeout) leaves its directories.
 */
export function tempDir(prefix: string): string {
  if (madeDirs.length === 0) {
    process.on('exit', () => {
      for (const dir of madeDirs) {
        try {
          rmSync(dir, { recursive: true, force: true })
        } catch {
          // a mount left on it, or a file a process of another user made: left
        }
      }
    })
  }
  const dir = mkdtempSync(join(tmpdir(), prefix))
  madeDirs.push(dir)
  return dir
}

/**
 * A shell condition: process `pid` (a shell word: `$p`, `$(cat f)`) has exec'd `command` (its
 * arguments joined by spaces, none holding a quote): its command line reads so. Not its comm,
 * which the kernel changes earlier in the exec than the arguments come into place: a process
 * looked at in between has an empty command line.
 */
export const shExecd = (pid: string, command: string): string => `[ "$(tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null)" = '${command} ' ]`

/**
 * A shell snippet for `sh -c` that leaves one process per file running on (`exec sleep 30`,
 * detached from the command's stdio), each writing its pid to its file, and goes on once every
 * one of them is `sleep 30` (a condition, not a delay). Its pid is written before its exec: a
 * command that went on then could end while one was still `sh -c …`, and its report would name
 * that. The caller kills the pids (killPid).
 */
export const startLeftovers = (files: string[]): string =>
  `${files.map((f) => `(sh -c 'echo $$ > ${f}; exec sleep 30' </dev/null >/dev/null 2>&1 &)`).join('; ')}; ${shUntil(files.map((f) => `[ -s ${f} ] && ${shExecd(`$(cat ${f})`, 'sleep 30')}`).join(' && '))}`

/**
 * A shell loop that goes on once `condition` holds, looking every 10 ms, and gives up after
 * 3,000 looks (30 s or more) with status 97: a condition never met fails the command, and the
 * test, instead of spinning until ava's timeout with the loop left running.
 */
export const shUntil = (condition: string): string =>
  `i=0; until ${condition}; do i=$((i+1)); [ $i -lt 3000 ] || exit 97; sleep 0.01; done`

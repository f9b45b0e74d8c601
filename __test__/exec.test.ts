// exec() and execFile() side by side with child_process's: the same callback arguments, the same
// error (message, code, killed, signal, cmd), the same promisified results, the same argument
// errors; and the child they return is the package's, with its usage.

import * as cp from 'node:child_process'
import { promisify } from 'node:util'
import test from 'ava'

import * as pidfd from '../index.js'
import { Subprocess } from '../index.js'

type Exec = (...args: unknown[]) => { pid?: number | undefined }

interface Outcome {
  error: Record<string, unknown> | null
  errorClass: string | null
  stdout: unknown
  stderr: unknown
}

/** Runs one call and gathers what its callback got, in a comparable shape. */
function outcome(fn: Exec, args: unknown[]): Promise<Outcome> {
  return new Promise((resolve) => {
    fn(...args, (error: (Error & Record<string, unknown>) | null, stdout: unknown, stderr: unknown) => {
      resolve({
        error: error && {
          message: error.message,
          code: error.code,
          killed: error.killed,
          signal: error.signal,
          cmd: error.cmd,
          errno: error.errno,
          syscall: error.syscall,
          path: error.path,
          spawnargs: error.spawnargs,
          name: error.name,
          string: String(error),
        },
        errorClass: error?.constructor.name ?? null,
        stdout,
        stderr,
      })
    })
  })
}

const calls: Array<[string, 'exec' | 'execFile', unknown[]]> = [
  ['success, strings', 'execFile', ['sh', ['-c', 'echo out; echo err >&2']]],
  ['a failing command', 'execFile', ['sh', ['-c', 'echo partial; echo oops >&2; exit 3']]],
  ['exec through /bin/sh', 'exec', ['echo "$0" && exit 2']],
  ['exec with a shell named', 'exec', ['echo $0', { shell: 'bash' }]],
  ['encoding buffer', 'execFile', ['printf', ['\\377abc'], { encoding: 'buffer' }]],
  ['encoding latin1', 'execFile', ['printf', ['\\377abc'], { encoding: 'latin1' }]],
  ['an unknown encoding gives Buffers', 'execFile', ['echo', ['x'], { encoding: 'nope' }]],
  ['maxBuffer exceeded on stdout', 'execFile', ['sh', ['-c', 'echo 0123456789abcdef; sleep 5'], { maxBuffer: 10 }]],
  ['maxBuffer exceeded on stderr, buffers', 'execFile', ['sh', ['-c', 'echo 0123456789abcdef >&2; sleep 5'], { maxBuffer: 4, encoding: 'buffer' }]],
  ['maxBuffer 0 with output', 'exec', ['echo hi; sleep 5', { maxBuffer: 0 }]],
  ['maxBuffer Infinity', 'execFile', ['head', ['-c', '3000000', '/dev/zero'], { maxBuffer: Infinity, encoding: 'buffer' }]],
  // An own maxBuffer replaces the default as it is: null compares as 0, undefined as no limit.
  ['maxBuffer null: no byte fits', 'execFile', ['echo', ['hello'], { maxBuffer: null }]],
  ['maxBuffer null, exec', 'exec', ['echo hello', { maxBuffer: null }]],
  ['maxBuffer undefined: no limit, not the default', 'execFile', ['head', ['-c', '3000000', '/dev/zero'], { maxBuffer: undefined, encoding: 'buffer' }]],
  ['timeout kills with SIGTERM', 'execFile', ['sleep', ['5'], { timeout: 100 }]],
  ['timeout with killSignal SIGKILL by number', 'exec', ['sleep 5', { timeout: 100, killSignal: 9 }]],
  ['a timeout after the exit, while a grandchild holds the output open', 'execFile', ['sh', ['-c', 'sleep 2 & exit 3'], { timeout: 200 }]],
  ['a missing program', 'execFile', ['pidfd-no-such-program', ['a']]],
  ['a missing cwd', 'execFile', ['true', [], { cwd: '/nonexistent/dir' }]],
  ['exec of a missing command: the shell says 127', 'exec', ['pidfd-no-such-program']],
  ['env given', 'exec', ['echo "$PIDFD_X"', { env: { PIDFD_X: 'y', PATH: process.env.PATH } }]],
  ['cwd given', 'execFile', ['pwd', [], { cwd: '/tmp' }]],
  ['options only, no args', 'execFile', ['pwd', { cwd: '/' }]],
  ['null args and options', 'execFile', ['echo', null, null]],
  ['args as numbers', 'execFile', ['echo', [1, 2.5]]],
  ['shell: true with execFile', 'execFile', ['echo $0', { shell: true }]],
  ['argv0 is checked and not used', 'execFile', ['sh', ['-c', 'echo $0'], { argv0: 'custom' }]],
]

for (const [title, name, args] of calls) {
  test(`${name}: ${title}, as child_process`, async (t) => {
    const [theirs, ours] = await Promise.all([outcome(cp[name] as unknown as Exec, args), outcome(pidfd[name] as unknown as Exec, args)])
    t.deepEqual(ours, theirs)
  })
}

test('the error carries the child\'s usage, and the returned child is the package\'s', async (t) => {
  let child!: Subprocess
  const err = await new Promise<pidfd.ExecFileException | null>((resolve) => {
    child = pidfd.execFile('sh', ['-c', 'exit 5'], (e) => resolve(e))
  })
  t.true(child instanceof Subprocess)
  t.true(child instanceof cp.ChildProcess)
  t.is(err?.code, 5)
  t.is(typeof err?.resourceUsage?.maxRSS, 'number')
  t.false(Object.keys(err!).includes('resourceUsage'), 'not enumerable: the error prints as Node\'s')
  const exit = await child.exited
  t.is(exit.code, 5)
  t.deepEqual(err?.resourceUsage, exit.rusage)
})

test('a successful exec: the child\'s usage through the returned child', async (t) => {
  let child!: Subprocess
  const stdout = await new Promise<string>((resolve, reject) => {
    child = pidfd.exec('seq 1 100000 | tail -1', (e, out) => (e ? reject(e) : resolve(out as string)))
  })
  t.is(stdout, '100000\n')
  t.true(child.resourceUsage()!.userCPUTime + child.resourceUsage()!.systemCPUTime > 0)
})

test('promisified: { stdout, stderr }, a rejection carrying them, and .child, as child_process', async (t) => {
  for (const mod of [cp, pidfd] as const) {
    type Promised = (...args: unknown[]) => Promise<unknown> & { child: unknown }
    const execP = promisify(mod.exec) as unknown as Promised
    const execFileP = promisify(mod.execFile) as unknown as Promised
    const ok = execFileP('sh', ['-c', 'echo a; echo b >&2'])
    t.true(ok.child instanceof cp.ChildProcess)
    t.deepEqual(await ok, { stdout: 'a\n', stderr: 'b\n' })
    const bad = await execP('echo out; echo err >&2; exit 7').catch((e: Record<string, unknown>) => e)
    t.like(bad, { code: 7, stdout: 'out\n', stderr: 'err\n', killed: false, signal: null, cmd: 'echo out; echo err >&2; exit 7' })
    t.is(execP.name, (mod.exec as unknown as Record<symbol, { name: string }>)[promisify.custom]!.name)
  }
  // Typed as Node types its own: the output's strings, and the child (here the package's).
  const typed = promisify(pidfd.execFile)('echo', ['typed'])
  const { stdout }: { stdout: string } = await typed
  t.is(stdout, 'typed\n')
  t.is((await typed.child.exited).code, 0)
})

test('an AbortSignal ends the child with an AbortError, as child_process', async (t) => {
  const run = (fn: Exec, already: boolean) => {
    const ac = new AbortController()
    if (already) ac.abort()
    const p = outcome(fn, ['sleep', ['5'], { signal: ac.signal }])
    if (!already) setTimeout(() => ac.abort(), 50)
    return p
  }
  for (const already of [false, true]) {
    const [theirs, ours] = await Promise.all([run(cp.execFile as unknown as Exec, already), run(pidfd.execFile as unknown as Exec, already)])
    t.deepEqual(ours, theirs)
    t.is(ours.error?.name, 'AbortError')
  }
})

test('options are read as own properties only: a polluted prototype reaches nothing', async (t) => {
  const proto = Object.prototype as Record<string, unknown>
  proto.shell = true
  proto.cwd = '/nonexistent'
  proto.maxBuffer = 1
  try {
    const [theirs, ours] = await Promise.all([
      outcome(cp.execFile as unknown as Exec, ['echo', ['$HOME', 'long output']]),
      outcome(pidfd.execFile as unknown as Exec, ['echo', ['$HOME', 'long output']]),
    ])
    t.deepEqual(ours, theirs)
    t.is(ours.stdout, '$HOME long output\n')
  } finally {
    delete proto.shell
    delete proto.cwd
    delete proto.maxBuffer
  }
})

const badCalls: Array<[string, 'exec' | 'execFile', unknown[]]> = [
  ['a command that is not a string', 'exec', [42]],
  ['a command with a NUL byte', 'exec', ['echo a\0b']],
  ['options that are a string', 'execFile', ['echo', [], 'utf8']],
  ['options that are an array of arrays', 'execFile', ['echo', [], [[]]]],
  ['a callback that is not a function', 'execFile', ['echo', [], {}, 'cb']],
  ['a negative maxBuffer', 'execFile', ['echo', [], { maxBuffer: -1 }]],
  ['a maxBuffer that is a string', 'execFile', ['echo', [], { maxBuffer: '10' }]],
  ['a NaN maxBuffer', 'execFile', ['echo', [], { maxBuffer: NaN }]],
  ['a negative timeout', 'execFile', ['echo', [], { timeout: -1 }]],
  ['a fractional timeout', 'exec', ['echo', { timeout: 1.5 }]],
  ['an unknown killSignal', 'execFile', ['echo', [], { killSignal: 'SIGNOPE' }]],
  ['a killSignal that is an object', 'execFile', ['echo', [], { killSignal: {} }]],
  ['an argv0 that is a number', 'execFile', ['echo', [], { argv0: 5 }]],
  ['a file that is not a string', 'execFile', [5]],
  ['an empty file', 'execFile', ['']],
  ['a signal that is not an AbortSignal', 'execFile', ['echo', [], { signal: 'x' }]],
  ['args that are a string', 'execFile', ['echo', 'abc']],
  ['a uid that is a string', 'execFile', ['echo', [], { uid: 'root' }]],
]

for (const [title, name, args] of badCalls) {
  test(`${name}: ${title} throws as child_process does`, (t) => {
    const thrown = (fn: Exec) => {
      try {
        fn(...args, () => {})
      } catch (e) {
        const err = e as Error & { code?: string }
        return { class: err.constructor.name, code: err.code, message: err.message, string: String(err) }
      }
      return null
    }
    const theirs = thrown(cp[name] as unknown as Exec)
    t.not(theirs, null, 'child_process throws')
    t.deepEqual(thrown(pidfd[name] as unknown as Exec), theirs)
  })
}

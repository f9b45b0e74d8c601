// exec() and execFile() side by side with child_process's: the same callback arguments, the same
// error (message, code, killed, signal, cmd), the same promisified results, the same argument
// errors; and the child they return is the package's, with its usage.

import * as cp from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import test from 'ava'

import * as pidfd from '../index.js'
import { Subprocess } from '../index.js'
import { runNode, within } from './helpers.js'

type Exec = (...args: unknown[]) => { pid?: number | undefined }

interface Outcome {
  error: Record<string, unknown> | null
  errorClass: string | null
  stdout: unknown
  stderr: unknown
}

/**
 * Output as t.deepEqual can compare it without stalling this file's event loop: ava takes about
 * 2 µs a byte to compare two Buffers (3 MB: 5.7 s), time in which every other test of the file
 * waits, its timers late (a `timeout: 100` firing after its `sleep` has ended by itself). A
 * Buffer past 4 KiB is compared by its length and digest, its type kept.
 */
function comparable(output: unknown): unknown {
  if (!Buffer.isBuffer(output) || output.length <= 4096) return output
  return { buffer: output.length, sha256: createHash('sha256').update(output).digest('hex') }
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
        stdout: comparable(stdout),
        stderr: comparable(stderr),
      })
    })
  })
}

// Every `sleep 30` in this file is ended by a kill (a timeout, maxBuffer, an abort): the 30 s are
// room for a timer that fires late on a busy machine, where a sleep that ended first would
// exit 0 and turn the kill into a no-op, for child_process and the package alike.
const calls: Array<[string, 'exec' | 'execFile', unknown[]]> = [
  ['success, strings', 'execFile', ['sh', ['-c', 'echo out; echo err >&2']]],
  ['a failing command', 'execFile', ['sh', ['-c', 'echo partial; echo oops >&2; exit 3']]],
  ['exec through /bin/sh', 'exec', ['echo "$0" && exit 2']],
  ['exec with a shell named', 'exec', ['echo $0', { shell: 'bash' }]],
  ['encoding buffer', 'execFile', ['printf', ['\\377abc'], { encoding: 'buffer' }]],
  ['encoding latin1', 'execFile', ['printf', ['\\377abc'], { encoding: 'latin1' }]],
  ['an unknown encoding gives Buffers', 'execFile', ['echo', ['x'], { encoding: 'nope' }]],
  ['maxBuffer exceeded on stdout', 'execFile', ['sh', ['-c', 'echo 0123456789abcdef; exec sleep 30'], { maxBuffer: 10 }]],
  ['maxBuffer exceeded on stderr, buffers', 'execFile', ['sh', ['-c', 'echo 0123456789abcdef >&2; exec sleep 30'], { maxBuffer: 4, encoding: 'buffer' }]],
  ['maxBuffer 0 with output', 'exec', ['echo hi; exec sleep 30', { maxBuffer: 0 }]],
  // The child would sleep on: only its kill ends the call.
  ['maxBuffer exceeded: the child is killed', 'execFile', ['sh', ['-c', 'echo 0123456789abcdef; exec sleep 1000'], { maxBuffer: 10 }]],
  // maxBuffer counts bytes, not characters: four '€' are 12 bytes. A string chunk is cut by its
  // byte count as an index, as Node cuts it (so the four characters stay), a Buffer at 10 bytes.
  ['maxBuffer counts bytes: four € (12 bytes) over 10, utf8', 'execFile', ['sh', ['-c', "printf '€€€€'; exec sleep 30"], { maxBuffer: 10, encoding: 'utf8' }]],
  ['maxBuffer counts bytes: four € (12 bytes) over 10, buffer', 'execFile', ['sh', ['-c', "printf '€€€€'; exec sleep 30"], { maxBuffer: 10, encoding: 'buffer' }]],
  ['maxBuffer counts bytes: four € on stderr, exec', 'exec', ["printf '€€€€' >&2; exec sleep 30", { maxBuffer: 10 }]],
  ['maxBuffer counts bytes: four € fit in 12', 'execFile', ['printf', ['€€€€'], { maxBuffer: 12 }]],
  ['maxBuffer Infinity', 'execFile', ['head', ['-c', '3000000', '/dev/zero'], { maxBuffer: Infinity, encoding: 'buffer' }]],
  // An own maxBuffer replaces the default as it is: null compares as 0, undefined as no limit.
  ['maxBuffer null: no byte fits', 'execFile', ['echo', ['hello'], { maxBuffer: null }]],
  ['maxBuffer null, exec', 'exec', ['echo hello', { maxBuffer: null }]],
  ['maxBuffer undefined: no limit, not the default', 'execFile', ['head', ['-c', '3000000', '/dev/zero'], { maxBuffer: undefined, encoding: 'buffer' }]],
  ['timeout kills with SIGTERM', 'execFile', ['sleep', ['30'], { timeout: 100 }]],
  ['timeout with killSignal SIGKILL by number', 'exec', ['sleep 30', { timeout: 100, killSignal: 9 }]],
  // 3 s: the shell must have exited before the timeout, on a busy machine too (200 ms was not
  // always); the grandchild's 20 s outlive it.
  ['a timeout after the exit, while a grandchild holds the output open', 'execFile', ['sh', ['-c', 'sleep 20 & exit 3'], { timeout: 3000 }]],
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
  ['argv0 null is not checked', 'execFile', ['echo', ['x'], { argv0: null }]],
  ['argv0 undefined is not checked', 'execFile', ['echo', ['x'], { argv0: undefined }]],
  ['no args and no options: the callback second', 'execFile', ['pwd']],
  ['no args and no options, a failure', 'execFile', ['false']],
  // 300,000 characters come in several reads, joined as they came.
  ['output in several chunks, as a string', 'execFile', ['sh', ['-c', 'seq 1 60000']]],
]

for (const [title, name, args] of calls) {
  test(`${name}: ${title}, as child_process`, async (t) => {
    const [theirs, ours] = await Promise.all([outcome(cp[name] as unknown as Exec, args), outcome(pidfd[name] as unknown as Exec, args)])
    t.deepEqual(ours, theirs)
  })
}

test('maxBuffer counts each stream on its own, and of the chunk that passes it keeps what fits after the chunks before, as child_process', async (t) => {
  // The child writes one stream, waits for a line on stdin (sent once that output has come),
  // then writes again: the order the chunks come in is fixed.
  // A child that is not killed sleeps on (the last script): bounded, and ended by the teardown.
  const children: cp.ChildProcess[] = []
  t.teardown(() => children.forEach((c) => c.kill('SIGKILL')))
  const run = (lib: typeof cp | typeof pidfd, script: string) =>
    within(
      new Promise<unknown>((resolve) => {
        const child = (lib.execFile as unknown as Exec)('sh', ['-c', script], { maxBuffer: 15 }, (error: (Error & { code?: unknown }) | null, stdout: unknown, stderr: unknown) =>
          resolve({ code: error?.code ?? null, stdout, stderr }),
        ) as unknown as cp.ChildProcess
        children.push(child)
        const go = () => child.stdin!.end('\n')
        child.stdout!.once('data', go)
        child.stderr!.once('data', go)
      }),
      10_000,
      script,
    )
  const scripts = [
    'printf 123456789012; read x; printf abcdefghijkl >&2',
    'printf 123456789012 >&2; read x; printf abcdefghijkl',
    'printf 0123456789; read x; printf abcdefghij; exec sleep 1000',
  ]
  const theirs = []
  const ours = []
  for (const script of scripts) {
    theirs.push(await run(cp, script))
    ours.push(await run(pidfd, script))
  }
  t.deepEqual(
    theirs,
    [
      { code: null, stdout: '123456789012', stderr: 'abcdefghijkl' },
      { code: null, stdout: 'abcdefghijkl', stderr: '123456789012' },
      { code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER', stdout: '0123456789abcde', stderr: '' },
    ],
    'child_process, as this test reads it',
  )
  t.deepEqual(ours, theirs)
})

test('maxBuffer counts bytes: 12 bytes of output in four characters exceed 10, with what child_process keeps of them', async (t) => {
  const script = ['sh', ['-c', "printf '€€€€'; exec sleep 30"]]
  for (const encoding of ['utf8', 'buffer']) {
    const args = [...script, { maxBuffer: 10, encoding }]
    const [theirs, ours] = await Promise.all([outcome(cp.execFile as unknown as Exec, args), outcome(pidfd.execFile as unknown as Exec, args)])
    t.is(ours.error?.code, 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER', encoding)
    t.is(ours.errorClass, 'RangeError', encoding)
    t.deepEqual(ours.stdout, encoding === 'utf8' ? '€€€€' : Buffer.from('€€€€').subarray(0, 10), encoding)
    t.deepEqual(ours, theirs, encoding)
  }
})

test('after the callback no timer of the timeout option is left: Node exits at once, as after child_process\'s', async (t) => {
  // A timeout of ten minutes on each call: a timer left behind would hold this Node past the
  // run's own bound (it would be killed, not exit 0), and shows in the active resources.
  const run = await runNode(
    `
    const cp = require('node:child_process');
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const calls = [
      ['execFile true', 'execFile', ['true']],
      ['execFile, exit 3', 'execFile', ['sh', ['-c', 'exit 3']]],
      ['exec', 'exec', ['echo hi']],
      ['execFile of a missing program', 'execFile', ['pidfd-no-such-program', []]],
    ];
    const seen = { before: timers() };
    (async () => {
      // child_process first, so a timer the package left cannot be counted against it.
      for (const [side, mod] of [['child_process', cp], ['pidfd', pidfd]]) {
        for (const [title, name, args] of calls) {
          seen[side + ': ' + title] = await new Promise((resolve) =>
            mod[name](...args, { timeout: 600000 }, (err) => resolve({ timers: timers(), error: err && err.code })));
        }
      }
      console.log(JSON.stringify(seen));
    })();
    `,
    // A timer left armed would keep Node up for 600 s.
    { timeoutMs: 60_000 },
  )
  t.is(run.signal, null, 'Node exits by itself, before the bound of the run')
  t.is(run.code, 0, run.stderr)
  const seen = JSON.parse(run.stdout) as Record<string, { timers: number; error: unknown }>
  t.is(seen.before as unknown, 0)
  for (const title of ['execFile true', 'execFile, exit 3', 'exec', 'execFile of a missing program']) {
    t.deepEqual(seen[`pidfd: ${title}`], seen[`child_process: ${title}`], title)
    t.is(seen[`pidfd: ${title}`]!.timers, 0, title)
  }
})

test('the args array is copied at the call: changed afterwards, the error still names what ran, as child_process', async (t) => {
  const run = (fn: Exec) => {
    const args = ['-c', 'echo $0 >&2; exit 4', 'first']
    const p = outcome(fn, ['sh', args])
    args[2] = 'changed'
    args.push('more')
    return p
  }
  const [theirs, ours] = await Promise.all([run(cp.execFile as unknown as Exec), run(pidfd.execFile as unknown as Exec)])
  t.is(ours.error?.cmd, 'sh -c echo $0 >&2; exit 4 first')
  t.is(ours.stderr, 'first\n')
  t.deepEqual(ours, theirs)
})

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
    // Named as child_process's are (exec, execFile).
    t.deepEqual([execP.name, execFileP.name], [promisify(cp.exec).name, promisify(cp.execFile).name])
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
    const p = outcome(fn, ['sleep', ['30'], { signal: ac.signal }])
    if (!already) setTimeout(() => ac.abort(), 50)
    return p
  }
  for (const already of [false, true]) {
    const [theirs, ours] = await Promise.all([run(cp.execFile as unknown as Exec, already), run(pidfd.execFile as unknown as Exec, already)])
    t.deepEqual(ours, theirs)
    t.is(ours.error?.name, 'AbortError')
  }
})

/** Calls `fn`, then awaits 'close' and one more turn: how many times the callback ran, and the
 * first call's error. */
async function callbacks(fn: Exec, args: unknown[]): Promise<{ calls: number; error: Record<string, unknown> | null }> {
  let calls = 0
  let first: (Error & Record<string, unknown>) | null = null
  const child = fn(...args, (error: (Error & Record<string, unknown>) | null) => {
    calls += 1
    if (calls === 1) first = error
  }) as unknown as cp.ChildProcess
  await new Promise((resolve) => child.on('close', resolve))
  await new Promise((resolve) => setImmediate(resolve))
  const e = first as (Error & Record<string, unknown>) | null
  return { calls, error: e && { code: e.code, killed: e.killed, signal: e.signal } }
}

test('the callback runs once, whatever ended the child (an error event, a kill, maxBuffer), as child_process', async (t) => {
  const cases: unknown[][] = [
    ['pidfd-no-such-program', []],
    ['true', [], { cwd: '/nonexistent/dir' }],
    ['sleep', ['30'], { timeout: 100 }],
    ['sh', ['-c', 'echo 0123456789; exec sleep 30'], { maxBuffer: 4 }],
    ['sh', ['-c', 'exit 2']],
  ]
  for (const args of cases) {
    const [theirs, ours] = await Promise.all([callbacks(cp.execFile as unknown as Exec, args), callbacks(pidfd.execFile as unknown as Exec, args)])
    t.is(theirs.calls, 1, JSON.stringify(args))
    t.deepEqual(ours, theirs, JSON.stringify(args))
  }
})

test('without a callback (or with null) the child runs and nothing throws, as child_process', async (t) => {
  const closed = (child: cp.ChildProcess) => new Promise((resolve) => child.on('close', (code) => resolve(code)))
  for (const mod of [cp, pidfd] as const) {
    const codes = await Promise.all([closed(mod.execFile('sh', ['-c', 'exit 3'])), closed(mod.exec('exit 4', null as never, null as never)), closed(mod.execFile('true', [], {}, null as never))])
    t.deepEqual(codes, [3, 4, 0])
  }
})

test('killed: true for a kill from outside, and for a timeout that fires after the exit (while a grandchild holds the output), as child_process', async (t) => {
  const external = (fn: Exec) => {
    let child!: cp.ChildProcess
    const p = new Promise<unknown>((resolve) => {
      child = fn('sleep', ['30'], (e: Record<string, unknown>) => resolve({ killed: e.killed, signal: e.signal, code: e.code })) as unknown as cp.ChildProcess
    })
    child.kill()
    return p
  }
  const [theirs, ours] = await Promise.all([external(cp.execFile as unknown as Exec), external(pidfd.execFile as unknown as Exec)])
  t.deepEqual(theirs, { killed: true, signal: 'SIGTERM', code: null })
  t.deepEqual(ours, theirs)

  // The shell exits at once; its grandchild keeps the pipes open, so the timeout (3 s later)
  // finds the child gone: child.kill() is false there, and killed comes from the timeout.
  const late = (fn: Exec) => {
    let exitedFirst = false
    let child!: cp.ChildProcess
    const p = new Promise<unknown>((resolve) => {
      child = fn('sh', ['-c', 'sleep 20 & exit 3'], { timeout: 3000 }, (e: Record<string, unknown>) =>
        resolve({ exitedFirst, killed: e.killed, signal: e.signal, code: e.code, childKilled: child.killed }),
      ) as unknown as cp.ChildProcess
    })
    child.on('exit', () => {
      exitedFirst = true
    })
    return p
  }
  const [theirsLate, oursLate] = await Promise.all([late(cp.execFile as unknown as Exec), late(pidfd.execFile as unknown as Exec)])
  t.deepEqual(theirsLate, { exitedFirst: true, killed: true, signal: null, code: 3, childKilled: false })
  t.deepEqual(oursLate, theirsLate)
})

test('a stream given an encoding after the call gives strings, as child_process', async (t) => {
  const run = (fn: Exec) =>
    new Promise<unknown>((resolve) => {
      const child = fn('printf', ['\\377a'], { encoding: 'buffer' }, (e: unknown, stdout: unknown) => resolve(stdout)) as unknown as cp.ChildProcess
      child.stdout!.setEncoding('latin1')
    })
  const [theirs, ours] = await Promise.all([run(cp.execFile as unknown as Exec), run(pidfd.execFile as unknown as Exec)])
  t.is(theirs, '\u00ffa')
  t.is(ours, theirs)
})

test('resourceUsage on the error: only where the child ran, and like the error\'s other fields it can be replaced or deleted', async (t) => {
  const failed = await new Promise<Error & Record<string, unknown>>((resolve) => pidfd.execFile('pidfd-no-such-program', (e) => resolve(e as never)))
  t.is(failed.code, 'ENOENT')
  t.false(Object.hasOwn(failed, 'resourceUsage'), 'no child ran: no usage')
  const ran = await new Promise<Error & Record<string, unknown>>((resolve) => pidfd.execFile('sh', ['-c', 'exit 1'], (e) => resolve(e as never)))
  const d = Object.getOwnPropertyDescriptor(ran, 'resourceUsage')
  t.like(d, { enumerable: false, writable: true, configurable: true })
  t.is(typeof (d?.value as { maxRSS: number }).maxRSS, 'number')
})

test('options are read as own properties only: a polluted prototype reaches nothing', async (t) => {
  const proto = Object.prototype as Record<string, unknown>
  proto.shell = true
  proto.cwd = '/nonexistent'
  proto.maxBuffer = 1
  try {
    // An inherited argv0 is not checked here; child_process reads it, and throws for a number.
    // (Set and deleted before any await: other tests of this file run meanwhile.)
    proto.argv0 = 5
    let own: Promise<unknown>
    try {
      t.throws(() => cp.execFile('echo', ['x'], () => {}), { code: 'ERR_INVALID_ARG_TYPE' })
      own = new Promise<unknown>((resolve) => pidfd.execFile('echo', ['x'], (e, out) => resolve(e ?? out)))
    } finally {
      delete proto.argv0
    }
    t.is(await own, 'x\n')
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

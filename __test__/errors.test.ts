// Bad input: Node's error classes and codes, never a crash and never a leaked descriptor.

import test from 'ava'
import * as cp from 'node:child_process'
import { spawn as cpSpawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'

import { AsyncPidFd, PidFd, spawn } from '../index.js'
import * as pidfdCp from '../lib/child_process.js'
import { entry, fdTable, isError, needsRoot, newFds, root, runNode, runsIf, sleep, tempDir, until, within } from './helpers.js'

const notNumbers = ['1', null, undefined, {}, [], true, 1n, Symbol('pid')]
const badNumbers = [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, Number.MAX_SAFE_INTEGER, 2 ** 53]

test('fromPid: a pid that is not a number is a TypeError ERR_INVALID_ARG_TYPE', (t) => {
  for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) {
    for (const pid of notNumbers) {
      isError(t, t.throws(() => open(pid as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
    }
  }
})

test('fromPid: a number that is not a positive pid is a RangeError ERR_OUT_OF_RANGE', (t) => {
  for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) {
    for (const pid of badNumbers) {
      isError(t, t.throws(() => open(pid)), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
    }
  }
})

test("fromPid's ERR_INVALID_ARG_TYPE for a pid that is not a number is worded as process.kill's, which checks its pid the same way (with signal 0, which sends nothing)", (t) => {
  // Only values process.kill refuses too ('1' or true would pass its `pid != (pid | 0)`).
  for (const pid of ['x', 'pid 1', null, undefined, {}]) {
    const theirs = thrown(() => process.kill(pid as never, 0))
    t.like(theirs as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, inspect(pid))
    for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) t.deepEqual(thrown(() => open(pid as never)), theirs, inspect(pid))
  }
})

test("fromPid's ERR_OUT_OF_RANGE reads as Node's own ERR_OUT_OF_RANGE does for the documented range, 1 to 2 ** 31 - 1, the value shown as Node shows it", async (t) => {
  const run = await runNode(
    `const { codes } = require('internal/errors')
     const values = ${JSON.stringify(badNumbers.map(String))}.map(Number)
     console.log(JSON.stringify(values.map((v) => String(new codes.ERR_OUT_OF_RANGE('pid', 'an integer >= 1 and <= 2147483647', v)))))`,
    { nodeArgs: ['--expose-internals'], prelude: false },
  )
  t.is(run.code, 0, run.stderr)
  const node = JSON.parse(run.stdout) as string[]
  t.is(node.length, badNumbers.length)
  t.is(node[6], 'RangeError [ERR_OUT_OF_RANGE]: The value of "pid" is out of range. It must be an integer >= 1 and <= 2147483647. Received 2147483648')
  for (const [i, pid] of badNumbers.entries()) {
    for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) t.like(thrown(() => open(pid)) as object, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', string: node[i] }, String(pid))
  }
})

test('fromPid takes the largest pid, 2 ** 31 - 1: no process has it, so pidfd_open says ESRCH, as process.kill does (not ERR_OUT_OF_RANGE)', (t) => {
  const largest = 2 ** 31 - 1
  isError(t, t.throws(() => process.kill(largest, 0)), { code: 'ESRCH', errno: -3, syscall: 'kill' })
  for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) {
    isError(t, t.throws(() => open(largest)), { code: 'ESRCH', errno: -3, syscall: 'pidfd_open' })
  }
})

test("fromPid's option errors are worded as child_process's: options that are not an object as spawn's, a reap that is not a boolean as spawn's detached", (t) => {
  for (const options of [5, 'opts', null, [], true]) {
    const theirs = thrown(() => cpSpawn('true', [], options as never))
    t.like(theirs as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, inspect(options))
    for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) t.deepEqual(thrown(() => open(process.pid, options as never)), theirs, inspect(options))
  }
  for (const value of ['yes', 1, {}, 0n]) {
    const theirs = thrown(() => cpSpawn('true', [], { detached: value } as never))
    t.like(theirs as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, inspect(value))
    const expected = (s: string) => s.replace('"options.detached"', '"options.reap"')
    const { message, string } = theirs as { message: string; string: string }
    for (const open of [PidFd.fromPid, AsyncPidFd.fromPid]) {
      t.like(thrown(() => open(process.pid, { reap: value } as never)) as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expected(message), string: expected(string) }, inspect(value))
    }
  }
})

test('fromPid: bad options are TypeErrors', (t) => {
  isError(t, t.throws(() => PidFd.fromPid(process.pid, 5 as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, t.throws(() => PidFd.fromPid(process.pid, null as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, t.throws(() => PidFd.fromPid(process.pid, { reap: 'yes' } as never)), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_TYPE',
  })
})

test("a handle's kill, as process.kill: unknown signal names (in any other case too) and non-integer numbers are ERR_UNKNOWN_SIGNAL; other types ERR_INVALID_ARG_TYPE; out-of-range numbers EINVAL", async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  for (const signal of ['SIGFOO', 'sigterm', 'TERM', '', 'constructor', 'toString', 1.5, NaN]) {
    isError(t, t.throws(() => sub.pidfd.kill(signal as never)), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' })
  }
  for (const signal of [null, {}, [], true, 9n]) {
    isError(t, t.throws(() => sub.pidfd.kill(signal as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  }
  for (const signal of [-1, 65, 999, 2 ** 31 - 1]) {
    isError(t, t.throws(() => sub.pidfd.kill(signal)), { code: 'EINVAL', errno: -22, syscall: 'pidfd_send_signal' })
  }
  t.notThrows(() => sub.pidfd.kill(0), 'signal 0 probes a live process')
  t.is(sub.pidfd.tryWait(), null, 'nothing above reached the process')
  t.true(sub.kill('SIGKILL'))
  t.is((await sub.exited).signal, 'SIGKILL')
})

/** What a call throws, in the terms that child_process's errors are compared in. */
function thrown(call: () => unknown): { name: string; code: unknown; message: string; string: string } | 'no throw' {
  try {
    const child = call() as { kill?: (s: string) => void; on?: (e: string, f: () => void) => void } | undefined
    child?.on?.('error', () => {})
    child?.kill?.('SIGKILL')
    return 'no throw'
  } catch (err) {
    const e = err as Error & { code?: unknown }
    return { name: e.name, code: e.code, message: e.message, string: String(e) }
  }
}

test("a handle's kill with a signal of another type: ERR_INVALID_ARG_TYPE worded as child_process words it for a killSignal of that type (the argument named 'signal')", async (t) => {
  // process.kill and ChildProcess.kill throw ERR_UNKNOWN_SIGNAL here; child_process's
  // sanitizeKillSignal has the ERR_INVALID_ARG_TYPE, for its killSignal option.
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  const sync = PidFd.fromPid(sub.pid!)
  for (const signal of [{}, [], true, 9n, Symbol('SIGTERM'), () => 9]) {
    const theirs = thrown(() => cpSpawn('true', [], { killSignal: signal } as never))
    t.like(theirs as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, inspect(signal))
    const { message, string } = theirs as { message: string; string: string }
    const expected = (s: string) => s.replace('The "options.killSignal" property', 'The "signal" argument')
    t.regex(message, /^The "options\.killSignal" property must be one of type string or number\. Received /)
    for (const handle of [sub.pidfd, sync]) {
      t.like(thrown(() => handle.kill(signal as never)) as object, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expected(message), string: expected(string) }, inspect(signal))
    }
  }
  t.is(sub.pidfd.tryWait(), null, 'no signal reached the process')
  sync.close()
  t.true(sub.kill('SIGKILL'))
  t.is((await sub.exited).signal, 'SIGKILL')
})

test('spawn: bad arguments throw what child_process throws (class, code, message, string); what it accepts is accepted', (t) => {
  const cases: Array<[unknown, unknown?, unknown?]> = [
    [5],
    [''],
    ['tr\0ue'],
    ['true', 'a'],
    ['true', 23],
    ['true', ['a\0b']],
    ['true', [], 'opts'],
    ['true', [], null],
    ['true', [], []],
    ['true', [], { cwd: 5 }],
    ['true', [], { cwd: 'a\0b' }],
    ['true', [], { env: { A: 'a\0b' } }],
    ['true', [], { env: { 'A\0': 'b' } }],
    ['true', [], { stdio: 5 }],
    ['true', [], { stdio: 'pipes' }],
    ['true', [], { stdio: ['pipes'] }],
    ['true', [], { stdio: [{}] }],
    ['true', [], { stdio: [true] }],
    ['true', [], { stdio: ['ignore', Buffer.from('x')] }],
    ['true', [], { stdio: ['ignore', 'text'] }],
    // Objects that only look like streams over a libuv handle: child_process takes a handle
    // only if it is one (Pipe, TTY, TCP, UDP).
    ['true', [], { stdio: [{ _handle: { fd: 0 } }] }],
    ['true', [], { stdio: [{ handle: { fd: 1 } }] }],
    ['true', [], { stdio: [{ _handle: { fd: -1 } }] }],
    ['true', [], { serialization: 'fast' }],
    ['true', [], { serialization: null }],
    ['true', [], { killSignal: 'SIGNOPE' }],
    ['true', [], { killSignal: true }],
    ['true', [], { timeout: -1 }],
    ['true', [], { timeout: 1.5 }],
    ['true', [], { timeout: '5' }],
    ['true', [], { uid: 2 ** 31 }],
    ['true', [], { uid: 1.5 }],
    ['true', [], { gid: '0' }],
    ['true', [], { gid: -(2 ** 31) - 1 }],
    ['true', [], { gid: 2 ** 31 }],
    ['true', [], { gid: -0.5 }],
    ['true', [], { uid: true }],
    ['true', [], { signal: {} }],
    ['true', [], { signal: null }],
    ['true', [], { detached: 1 }],
    ['true', [], { shell: 1 }],
    ['true', [], { shell: 'a\0b' }],
    ['true', [], { argv0: 7 }],
    ['true', [], { windowsHide: 'yes' }],
    ['true', [], { windowsVerbatimArguments: 0 }],
    // Accepted by child_process, so by us too:
    ['true', [23, true, null]],
    ['true', null, { stdio: 'ignore' }],
    ['true', { stdio: 'ignore' }],
    ['true', [], { stdio: ['ignore', -1, 2] }],
    ['true', [], { serialization: 'advanced', stdio: 'ignore' }],
    ['true', [], { cwd: null, env: null, argv0: null, stdio: null, detached: null, uid: null, gid: null, shell: null, windowsHide: null, windowsVerbatimArguments: null }],
    // uid and gid are read as int32s: both bounds are taken (one past them is refused, above).
    ['true', [], { uid: -(2 ** 31), stdio: 'ignore' }],
    ['true', [], { uid: 2 ** 31 - 1, stdio: 'ignore' }],
    ['true', [], { gid: -(2 ** 31), stdio: 'ignore' }],
    ['true', [], { gid: 2 ** 31 - 1, stdio: 'ignore' }],
  ]
  for (const [file, args, options] of cases) {
    const call = (spawnIt: (...a: unknown[]) => unknown) => () => (options === undefined ? (args === undefined ? spawnIt(file) : spawnIt(file, args)) : spawnIt(file, args, options))
    const ours = thrown(call(spawn as never))
    const theirs = thrown(call(cpSpawn as never))
    t.deepEqual(ours, theirs, `spawn(${[file, args, options].filter((x) => x !== undefined).map((x) => inspect(x)).join(', ')})`)
  }
  for (const id of [-(2 ** 31), 2 ** 31 - 1]) {
    for (const key of ['uid', 'gid']) t.is(thrown(() => spawn('true', [], { [key]: id, stdio: 'ignore' })), 'no throw', `${key}: ${id}`)
  }
  // ERR_* errors read as Node's do, code included.
  const err = thrown(call2(() => spawn('true', 23 as never)))
  t.like(err as object, { name: 'TypeError', string: 'TypeError [ERR_INVALID_ARG_TYPE]: The "args" argument must be of type object. Received type number (23)' })
  isError(t, t.throws(() => spawn('true', [], { stdio: ['ignore', 987654] })), { code: 'EBADF', errno: -9 })
  // A descriptor number that is not an integer (child_process on Node 24 and later aborts the
  // process on it): its integer part, as Node 20 reads it.
  t.is(thrown(() => spawn('true', [], { stdio: ['ignore', 1.5, 'ignore'] })), 'no throw')
  // One 'ipc' entry is the IPC channel (fork.test.ts); a second is refused, as child_process refuses it.
  isError(t, t.throws(() => spawn('true', [], { stdio: ['ipc', 'pipe', 'pipe', 'ipc'] } as never)), { code: 'ERR_IPC_ONE_PIPE' })
  const stack = t.throws(() => spawn(5 as never))?.stack ?? ''
  t.regex(stack, /^TypeError \[ERR_INVALID_ARG_TYPE\]: The "file" argument must be of type string\. Received type number \(5\)\n    at /)
})

function call2(f: () => unknown): () => unknown {
  return f
}

test("spawn: a cwd that does not exist is reported through 'error', as child_process does", async (t) => {
  const [err] = (await once(spawn('true', [], { cwd: '/pidfd/no/such/dir' }), 'error')) as [Error]
  isError(t, err, { code: 'ENOENT', errno: -2 })
})

runsIf(needsRoot, 'a cwd another user cannot enter')("spawn: a cwd the caller may not enter is EACCES through 'error', its message child_process's word for word (the step, 'chdir', kept apart)", async (t) => {
  // A Node running as uid 65534 spawns into a directory only root may enter.
  const dir = tempDir('pidfd-eacces-')
  chmodSync(dir, 0o700)
  const script = `
    const cp = require('node:child_process');
    const pidfd = require(${JSON.stringify(entry)});
    const seen = (f) => new Promise((resolve) => f('true', [], { cwd: ${JSON.stringify(dir)} }).on('error', (e) => resolve({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: e.step })));
    Promise.all([seen(cp.spawn), seen(pidfd.spawn)]).then((r) => console.log(JSON.stringify(r)));
  `
  try {
    const out = await new Promise<string>((resolve, reject) =>
      cp.execFile(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/', timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    )
    const [theirs, ours] = JSON.parse(out) as Array<Record<string, unknown>>
    t.deepEqual(theirs, { message: 'spawn true EACCES', code: 'EACCES', errno: -13, syscall: 'spawn true', path: 'true' })
    t.deepEqual(ours, { ...theirs, step: 'chdir' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.serial('no descriptor leaks from failed calls', async (t) => {
  const closed = (sub: ReturnType<typeof spawn>) => {
    sub.on('error', () => {})
    return new Promise((resolve) => sub.once('close', resolve))
  }
  const run = async () => {
    for (let i = 0; i < 50; i++) {
      await closed(spawn('pidfd-no-such-program', [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }))
      await closed(spawn('true', [], { cwd: '/pidfd/no/such/dir', stdio: 'pipe' }))
      t.throws(() => spawn('true', [], { stdio: ['pipe', 'pipe', 987654] }))
      t.throws(() => PidFd.fromPid(2 ** 31 - 1))
    }
  }
  await run()
  // A child whose exec failed is reaped by the watcher thread a moment later: let it settle.
  await sleep(200)
  const before = fdTable()
  await run()
  t.true(await until(() => newFds(before).length === 0, 20_000), `left open: ${newFds(before).join(', ')}`)
})

test('every errno gets its name and its negative number, from Node\'s own tables (no "E121", no errno 0)', async (t) => {
  const { fromNative } = await import('../lib/errors.js')
  // As the native side reports an errno it has no name for: "E<number>".
  for (const [raw, code, errno] of [
    [121, 'EREMOTEIO', -121],
    [32, 'EPIPE', -32],
    [110, 'ETIMEDOUT', -110],
    // Neither of Node's tables names it: the number stays, never errno 0.
    [133, 'E133', -133],
  ] as const) {
    const native = Object.assign(new Error(`spawn E${raw} (a detail)`), { code: `E${raw}` })
    const err = fromNative(native) as Error & { code: string; errno: number; syscall: string }
    t.is(err.code, code)
    t.is(err.errno, errno)
    t.is(err.syscall, 'spawn')
    t.is(err.message, `spawn ${code} (a detail)`)
  }
})

/** What `call` does, in terms to compare with child_process: its value, or its error's code and message. */
function outcome(call: () => unknown): string {
  try {
    return `returns ${String(call())}`
  } catch (err) {
    const e = err as Error & { code?: unknown }
    return `throws ${e.name} ${String(e.code)}: ${e.message}`
  }
}

test("a subprocess's kill() and every killSignal option read a signal as child_process reads it: a name in any case, a known number, anything else ERR_UNKNOWN_SIGNAL", async (t) => {
  const inputs: unknown[] = ['sigterm', 'SIGterm', 'sigrtmin', 'TERM', '', 'toString', '0', 99, -1, 65, 1.5, NaN, null, {}, [], true, 0]
  for (const signal of inputs) {
    const ours = spawn('sleep', ['10'], { stdio: 'ignore' })
    const theirs = cpSpawn('sleep', ['10'], { stdio: 'ignore' })
    const got = outcome(() => ours.kill(signal as never))
    const want = outcome(() => theirs.kill(signal as never))
    t.is(got, want, `kill(${String(signal)})`)
    ours.kill('SIGKILL')
    theirs.kill('SIGKILL')
    await Promise.all([ours.exited, once(theirs, 'exit')])
  }
  // The signal sent, where a lowercase name was accepted.
  const lower = spawn('sleep', ['10'], { stdio: 'ignore' })
  lower.kill('sigint' as never)
  t.is((await lower.exited).signal, 'SIGINT')

  const ks: unknown[] = ['sigkill', 'SIGkill', 'sigfoo', 9, 99, -1, 0, 1.5, null, {}, true]
  const calls: Array<[string, (m: typeof cp, killSignal: unknown) => unknown]> = [
    ['spawn', (m, killSignal) => m.spawn('sleep', ['0.01'], { stdio: 'ignore', killSignal } as never)],
    ['execFile', (m, killSignal) => m.execFile('sleep', ['0.01'], { killSignal } as never, () => {})],
    ['exec', (m, killSignal) => m.exec('sleep 0.01', { killSignal } as never, () => {})],
    ['spawnSync', (m, killSignal) => m.spawnSync('true', [], { killSignal } as never).status],
  ]
  for (const [name, call] of calls) {
    for (const killSignal of ks) {
      const pick = (r: unknown) => (r && typeof r === 'object' && 'pid' in r ? 'a child' : String(r))
      t.is(outcome(() => pick(call(pidfdCp, killSignal))), outcome(() => pick(call(cp, killSignal))), `${name} killSignal ${String(killSignal)}`)
    }
  }
  // A lowercase killSignal is the signal the timeout sends.
  const timed = spawn('sleep', ['10'], { stdio: 'ignore', timeout: 50, killSignal: 'sigusr1' as never })
  t.is((await timed.exited).signal, 'SIGUSR1')
})

/** The functions of child_process that take spawn's options, each called with `options`. */
function family(lib: typeof cp, options: Record<string, unknown>): Array<[string, () => unknown]> {
  return [
    ['spawn', () => lib.spawn('true', [], options)],
    ['fork', () => lib.fork('/dev/null', [], { stdio: 'ignore', ...options })],
    ['exec', () => lib.exec('true', options, () => {})],
    ['execFile', () => lib.execFile('true', [], options, () => {})],
    ['spawnSync', () => lib.spawnSync('true', [], options)],
    ['execSync', () => lib.execSync('true', options)],
    ['execFileSync', () => lib.execFileSync('true', [], options)],
  ]
}

/** What a call throws, its class and own keys too (a V8 TypeError has no code). */
function thrownExactly(call: () => unknown): unknown {
  let caught: unknown = null
  const seen = thrown(() => {
    try {
      return call()
    } catch (err) {
      caught = err
      throw err
    }
  })
  if (seen === 'no throw') return seen
  const e = caught as Error
  return { ...seen, class: e.constructor, keys: Object.keys(e) }
}

test('a Symbol or a BigInt uid or gid throws what child_process of this Node throws, in every function of the family', (t) => {
  const major = Number(process.versions.node.split('.')[0])
  for (const key of ['uid', 'gid']) {
    for (const value of [Symbol('id'), 1n, 0n, { valueOf: () => 0 }, '0', 1.5, 2 ** 32]) {
      const theirs = family(cp, { [key]: value })
      const ours = family(pidfdCp as unknown as typeof cp, { [key]: value })
      for (const [i, [name, call]] of theirs.entries()) {
        const expected = thrownExactly(call)
        t.deepEqual(thrownExactly(ours[i]![1]), expected, `${name}({ ${key}: ${inspect(value)} })`)
        if (typeof value === 'symbol' && major < 25) {
          // Before Node 25 child_process coerces first (`value | 0`): V8's own TypeError, no code.
          t.like(expected as object, { class: TypeError, code: undefined, message: 'Cannot convert a Symbol value to a number' })
        }
      }
    }
  }
})

test('a timeout of 2 ** 53 and beyond: what child_process of this Node does with it, in every function of the family', async (t) => {
  // Run apart, for each module: an accepted timeout past 2 ** 31 - 1 fires after 1 ms (setTimeout's
  // TimeoutOverflowWarning), which the script counts; its children are killed by it.
  const forever = join(tempDir('pidfd-timeout-'), 'forever.js')
  writeFileSync(forever, 'setInterval(() => {}, 1000)\n')
  const script = (lib: string) => `
const lib = require(${JSON.stringify(lib)})
let warnings = 0
process.on('warning', (w) => { if (w.name === 'TimeoutOverflowWarning') warnings++ })
const forever = ${JSON.stringify(forever)}
const calls = {
  spawn: (o) => lib.spawn(process.execPath, [forever], o),
  fork: (o) => lib.fork(forever, [], { stdio: 'ignore', ...o }),
  exec: (o, cb) => lib.exec('sleep 5', o, cb),
  execFile: (o, cb) => lib.execFile('sleep', ['5'], o, cb),
  spawnSync: (o) => lib.spawnSync('true', [], o),
  execSync: (o) => lib.execSync('true', o),
  execFileSync: (o) => lib.execFileSync('true', [], o),
}
;(async () => {
  const seen = []
  for (const timeout of [2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 64, 2 ** 31]) {
    for (const [name, call] of Object.entries(calls)) {
      const before = warnings
      let outcome
      try {
        outcome = await new Promise((resolve) => {
          const child = call({ timeout }, (err) => resolve({ killed: err && err.killed, signal: err && err.signal }))
          if (child && typeof child.once === 'function') {
            if (name === 'spawn' || name === 'fork') child.once('exit', (code, signal) => resolve({ code, signal }))
          } else resolve(child && child.status !== undefined ? { status: child.status, error: child.error && child.error.code } : 'returned')
        })
      } catch (e) {
        outcome = { name: e.name, code: e.code, message: e.message }
      }
      seen.push([name, timeout, outcome, warnings - before])
    }
  }
  console.log(JSON.stringify(seen))
})()
`
  const [theirs, ours] = await Promise.all([runNode(script('node:child_process')), runNode(script(join(root, 'lib/child_process.js')))])
  t.is(theirs.code, 0, theirs.stderr)
  t.is(ours.code, 0, ours.stderr)
  const expected = JSON.parse(theirs.stdout) as Array<[string, number, unknown, number]>
  t.deepEqual(JSON.parse(ours.stdout), expected)
  // The Node versions differ: before Node 25 any integer >= 0 passes (the async functions' timer
  // then fires at once); later ones stop at Number.MAX_SAFE_INTEGER.
  const [name, , outcome, warnings] = expected[0]!
  t.is(name, 'spawn')
  if (Number(process.versions.node.split('.')[0]) < 25) t.deepEqual([outcome, warnings], [{ code: null, signal: 'SIGTERM' }, 1])
  else t.like(outcome as object, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
})

test("fork's args and options: read as child_process.fork reads them (null, undefined, an object in args' place), and refused with its error word for word", async (t) => {
  const dir = tempDir('pidfd-fork-args-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const script = join(dir, 'argv.cjs')
  writeFileSync(script, 'process.send(process.argv.slice(2), () => process.disconnect())')
  const forms: Array<[string, unknown[]]> = [
    ['no args', []],
    ['args undefined', [undefined, { stdio: 'ignore' }]],
    ['args null', [null, { stdio: 'ignore' }]],
    ['args', [['a', 'b'], { stdio: 'ignore' }]],
    ['options in args', [{ stdio: 'ignore' }]],
    ['options null', [['c'], null]],
  ]
  for (const [name, rest] of forms) {
    const got: unknown[] = []
    for (const fork of [cp.fork, pidfdCp.fork] as const) {
      const child = (fork as (...a: unknown[]) => cp.ChildProcess)(script, ...rest)
      const [argv] = (await within(once(child, 'message'), 20_000, `${name}: the child's argv`)) as [string[]]
      await within(once(child, 'close'), 20_000, `${name}: close`)
      got.push(argv)
    }
    t.deepEqual(got[1], got[0], name)
  }
  const refused: Array<[string, unknown[]]> = [
    ['args a string', ['a b']],
    ['args a number', [5]],
    ['options a number', [[], 5]],
    ['options an array', [[], [1]]],
    ['options a string', [[], 'ignore']],
    ['a NUL in execPath', [[], { execPath: 'no\0de' }]],
    ['a NUL in execArgv', [[], { execArgv: ['--x', '--y\0'] }]],
  ]
  for (const [name, rest] of refused) {
    const ours = t.throws(() => (pidfdCp.fork as (...a: unknown[]) => unknown)(script, ...rest))
    const theirs = t.throws(() => (cp.fork as (...a: unknown[]) => unknown)(script, ...rest))
    t.truthy(theirs, name)
    t.deepEqual([ours?.name, (ours as { code?: string })?.code, ours?.message], [theirs?.name, (theirs as { code?: string })?.code, theirs?.message], name)
  }
})

test("fork's modulePath and stdio string: the error child_process.fork throws, word for word; 'overlapped' is a pipe with the channel, as there", async (t) => {
  const bad: Array<[unknown, cp.ForkOptions?]> = [[42], [{}], ['a\0b'], [Buffer.from('a\0b')], [new URL('http://x/')], ['/dev/null', { stdio: 'bogus' as 'pipe' }]]
  for (const [path, options] of bad) {
    const ours = t.throws(() => pidfdCp.fork(path as string, options))
    const theirs = t.throws(() => cp.fork(path as string, options))
    t.deepEqual([ours?.name, (ours as { code?: string })?.code, ours?.message], [theirs?.name, (theirs as { code?: string })?.code, theirs?.message], inspect(path))
  }
  const dir = tempDir('pidfd-fork-')
  const script = join(dir, 'hello.cjs')
  writeFileSync(script, "process.stdout.write('out'); process.send('ready', () => process.disconnect())")
  for (const fork of [cp.fork, pidfdCp.fork] as const) {
    const child = fork(script, { stdio: 'overlapped' })
    // Read stdout from the start: a stream nobody reads when the child exits is drained and
    // dropped (child_process's flushStdio, and ours), and the exit may come before the message.
    const reading = (async () => {
      let out = ''
      for await (const chunk of child.stdout!) out += String(chunk)
      return out
    })()
    const [[message], out] = (await within(Promise.all([once(child, 'message'), reading]), 20_000, 'the message and stdout')) as [[string], string]
    t.deepEqual([message, out, child.stdin !== null, child.stderr !== null], ['ready', 'out', true, true], fork === cp.fork ? 'child_process' : 'pidfd')
    child.stdin!.end()
  }
})

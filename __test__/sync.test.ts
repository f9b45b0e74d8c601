// spawnSync, execSync and execFileSync side by side with child_process's: the same results,
// errors and side effects (real processes, no mocks), plus the child's own resourceUsage.

import test, { type ExecutionContext } from 'ava'
import * as cp from 'node:child_process'
import { realpathSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { execFileSync, execSync, spawnSync, spawn, type ResourceUsage } from '../index.js'
import { entry, fdTable, markIn, needsRoot, newFds, noStrace, procState, runNode, runsIf, straceNode, tempDir, until } from './helpers.js'

type Sync = (file: string, args?: unknown, options?: unknown) => Record<string, unknown>
const ours = spawnSync as unknown as Sync
const theirs = cp.spawnSync as unknown as Sync

/** A result as deepEqual can compare it: pid replaced by whether there is one, the error spelled out. */
function plain(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { keys: Object.keys(r) }
  for (const [k, v] of Object.entries(r)) {
    if (k === 'pid') out.pid = (v as number) > 0
    else if (k === 'error') out.error = errorOf(v)
    else out[k] = v
  }
  return out
}

function errorOf(e: unknown): Record<string, unknown> | undefined {
  if (e === undefined) return undefined
  const err = e as Error
  const fields: Record<string, unknown> = { name: err.name, message: err.message, string: String(err), keys: Object.keys(err) }
  for (const [k, v] of Object.entries(err)) fields[k] = k === 'error' ? v === err : k === 'pid' ? (v as number) > 0 : v
  return fields
}

/** Runs both, asserts the same result, and returns ours. */
function same(t: ExecutionContext, file: string, args?: unknown, options?: unknown): Record<string, unknown> & { resourceUsage: ResourceUsage | null } {
  const a = theirs(file, args, options)
  const b = ours(file, args, options)
  t.deepEqual(plain(b), plain(a))
  return b as Record<string, unknown> & { resourceUsage: ResourceUsage | null }
}

/** What calling `fn` throws (undefined if nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

const usageKeys = [
  'userCPUTime',
  'systemCPUTime',
  'maxRSS',
  'sharedMemorySize',
  'unsharedDataSize',
  'unsharedStackSize',
  'minorPageFault',
  'majorPageFault',
  'swappedOut',
  'fsRead',
  'fsWrite',
  'ipcSent',
  'ipcReceived',
  'signalsCount',
  'voluntaryContextSwitches',
  'involuntaryContextSwitches',
]

function isUsage(t: ExecutionContext, u: unknown): void {
  t.truthy(u, 'resourceUsage present')
  t.deepEqual(Object.keys(u as object), usageKeys)
  t.true((u as ResourceUsage).maxRSS > 0)
}

test('exit code, stdout, stderr and output as child_process; resourceUsage is there and non-enumerable', (t) => {
  const r = same(t, 'sh', ['-c', 'echo out; echo err >&2; exit 3'])
  t.is(r.status, 3)
  t.is(String(r.stdout), 'out\n')
  isUsage(t, r.resourceUsage)
  t.false(Object.keys(r).includes('resourceUsage'))
  t.false(JSON.stringify(r).includes('maxRSS'))
})

test('a child killed by a signal: status null, its signal', (t) => {
  const r = same(t, 'sh', ['-c', 'kill -9 $$'])
  t.is(r.signal, 'SIGKILL')
  t.is(r.status, null)
  isUsage(t, r.resourceUsage)
})

test('a program that does not exist: the ENOENT error with errno, code, syscall, path, spawnargs; pid 0, no usage', (t) => {
  const r = same(t, 'no-such-program-here', ['a', 'b'])
  const e = r.error as Record<string, unknown>
  t.is(e.code, 'ENOENT')
  t.is(e.syscall, 'spawnSync no-such-program-here')
  t.deepEqual(e.spawnargs, ['a', 'b'])
  t.is(r.pid, 0)
  t.is(r.resourceUsage, null)
})

test('a cwd that does not exist is ENOENT too', (t) => {
  const r = same(t, 'pwd', [], { cwd: '/no/such/dir' })
  t.is((r.error as { code: string }).code, 'ENOENT')
})

test('cwd, env, argv0 and shell as child_process', (t) => {
  const dir = realpathSync(tempDir('pidfd-sync-'))
  try {
    t.is(String(same(t, 'pwd', [], { cwd: dir }).stdout), `${dir}\n`)
    t.is(String(same(t, 'sh', ['-c', 'echo "$FOO"'], { env: { FOO: 'bar', PATH: process.env.PATH } }).stdout), 'bar\n')
    t.is(String(same(t, 'sh', ['-c', 'echo $0'], { argv0: 'custom0' }).stdout), 'custom0\n')
    t.is(String(same(t, 'echo "$0" $((6*7))', { shell: true }).stdout), '/bin/sh 42\n')
    t.is(String(same(t, 'echo $BASH_VERSION | cut -c1', { shell: '/bin/bash' }).stdout).length, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('input (string, Buffer, TypedArray, DataView) reaches stdin, then EOF', (t) => {
  const bytes = Buffer.from('hello world'.repeat(8))
  for (const input of [bytes.toString(), bytes, new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2), new DataView(bytes.buffer, bytes.byteOffset, bytes.length)]) {
    // A timeout so that a stdin left open fails here instead of hanging.
    const r = same(t, 'cat', [], { input, timeout: 10_000 })
    t.deepEqual(r.stdout, bytes)
  }
  t.is(same(t, 'cat', [], { input: 'é', encoding: 'latin1' }).stdout, 'é')
})

test('a large input through cat comes back whole (partial writes while reading)', (t) => {
  const input = Buffer.alloc(3 * 1024 * 1024 + 17)
  for (let i = 0; i < input.length; i++) input[i] = (i * 31) & 0xff
  const r = ours('cat', [], { input, maxBuffer: Infinity, timeout: 20_000 })
  t.is(r.error, undefined)
  t.true(input.equals(r.stdout as Buffer))
})

test('input nobody reads: EPIPE, as child_process reports it', (t) => {
  const r = same(t, 'true', [], { input: Buffer.alloc(4 * 1024 * 1024) })
  t.is((r.error as { code: string }).code, 'EPIPE')
  t.is(r.status, 0)
})

test('the child reads EOF after the input, yet its stdin stays open to the end: its own writes to it succeed, as child_process', (t) => {
  // Written after the parent has had time to end the input: a stdin closed instead of shut
  // for writing would end the shell with SIGPIPE at the `echo`.
  const script = 'sleep 0.2; echo x >&0 && echo wrote; cat; echo end'
  for (const options of [{}, { input: 'in\n' }, { input: '' }]) {
    const r = same(t, 'sh', ['-c', script], { ...options, timeout: 20_000 })
    t.is(r.status, 0, JSON.stringify(options))
    t.is(String(r.stdout), `wrote\n${'input' in options ? options.input : ''}end\n`)
  }
})

test('input with stdin not a pipe is ignored; a bad input is ERR_INVALID_ARG_TYPE', (t) => {
  t.is(String(same(t, 'sh', ['-c', 'cat; echo done'], { input: 'x', stdio: ['ignore', 'pipe', 'pipe'] }).stdout), 'done\n')
  const a = thrown(() => cp.spawnSync('cat', [], { input: 1234 as unknown as string }))
  const b = thrown(() => ours('cat', [], { input: 1234 }))
  t.deepEqual(errorOf(b), errorOf(a))
  t.is((b as { code: string }).code, 'ERR_INVALID_ARG_TYPE')
})

test('encoding: strings for every output, buffer for "buffer"', (t) => {
  t.is(same(t, 'sh', ['-c', 'echo x; echo y >&2'], { encoding: 'utf8' }).stderr, 'y\n')
  t.true(Buffer.isBuffer(same(t, 'sh', ['-c', 'echo x'], { encoding: 'buffer' }).stdout))
  t.is(same(t, 'sh', ['-c', 'printf "\\377"'], { encoding: 'hex' }).stdout, 'ff')
})

test('maxBuffer: the default is 1 MiB, exactly (stdout and stderr count together)', (t) => {
  const at = same(t, 'head', ['-c', String(1024 * 1024), '/dev/zero'])
  t.is(at.error, undefined)
  // Over it: how much was read by then, and whether head had exited before the kill, vary.
  for (const run of [theirs, ours]) {
    const over = run('head', ['-c', String(1024 * 1024 + 1), '/dev/zero'])
    t.is((over.error as { code: string }).code, 'ENOBUFS')
    t.true((over.stdout as Buffer).length > 1024 * 1024)
  }
  const both = ours('sh', ['-c', 'echo a; echo b >&2'], { maxBuffer: 3 })
  t.is((both.error as { code: string }).code, 'ENOBUFS')
  t.is(ours('head', ['-c', String(2 * 1024 * 1024), '/dev/zero'], { maxBuffer: undefined }).error, undefined)
  t.is(ours('head', ['-c', String(2 * 1024 * 1024), '/dev/zero'], { maxBuffer: 0 }).error, undefined)
})

test('maxBuffer null or undefined: no limit, as child_process (exec and execFile differ: lib/exec.ts)', (t) => {
  const big = ['-c', String(2 * 1024 * 1024), '/dev/zero']
  for (const maxBuffer of [null, undefined]) {
    t.is(same(t, 'head', big, { maxBuffer }).error, undefined)
    t.deepEqual(execFileSync('head', big, { maxBuffer } as never), cp.execFileSync('head', big, { maxBuffer } as never))
    t.deepEqual(execSync(`head ${big.join(' ')}`, { maxBuffer } as never), cp.execSync(`head ${big.join(' ')}`, { maxBuffer } as never))
  }
})

test('maxBuffer exceeded: the child is killed with killSignal, the chunk read is kept', (t) => {
  // The child writes one short line and then waits: only the kill ends it.
  const r = same(t, 'sh', ['-c', 'echo "this is stdout"; exec sleep 10'], { maxBuffer: 1 })
  t.is((r.error as { code: string }).code, 'ENOBUFS')
  t.is(r.signal, 'SIGTERM')
  t.is(String(r.stdout), 'this is stdout\n')
  const k = ours('sh', ['-c', 'echo x; exec sleep 10'], { maxBuffer: 1, killSignal: 'SIGKILL' })
  t.is(k.signal, 'SIGKILL')
})

test('maxBuffer exceeded: what the first read took is kept whole, up to 64 KiB, as child_process', (t) => {
  // One write of n bytes (dd, one block) lands in the pipe at once; the read that finds it takes
  // all of it up to its 64 KiB buffer (Node's read size), and then the child is killed. 100,000
  // bytes fill the 64 KiB pipe: the first read finds 65,536 of them.
  for (const [n, kept] of [
    [10_000, 10_000],
    [100_000, 65_536],
  ] as const) {
    const r = same(t, 'sh', ['-c', `dd if=/dev/zero bs=${n} count=1 status=none; exec sleep 10`], { maxBuffer: 100 })
    t.is((r.error as { code: string }).code, 'ENOBUFS')
    t.is((r.stdout as Buffer).length, kept, `${n} bytes written`)
  }
})

test('a child that ignores killSignal and keeps writing: its pipes are closed, SIGPIPE ends it', (t) => {
  const args = ['-c', 'trap "" TERM; while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done']
  // How much it wrote before the first read differs from run to run: the rest is compared.
  for (const run of [theirs, ours]) {
    const started = Date.now()
    const r = run('sh', args, { maxBuffer: 10 })
    // Bounds for a busy machine: a child never ended would run forever.
    t.true(Date.now() - started < 10_000)
    t.is((r.error as { code: string }).code, 'ENOBUFS')
    t.is(r.signal, 'SIGPIPE')
    t.is(r.status, null)
  }
})

test('timeout: killed with killSignal, ETIMEDOUT, back within bounds', (t) => {
  const started = Date.now()
  const r = same(t, 'sleep', ['10'], { timeout: 200 })
  const took = Date.now() - started
  // Not the sleep's 10 s each: a loose bound, as a busy machine needs one.
  t.true(took < 8000, `both took ${took} ms`)
  t.is((r.error as { code: string }).code, 'ETIMEDOUT')
  t.is(r.signal, 'SIGTERM')
  t.is(r.status, null)
  isUsage(t, r.resourceUsage)
  t.is(ours('sleep', ['10'], { timeout: 100, killSignal: 'sigkill' }).signal, 'SIGKILL')
  t.is(ours('sleep', ['10'], { timeout: 100, killSignal: 9 }).signal, 'SIGKILL')
})

test('timeout while the child runs with its pipes closed: the blocking wait keeps the deadline', (t) => {
  const started = Date.now()
  const r = same(t, 'sh', ['-c', 'exec >&- 2>&-; exec sleep 10'], { timeout: 300 })
  t.true(Date.now() - started < 8000, 'not the sleep\'s 10 s each')
  t.is((r.error as { code: string }).code, 'ETIMEDOUT')
  t.is(r.signal, 'SIGTERM')
})

test('a grandchild holding stdout open: read to EOF after the child exits', (t) => {
  const started = Date.now()
  const r = ours('sh', ['-c', '(sleep 1; echo late) & echo early'])
  const took = Date.now() - started
  t.is(String(r.stdout), 'early\nlate\n')
  t.is(r.status, 0)
  t.true(took >= 900, `took ${took} ms`)
  same(t, 'sh', ['-c', '(sleep 0.3; echo late) & echo early'])
})

test('a grandchild holding stdout open past the timeout: ETIMEDOUT, the pipes closed, the exit status kept', (t) => {
  const started = Date.now()
  // The grandchild's 30 s against a bound of 20 s for both runs: loose enough for a busy machine,
  // and no run that waits for the grandchild stays within it. (A timeout of 3 s: the shell must
  // have exited before it, on a busy machine too, or it is killed and has no exit status.)
  const r = same(t, 'sh', ['-c', '(sleep 30; echo late) & echo early'], { timeout: 3000 })
  const took = Date.now() - started
  t.true(took < 20_000, `both took ${took} ms`)
  t.is((r.error as { code: string }).code, 'ETIMEDOUT')
  t.is(r.status, 0)
  t.is(r.signal, null)
  t.is(String(r.stdout), 'early\n')
})

test('stdio: a pipe on descriptor 3 is read into output[3]; ignore gives nulls; ipc is ERR_IPC_SYNC_FORK', (t) => {
  const r = same(t, 'sh', ['-c', 'echo three >&3'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
  t.is(String((r.output as Buffer[])[3]), 'three\n')
  same(t, 'sh', ['-c', 'echo x'], { stdio: 'ignore' })
  // A Buffer entry is left out (later entries move down), as child_process does.
  same(t, 'sh', ['-c', 'echo x'], { stdio: ['pipe', 'pipe', Buffer.from('x')] })
  const a = thrown(() => cp.spawnSync('true', [], { stdio: ['pipe', 'ipc'] }))
  const b = thrown(() => ours('true', [], { stdio: ['pipe', 'ipc'] }))
  t.deepEqual(errorOf(b), errorOf(a))
})

test("stdio 'inherit': the child writes to our stdout, output has nulls", async (t) => {
  for (const api of ['pidfd', 'cp']) {
    const fn = api === 'pidfd' ? 'pidfd.spawnSync' : "require('child_process').spawnSync"
    const run = await runNode(`const r = ${fn}('sh', ['-c', 'echo to-out; echo to-err >&2'], { stdio: 'inherit' });
      console.log(JSON.stringify(r.output), r.status);`)
    t.is(run.stdout, 'to-out\n[null,null,null] 0\n', api)
    t.is(run.stderr, 'to-err\n', api)
  }
})

test('detached: the child leads a new session', (t) => {
  const r = same(t, 'sh', ['-c', 'read -r pid comm state ppid pgrp session rest < /proc/$$/stat; [ "$pid" = "$session" ] && echo leader'], { detached: true })
  t.is(String(r.stdout), 'leader\n')
})

runsIf(needsRoot, 'uid and gid')('uid and gid as child_process', (t) => {
  t.is(String(same(t, 'id', ['-u'], { uid: 65534, gid: 65534 }).stdout), '65534\n')
  t.is(String(same(t, 'id', ['-g'], { uid: 65534, gid: 65534 }).stdout), '65534\n')
})

test('bad arguments throw what child_process throws (class, code, message), in its order', (t) => {
  const cases: unknown[][] = [
    [1],
    [''],
    ['a\0b'],
    ['true', 'not-args'],
    ['true', ['a\0']],
    ['true', [], 'not-options'],
    ['true', [], { cwd: 1 }],
    ['true', [], { cwd: 'a\0' }],
    ['true', [], { detached: 1 }],
    ['true', [], { uid: 'x' }],
    ['true', [], { gid: 1.5 }],
    ['true', [], { shell: 1 }],
    ['true', [], { argv0: 1 }],
    ['true', [], { windowsHide: 1 }],
    ['true', [], { env: { A: 'x\0' } }],
    ['true', [], { timeout: -1 }],
    ['true', [], { timeout: 1.5 }],
    ['true', [], { timeout: true }],
    ['true', [], { maxBuffer: -1 }],
    ['true', [], { maxBuffer: Number.NaN }],
    ['true', [], { maxBuffer: '1' }],
    ['true', [], { killSignal: 'SIGNOPE' }],
    ['true', [], { killSignal: 0 }],
    ['true', [], { killSignal: 500 }],
    ['true', [], { killSignal: 3.14 }],
    ['true', [], { killSignal: 'constructor' }],
    ['true', [], { killSignal: true }],
    ['true', [], { stdio: 'bogus' }],
    ['true', [], { stdio: [{}] }],
    ['true', [], { timeout: -1, maxBuffer: -1 }],
    ['true', [], { maxBuffer: -1, killSignal: 'nope' }],
    ['true', [], { input: 'x', encoding: 'buffer' }],
    ['sh', ['-c', 'echo x'], { encoding: 'bogus' }],
  ]
  for (const args of cases) {
    const a = thrown(() => Reflect.apply(cp.spawnSync, undefined, args))
    const b = thrown(() => Reflect.apply(spawnSync, undefined, args))
    t.truthy(a, `child_process throws for ${JSON.stringify(args)}`)
    t.deepEqual(a === undefined ? undefined : errorOf(b), a === undefined ? undefined : errorOf(a), JSON.stringify(args))
  }
  // What child_process accepts is accepted.
  for (const options of [{ killSignal: 'sigterm' }, { killSignal: 15 }, { maxBuffer: 3.5 }, { maxBuffer: Infinity }, { timeout: 0 }, { windowsHide: true }]) {
    t.is(ours('true', [], options).status, 0, JSON.stringify(options))
  }
})

test('a polluted Object.prototype reaches no option (shell, cwd, input, maxBuffer, timeout, encoding)', (t) => {
  const proto = Object.prototype as Record<string, unknown>
  const polluted = { shell: '/no/such/shell', cwd: '/no/such/dir', maxBuffer: 1, timeout: 1, encoding: 'hex', argv0: 'p' }
  Object.assign(proto, polluted)
  try {
    const r = same(t, 'sh', ['-c', 'cat; pwd'])
    t.is(r.status, 0)
    t.true(Buffer.isBuffer(r.stdout))
    t.deepEqual(execSync('echo $0', { stdio: 'pipe' }), cp.execSync('echo $0', { stdio: 'pipe' }))
    // execFileSync's error names the file, not an inherited argv0.
    t.is((t.throws(() => execFileSync('sh', ['-c', 'exit 3'], { stdio: 'pipe' })) as Error).message, 'Command failed: sh -c exit 3')
    // child_process reads an inherited `input` (through its stdio entries); this package does not.
    proto.input = 'polluted'
    t.is(String(ours('sh', ['-c', 'cat; echo end']).stdout), 'end\n')
  } finally {
    for (const key of [...Object.keys(polluted), 'input']) delete proto[key]
  }
})

test("execFileSync's args and options in each place child_process takes them: options for args, null or undefined or a function for args, a bad options refused; the args array kept as given", (t) => {
  const fn = () => {}
  const cases: unknown[][] = [
    ['pwd', { cwd: '/tmp', encoding: 'utf8' }],
    ['pwd', null, { cwd: '/tmp', encoding: 'utf8' }],
    ['pwd', undefined, { cwd: '/tmp', encoding: 'utf8' }],
    // A function for args is a callback to child_process: the options after it are dropped.
    ['pwd', fn, { cwd: '/tmp', encoding: 'utf8' }],
    ['pwd', [], null],
    ['pwd', [], undefined],
    ['pwd', [], 'x'],
    ['pwd', [], ['x']],
    ['pwd', [], 5],
    ['pwd', [], fn],
    // The options are looked at before the file: a bad file with bad options is the options' error.
    [1, [], 'x'],
    [1, [], ['x']],
    [1, [], null],
    [1, [], fn],
    [1, 'x'],
    // argv0 is checked before the options spawnSync checks (cwd first among them).
    ['pwd', [], { cwd: 1, argv0: 1 }],
  ]
  const outcome = (f: (...a: unknown[]) => unknown, args: unknown[]) => {
    try {
      const out = f(...args)
      return { out: String(out) }
    } catch (e) {
      return errorOf(e)
    }
  }
  for (const args of cases) {
    t.deepEqual(outcome(execFileSync as never, args), outcome(cp.execFileSync as never, args), String(args.map((a) => typeof a === 'function' ? 'fn' : JSON.stringify(a))))
  }
  t.deepEqual(outcome(execFileSync as never, cases[1]!), { out: '/tmp\n' })
  t.deepEqual(outcome(execFileSync as never, cases[3]!), { out: `${process.cwd()}\n` })
  // The array given is the caller's still: nothing added to it or taken from it.
  const given = ['-c', 'echo "$0"', 'zero']
  t.is(String(execFileSync('sh', given)), 'zero\n')
  t.deepEqual(given, ['-c', 'echo "$0"', 'zero'])
})

test('execSync returns stdout (a string with an encoding) as child_process', (t) => {
  t.deepEqual(execSync('echo hi'), cp.execSync('echo hi'))
  // A function in the options' place is no options (it would be exec's callback), whatever
  // properties it has.
  const fn = Object.assign(() => {}, { encoding: 'utf8' })
  t.deepEqual(execSync('echo hi', fn as never), cp.execSync('echo hi', fn as never))
  t.is(execSync('echo hi', { encoding: 'utf8' }), 'hi\n')
  t.is(execSync('cat', { input: 'fed' }).toString(), 'fed')
  t.is(execSync('echo $0', { shell: '/bin/bash', encoding: 'utf8' }), cp.execSync('echo $0', { shell: '/bin/bash', encoding: 'utf8' }))
})

test('execSync and execFileSync pass stderr on to ours unless stdio is given', async (t) => {
  for (const [api, mod] of [
    ['pidfd', 'pidfd'],
    ['cp', "require('child_process')"],
  ] as const) {
    const run = await runNode(`const m = ${mod};
      const a = m.execSync('echo out-a; echo err-a >&2');
      const b = m.execFileSync('sh', ['-c', 'echo out-b; echo err-b >&2'], { encoding: 'utf8' });
      const c = m.execSync('echo err-c >&2', { stdio: 'pipe' });
      const d = m.execFileSync('sh', ['-c', 'echo err-d >&2'], { stdio: 'pipe' });
      console.log(JSON.stringify([String(a), b, String(c), String(d)]));`)
    t.is(run.stdout, '["out-a\\n","out-b\\n","",""]\n', api)
    t.is(run.stderr, 'err-a\nerr-b\n', api)
  }
})

test('execSync failure: the error child_process throws, plus resourceUsage (non-enumerable)', (t) => {
  const a = thrown(() => cp.execSync('echo oops >&2; exit 3', { stdio: 'pipe' }))
  const b = thrown(() => execSync('echo oops >&2; exit 3', { stdio: 'pipe' })) as Record<string, unknown>
  t.deepEqual(errorOf(b), errorOf(a))
  t.is((b as unknown as Error).message, 'Command failed: echo oops >&2; exit 3\noops\n')
  t.is(b.status, 3)
  isUsage(t, b.resourceUsage)
  t.false(Object.keys(b).includes('resourceUsage'))
})

test('execFileSync failures: a signal, a missing program, a timeout, as child_process', (t) => {
  const cases: unknown[][] = [
    ['sh', ['-c', 'kill -9 $$'], { stdio: 'pipe' }],
    ['no-such-program-here', ['x'], { stdio: 'pipe' }],
    ['sleep', ['10'], { timeout: 100, stdio: 'pipe' }],
    ['sh', ['-c', 'exit 1'], { argv0: 'named', stdio: 'pipe' }],
    ['sh', { stdio: 'pipe' }],
    ['true', 'not-args'],
    ['true', [], 'not-options'],
    ['true', [], { argv0: 1 }],
  ]
  for (const args of cases) {
    const a = thrown(() => Reflect.apply(cp.execFileSync, undefined, args))
    const b = thrown(() => Reflect.apply(execFileSync, undefined, args))
    t.deepEqual(errorOf(b), errorOf(a), JSON.stringify(args))
  }
  const missing = thrown(() => execFileSync('no-such-program-here', [], { stdio: 'pipe' })) as Record<string, unknown>
  t.is(missing.resourceUsage, null)
  const killed = thrown(() => execFileSync('sh', ['-c', 'kill -9 $$'], { stdio: 'pipe' })) as Record<string, unknown>
  t.is(killed.signal, 'SIGKILL')
  isUsage(t, killed.resourceUsage)
  t.is(thrown(() => execSync(1 as unknown as string)) instanceof TypeError, true)
})

test('withUsage: the plain return value and the resource usage; the same throws', (t) => {
  const e = execSync.withUsage('echo hi')
  t.deepEqual(e.stdout, Buffer.from('hi\n'))
  isUsage(t, e.resourceUsage)
  t.is(execSync.withUsage('echo hi', { encoding: 'utf8' }).stdout, 'hi\n')
  const f = execFileSync.withUsage('sh', ['-c', 'echo $0 $1', 'x', 'y'], { encoding: 'utf8' })
  t.is(f.stdout, 'x y\n')
  isUsage(t, f.resourceUsage)
  t.deepEqual(execFileSync.withUsage('pwd', { cwd: '/' }).stdout, Buffer.from('/\n'))
  t.deepEqual(execFileSync.withUsage('true').stdout, Buffer.alloc(0))
  t.deepEqual(
    errorOf(thrown(() => execSync.withUsage('exit 4', { stdio: 'pipe' }))),
    errorOf(thrown(() => execSync('exit 4', { stdio: 'pipe' }))),
  )
  t.deepEqual(
    errorOf(thrown(() => execFileSync.withUsage('no-such-program-here', [], { stdio: 'pipe' }))),
    errorOf(thrown(() => execFileSync('no-such-program-here', [], { stdio: 'pipe' }))),
  )
})

test('resourceUsage is the child’s: its CPU time, and it is reaped once (no zombie left)', (t) => {
  const r = ours('sh', ['-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'])
  const usage = r.resourceUsage as ResourceUsage
  t.true(usage.userCPUTime + usage.systemCPUTime > 50_000, `CPU ${usage.userCPUTime}+${usage.systemCPUTime} µs`)
  t.is(procState(r.pid as number), null)
})

test('maxRSS of /bin/true via spawnSync from a parent holding 500 MB is under 10 MB (the helper); in-process it would not be', async (t) => {
  const script = `const hold = Buffer.alloc(500 * 1024 * 1024, 1);
    const r = pidfd.spawnSync('/bin/true');
    console.log(JSON.stringify({ maxRSS: r.resourceUsage.maxRSS, parentKiB: Math.round(process.memoryUsage().rss / 1024), held: hold[7] }));`
  for (const helper of ['1', '0']) {
    const run = await runNode(script, { env: { PIDFD_SPAWN_HELPER: helper } })
    t.is(run.code, 0, run.stderr)
    const { maxRSS, parentKiB } = JSON.parse(run.stdout) as { maxRSS: number; parentKiB: number }
    t.true(parentKiB >= 500 * 1024, `parent ${parentKiB} KiB`)
    if (helper === '1') t.true(maxRSS < 10 * 1024, `maxRSS ${maxRSS} KiB`)
    else t.true(maxRSS >= 500 * 1024, `without the helper: maxRSS ${maxRSS} KiB`)
  }
})

test('the event loop does not run during the call; an async child started before still ends with its record', async (t) => {
  const sub = spawn('sh', ['-c', 'sleep 0.2'], { stdio: 'ignore' })
  let ran = false
  setImmediate(() => {
    ran = true
  })
  const r = ours('sleep', ['0.4'])
  t.false(ran)
  t.is(r.status, 0)
  const exit = await sub.exited
  t.is(exit.code, 0)
  t.truthy(exit.rusage)
})

runsIf(noStrace, 'the call sleeps in poll(2), bounded only by what is left of the timeout')(
  'the call sleeps in poll(2) while the child runs, on its pipes and then on its exit: without bound when there is no timeout, never past what is left of one (strace)',
  async (t) => {
    // The first call starts the helper; the four after it are read, each after its mark. Each
    // child lives 0.3 s or more: a call that woke up on a clock would poll hundreds of times.
    // The last two close their output at once and live 2 s more, so the call waits on the exit
    // (the pidfd) instead (strace slows every call of this thread, and a loaded machine more).
    const calls: Array<[string, string[], number | undefined]> = [
      ['pipes', ['sleep', '0.3'], undefined],
      ['pipes, timeout', ['sleep', '0.3'], 20_000],
      ['exit', ['sh', '-c', 'exec >&- 2>&-; sleep 2'], undefined],
      ['exit, timeout', ['sh', '-c', 'exec >&- 2>&-; sleep 2'], 20_000],
    ]
    const script = `const pidfd = require(${JSON.stringify(entry)});
      pidfd.spawnSync('true');
      ${JSON.stringify(calls)}.forEach(([, [file, ...args], timeout], i) => {
        process.stderr.write('MARK' + i + '\\n');
        pidfd.spawnSync(file, args, timeout ? { timeout } : {});
      });
      process.stderr.write('MARK' + ${calls.length} + '\\n');`
    const mine = await straceNode(script, ['poll', 'ppoll', 'write', 'sendmsg'], { paths: true, timeout: 60_000 })
    const marks = calls.map((_, i) => i).concat(calls.length).map((i) => markIn(mine, i))
    t.true(marks[0]! > 0 && marks.every((m, i) => i === 0 || m > marks[i - 1]!), `the marks are in the trace: ${marks.join(' ')}`)
    // The waits for the helper's reply poll its socket (with a deadline of their own): the
    // socket each request is sent on. A reply already there is read without a poll, so the
    // polls before the first mark need not name it. The child's pipes and pidfd are new at each
    // call. -y names each descriptor's file. poll's third argument is its timeout in ms
    // (ppoll's a timespec or NULL).
    const files = (l: string) => [...l.matchAll(/fd=\d+<([^>]+)>/g)].map((m) => m[1]!)
    const isPoll = (l: string) => / p?poll\(\[/.test(l)
    const helper = new Set(mine.flatMap((l) => /^\S+\s+sendmsg\(\d+<([^>]+)>/.exec(l)?.[1] ?? []))
    t.true(helper.size >= 1, 'the requests to the helper are in the trace')
    calls.forEach(([title, , timeout], i) => {
      const polls = mine.slice(marks[i], marks[i + 1]).filter((l) => isPoll(l) && !files(l).some((f) => helper.has(f)))
      const waits = polls.map((l) => /\], \d+, (-?\d+|NULL|\{[^}]*\})/.exec(l)?.[1] ?? l)
      t.true(waits.length >= 1 && waits.length <= 8, `${title}: ${waits.length} polls: ${waits.join(' ')}`)
      if (title.startsWith('exit')) t.true(polls.some((l) => l.includes('pidfd')), `${title}: the exit is waited for on the pidfd: ${polls.join(' | ')}`)
      for (const w of waits) {
        if (timeout === undefined) t.true(w === '-1' || w === 'NULL', `${title}: a poll waits ${w}`)
        else t.true(/^\d+$/.test(w) && Number(w) > 15_000 && Number(w) <= 20_000, `${title}: a poll waits ${w} ms`)
      }
    })
  },
)

test.serial('no descriptor leaks: pipes, kills, failures', async (t) => {
  ours('true')
  // Compared by descriptor, not by count: one that was closing when we looked (the watcher's
  // pidfd of a child just reaped) must not stand in for one we leaked.
  const before = fdTable()
  for (let i = 0; i < 5; i++) {
    ours('sh', ['-c', 'echo x; echo y >&2; echo z >&3'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], input: 'in' })
    ours('sleep', ['5'], { timeout: 20 })
    ours('head', ['-c', '100000', '/dev/zero'], { maxBuffer: 10 })
    ours('no-such-program-here')
    ours('pwd', [], { cwd: '/no/such/dir' })
  }
  // A child whose exec failed is reaped by the watcher thread, a moment later.
  t.true(await until(() => newFds(before).length === 0, 2000), `left open: ${newFds(before).join(', ')}`)
})

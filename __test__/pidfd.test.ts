// PidFd and AsyncPidFd on real processes: exit records, idempotent waits, kills, closing.

import test from 'ava'
import { spawn as cpSpawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { AsyncPidFd, PidFd, features, spawn } from '../index.js'
import { isError, noCoreDump, procState, runNode, runsIf, sleep, tempDir, until } from './helpers.js'

test('true exits 0, false exits 1', async (t) => {
  const ok = await spawn('true').exited
  t.like(ok, { status: 'exited', code: 0, signal: null, signalNumber: null, coreDumped: false })
  const bad = await spawn('false').exited
  t.like(bad, { status: 'exited', code: 1, signal: null })
  t.is(bad.siginfo?.siCode, 1) // CLD_EXITED
  t.is(bad.siginfo?.status, 1)
})

// A record the kernel gives without waitid: libuv took the child first (its 'exit' has fired),
// so waitid says ECHILD and the pidfd reads what is left once it is reaped.
const reapedByLibuv = `
  const child = require('node:child_process').spawn('sh', ['-c', 'read line; exit 5'])
  const fd = pidfd.PidFd.fromPid(child.pid)
  child.on('exit', () => console.log(JSON.stringify({ infoExit: pidfd.features().infoExit, exit: fd.tryWait() })))
  child.stdin.end('go\\n')`

test("a child_process child that libuv reaped: the exit from the kernel's wait-status (PIDFD_INFO_EXIT), without siginfo or rusage; coreDumped false, as the status says", async (t) => {
  const run = await runNode(reapedByLibuv)
  t.is(run.code, 0, run.stderr)
  const { infoExit, exit } = JSON.parse(run.stdout) as { infoExit: boolean; exit: unknown }
  t.is(infoExit, features().infoExit)
  if (infoExit) {
    t.deepEqual(exit, { status: 'exited', code: 5, signal: null, signalNumber: null, coreDumped: false, siginfo: null, rusage: null })
  } else {
    t.deepEqual(exit, { status: 'unknown', code: null, signal: null, signalNumber: null, coreDumped: null, siginfo: null, rusage: null })
  }
})

test('the same without PIDFD_INFO_EXIT (PIDFD_DISABLE=infoExit, as before Linux 6.15): status unknown, and coreDumped, siginfo and rusage null, not made up', async (t) => {
  const run = await runNode(reapedByLibuv, { env: { PIDFD_DISABLE: 'infoExit' } })
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), {
    infoExit: false,
    exit: { status: 'unknown', code: null, signal: null, signalNumber: null, coreDumped: null, siginfo: null, rusage: null },
  })
})

test('a shell that kills itself with SIGKILL reports the signal', async (t) => {
  const sub = spawn('sh', ['-c', 'kill -9 $$'])
  const exit = await sub.exited
  t.like(exit, { status: 'signaled', code: null, signal: 'SIGKILL', signalNumber: 9, coreDumped: false })
  t.is(exit.siginfo?.siCode, 2) // CLD_KILLED
  t.is(exit.siginfo?.pid, sub.pid!)
})

test('signal names match what child_process reports (SIGABRT, not SIGIOT)', async (t) => {
  const child = cpSpawn('sh', ['-c', 'kill -ABRT $$'])
  const [, cpSignal] = (await once(child, 'exit')) as [number | null, string | null]
  const ours = await spawn('sh', ['-c', 'kill -ABRT $$']).exited
  t.is(ours.signal, cpSignal as NodeJS.Signals)
  t.is(ours.signal, 'SIGABRT')
})

runsIf(noCoreDump, 'a core-dumped exit')('a core-dumped exit: signaled, coreDumped true, siCode 3 (CLD_DUMPED), the signal child_process reports; with RLIMIT_CORE 0, the same signal, no core, siCode 2', async (t) => {
  // The shell raises its own RLIMIT_CORE (soft, up to the hard limit) and runs in a directory of
  // its own, where core_pattern (a file name) puts the core.
  const dirs = [tempDir('pidfd-core-'), tempDir('pidfd-core-cp-')]
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  const dumps = 'ulimit -c unlimited && kill -SEGV $$'
  const cp = cpSpawn('sh', ['-c', dumps], { cwd: dirs[1], stdio: 'ignore' })
  const [, cpSignal] = (await once(cp, 'exit')) as [number | null, string | null]
  const exit = await spawn('sh', ['-c', dumps], { cwd: dirs[0], stdio: 'ignore' }).exited
  t.like(exit, { status: 'signaled', code: null, signal: 'SIGSEGV', signalNumber: 11, coreDumped: true })
  t.is(exit.signal, cpSignal as NodeJS.Signals)
  t.is(exit.siginfo?.siCode, 3) // CLD_DUMPED
  t.is(exit.siginfo?.status, 11)
  t.true(readdirSync(dirs[0]!).length > 0, 'a core file was written')
  t.true(readdirSync(dirs[1]!).length > 0, "child_process's child wrote one too")

  const none = await spawn('sh', ['-c', 'ulimit -c 0 && kill -SEGV $$'], { cwd: dirs[0], stdio: 'ignore' }).exited
  t.like(none, { status: 'signaled', signal: 'SIGSEGV', coreDumped: false })
  t.is(none.siginfo?.siCode, 2) // CLD_KILLED
})

test('a real-time signal has a number but no Node name', async (t) => {
  const sub = spawn('sleep', ['10'])
  // Through the handle, which takes any number as process.kill does (ChildProcess.kill refuses
  // a number Node has no name for).
  sub.pidfd.kill(40)
  const exit = await sub.exited
  t.like(exit, { status: 'signaled', signal: null, signalNumber: 40, code: null })
})

test('wait twice returns the same record; sync and async agree', async (t) => {
  const sub = spawn('sh', ['-c', 'exit 7'])
  const a = await sub.pidfd.wait()
  const b = await sub.pidfd.wait()
  t.is(a, b)
  t.is(sub.pidfd.tryWait(), a)
  t.deepEqual(await sub.exited, a)
  t.true(Object.isFrozen(a))
})

test('two concurrent async waits get the same record', async (t) => {
  const sub = spawn('sh', ['-c', 'sleep 0.1; exit 4'])
  const [a, b] = await Promise.all([sub.pidfd.wait(), sub.pidfd.wait()])
  t.is(a, b)
  t.is(a.code, 4)
})

test('waits racing a process blocked in `read line` resolve when the line arrives', async (t) => {
  const sub = spawn('sh', ['-c', 'read line; exit 3'])
  const waits = [sub.pidfd.wait(), sub.exited, sub.pidfd.wait()] as const
  await sleep(100)
  t.is(sub.pidfd.tryWait(), null, 'still blocked in read')
  sub.stdin!.end('go\n')
  const [a, b, c] = await Promise.all(waits)
  t.is(a.code, 3)
  t.deepEqual(a, b)
  t.is(a, c)
})

test('tryWait is null while the process runs', async (t) => {
  const sub = spawn('sleep', ['10'])
  t.is(sub.pidfd.tryWait(), null)
  sub.kill('SIGKILL')
  t.is((await sub.exited).signal, 'SIGKILL')
})

test('PidFd.wait blocks until the exit and reaps with { reap: true }', (t) => {
  const child = cpSpawn('sh', ['-c', 'exit 5'])
  const fd = PidFd.fromPid(child.pid!, { reap: true })
  const exit = fd.wait()
  t.like(exit, { status: 'exited', code: 5 })
  t.truthy(exit.rusage)
  t.is(fd.wait(), exit)
  fd.close()
  // The child was reaped by us, so libuv never reports it: stop it from waiting on it.
  child.unref()
})

test('kill() of a waited process from another task', async (t) => {
  const sub = spawn('sleep', ['10'])
  const waiting = sub.pidfd.wait()
  setTimeout(() => sub.pidfd.kill('SIGKILL'), 50)
  const exit = await waiting
  t.is(exit.signal, 'SIGKILL')

  const child = cpSpawn('sleep', ['10'])
  // Listened for now: the exit may come before the await below returns.
  const childExit = once(child, 'exit')
  const fd = AsyncPidFd.fromPid(child.pid!)
  const viaPidfd = fd.wait()
  setTimeout(() => fd.kill(), 50)
  t.is((await viaPidfd).signal, 'SIGTERM')
  const [, signal] = await childExit
  t.is(signal, 'SIGTERM')
  fd.close()
})

test('killGroup(): the signal reaches the whole group the child leads (processGroup, detached, both), false or ESRCH where there is none', async (t) => {
  /** A process's group and session, from its stat line. */
  const ids = (pid: number | string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(2, 4).map(Number)
    return { pgrp, session }
  }
  for (const options of [{ processGroup: true }, { detached: true }, { processGroup: true, detached: true }] as Array<{ processGroup?: boolean; detached?: boolean }>) {
    // The shell starts a grandchild in its group and waits for it.
    const sub = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { ...options, stdio: ['ignore', 'pipe', 'ignore'] })
    const line = await new Promise<string>((resolve, reject) => {
      sub.stdout!.once('data', (d: Buffer) => resolve(String(d)))
      sub.once('error', (e) => reject(new Error(`${JSON.stringify(options)}: ${e.message}`)))
    })
    const grandchild = Number(line.trim())
    // It leads a group; detached, a session too (a detached child's group is that of its session).
    t.deepEqual(ids(sub.pid!), { pgrp: sub.pid, session: options.detached ? sub.pid : ids('self').session }, JSON.stringify(options))
    t.true(sub.killGroup('SIGTERM'), JSON.stringify(options))
    t.is((await sub.exited).signal, 'SIGTERM', 'the leader')
    // Orphaned by the leader's death, it is reaped by whoever adopts it (which may never reap,
    // in some containers): that it has ended is what its state says, a zombie or gone.
    t.true(await until(() => ['Z', null].includes(procState(grandchild)), 20_000), 'the grandchild in its group ended')
    t.false(sub.killGroup(), 'false once the exit is known')
    t.throws(() => sub.pidfd.killGroup(), { code: 'ESRCH' })
  }
  // A child in this process's group leads none: the group kill finds nobody, and the child runs on.
  const plain = spawn('sleep', ['30'], { stdio: 'ignore' })
  t.false(plain.killGroup())
  t.like(t.throws(() => plain.pidfd.killGroup()), { code: 'ESRCH', syscall: 'kill' })
  t.is(plain.pidfd.tryWait(), null)
  plain.kill('SIGKILL')
  await plain.exited
  // A process the package did not spawn, even one that leads a group (a detached
  // child_process child): its group is not the package's to signal.
  const theirs = cpSpawn('sleep', ['30'], { detached: true, stdio: 'ignore' })
  const theirsExit = once(theirs, 'exit')
  const handle = PidFd.fromPid(theirs.pid!)
  t.like(t.throws(() => handle.killGroup('SIGTERM')), { code: 'ESRCH', syscall: 'kill' })
  t.is(handle.tryWait(), null, 'the detached child_process child runs on')
  handle.close()
  theirs.kill('SIGKILL')
  t.deepEqual(await theirsExit, [null, 'SIGKILL'])
  t.like(t.throws(() => PidFd.fromPid(process.pid).killGroup(0)), { code: 'ESRCH', syscall: 'kill' })
})

test('kill() after the exit is known: ESRCH from a pidfd, false from the subprocess', async (t) => {
  const sub = spawn('true')
  await sub.exited
  t.false(sub.kill())
  t.false(sub.kill('SIGKILL'))
  isError(t, t.throws(() => sub.pidfd.kill()), { code: 'ESRCH', errno: -3, syscall: 'pidfd_send_signal' })
  t.regex((t.throws(() => sub.pidfd.kill()) as Error).message, /^pidfd_send_signal ESRCH/)

  // A child_process child that is a zombie until libuv reaps it: the kernel would accept a
  // signal, the cached exit refuses it.
  const child = cpSpawn('true')
  const fd = PidFd.fromPid(child.pid!)
  t.is(fd.wait().code, 0)
  isError(t, t.throws(() => fd.kill('SIGKILL')), { code: 'ESRCH', errno: -3 })
  fd.close()
  await once(child, 'exit')
})

test('a spawned child is reaped by the package: fromPid({ reap: true }) and close() cannot take its rusage', async (t) => {
  const sub = spawn('sh', ['-c', 'sleep 0.1; exit 9'])
  const thief = PidFd.fromPid(sub.pid!, { reap: true })
  sub.pidfd.close()
  const stolen = thief.wait()
  const exit = await sub.exited
  t.is(exit.code, 9)
  t.truthy(exit.rusage)
  t.deepEqual(stolen, exit, 'the other handle shares the package-owned record')
  thief.close()
})

test('close(): fd is -1, pending waits reject with ERR_PIDFD_CLOSED, every method then throws', async (t) => {
  const sub = spawn('sleep', ['10'])
  const fd = AsyncPidFd.fromPid(sub.pid!)
  t.true(fd.fd >= 0)
  const pending = fd.wait()
  fd.close()
  t.is(fd.fd, -1)
  isError(t, await t.throwsAsync(pending), { code: 'ERR_PIDFD_CLOSED' })
  isError(t, await t.throwsAsync(fd.wait()), { code: 'ERR_PIDFD_CLOSED' })
  isError(t, t.throws(() => fd.tryWait()), { code: 'ERR_PIDFD_CLOSED' })
  isError(t, t.throws(() => fd.kill()), { code: 'ERR_PIDFD_CLOSED' })
  t.notThrows(() => fd.close())
  t.is(fd.pid, sub.pid!)

  const sync = PidFd.fromPid(sub.pid!)
  sync[Symbol.dispose]()
  t.is(sync.fd, -1)
  isError(t, t.throws(() => sync.wait()), { code: 'ERR_PIDFD_CLOSED' })

  t.true(sub.kill('SIGKILL'))
  t.is((await sub.exited).signal, 'SIGKILL')
})

test('fromPid of a process that is gone throws ESRCH shaped as Node does', async (t) => {
  const sub = spawn('true')
  await sub.exited
  const err = t.throws(() => PidFd.fromPid(sub.pid!))
  isError(t, err, { code: 'ESRCH', errno: -3, syscall: 'pidfd_open' })
  t.is(err?.message, 'pidfd_open ESRCH')
})

test('a process that is not our child (init): tryWait is null while it runs, and a wait can be given up', async (t) => {
  const init = AsyncPidFd.fromPid(1)
  t.is(init.tryWait(), null)
  isError(t, await t.throwsAsync(init.wait({ timeout: 50 })), { code: 'ABORT_ERR' })
  t.is(PidFd.fromPid(1).tryWait(), null)
  init.close()
})

test('the blocking wait with a timeout: null while the process runs, once the timeout has passed; the record once it exits', (t) => {
  // It runs until it is killed, after the first wait (not for a delay a busy machine could
  // outlast).
  const sub = spawn('sleep', ['30'], { stdio: 'ignore' })
  const sync = PidFd.fromPid(sub.pid!)
  const t0 = performance.now()
  t.is(sync.wait({ timeout: 200 }), null)
  const waited = performance.now() - t0
  // Under ten times the timeout: a busy machine's late wake-up apart, not a unit's error.
  t.true(waited >= 190 && waited < 2000, `blocked ${waited} ms`)
  sub.kill()
  const exit = sync.wait({ timeout: 5000 })
  t.is(exit?.signal, 'SIGTERM')
  t.is(sync.wait({ timeout: 0 }), exit, 'the same record, at once')
  for (const [timeout, code] of [[-1, 'ERR_OUT_OF_RANGE'], [1.5, 'ERR_OUT_OF_RANGE'], ['10', 'ERR_INVALID_ARG_TYPE'], [2 ** 31, 'ERR_OUT_OF_RANGE']] as const) {
    t.throws(() => sync.wait({ timeout } as never), { code })
  }
})

test('a handle is made by the package only: new PidFd() and new AsyncPidFd() throw a TypeError that says how', (t) => {
  for (const Class of [PidFd, AsyncPidFd]) {
    const err = t.throws(() => new (Class as unknown as new () => unknown)())
    t.true(err instanceof TypeError)
    t.is(err!.message, 'Use fromPid() to open a pidfd')
  }
})

test('an exit known: kill() and killGroup() are ESRCH, naming pidfd_send_signal and kill; once closed, every call is ERR_PIDFD_CLOSED, the exit known or not', async (t) => {
  const sub = spawn('true', { processGroup: true })
  const fd = sub.pidfd
  await fd.wait()
  isError(t, t.throws(() => fd.kill()), { code: 'ESRCH', errno: -3, syscall: 'pidfd_send_signal' })
  isError(t, t.throws(() => fd.killGroup()), { code: 'ESRCH', errno: -3, syscall: 'kill' })
  fd.close()
  fd.close()
  t.is(fd.fd, -1)
  const closed = { code: 'ERR_PIDFD_CLOSED', message: 'The pidfd is closed' }
  t.like(t.throws(() => fd.tryWait()), closed, 'tryWait')
  t.like(t.throws(() => fd.kill()), closed, 'kill')
  t.like(t.throws(() => fd.killGroup()), closed, 'killGroup')
  t.like(t.throws(() => fd.info()), closed, 'info')
  t.like(await t.throwsAsync(fd.wait()), closed, 'wait')
  const self = PidFd.self()
  self.close()
  t.like(t.throws(() => self.tryWait()), closed, 'a handle whose exit is not known')
})

test("namespace() and getFd() refuse bad arguments in Node's words", async (t) => {
  const sub = spawn('sleep', ['10'])
  t.teardown(() => sub.kill('SIGKILL'))
  const fd = sub.pidfd
  const message = (f: () => unknown) => {
    const err = t.throws(f) as Error & { code: string }
    return `${err.constructor.name} ${err.code}: ${err.message}`
  }
  t.is(message(() => fd.namespace(42 as never)), 'TypeError ERR_INVALID_ARG_TYPE: The "kind" argument must be of type string. Received type number (42)')
  t.is(message(() => fd.namespace('mount' as never)), "TypeError ERR_INVALID_ARG_VALUE: The argument 'kind' must be one of cgroup, ipc, mnt, net, pid, pid_for_children, time, time_for_children, user, uts. Received 'mount'")
  t.is(message(() => fd.getFd('1' as never)), 'TypeError ERR_INVALID_ARG_TYPE: The "targetFd" argument must be of type number. Received type string (\'1\')')
  for (const bad of [-1, 1.5, 2 ** 31]) {
    t.is(message(() => fd.getFd(bad)), `RangeError ERR_OUT_OF_RANGE: The value of "targetFd" is out of range. It must be an integer >= 0 and <= 2147483647. Received ${bad}`)
  }
  // The largest allowed number reaches the kernel: no such descriptor in the child.
  isError(t, t.throws(() => fd.getFd(2 ** 31 - 1)), { code: 'EBADF', errno: -9, syscall: 'pidfd_getfd' })
})

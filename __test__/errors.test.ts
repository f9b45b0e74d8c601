// Bad input: Node's error classes and codes, never a crash and never a leaked descriptor.

import test from 'ava'
import { once } from 'node:events'

import { AsyncPidFd, PidFd, spawn } from '../index.js'
import { isError, openFds, sleep, until } from './helpers.js'

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

test('fromPid: bad options are TypeErrors', (t) => {
  isError(t, t.throws(() => PidFd.fromPid(process.pid, 5 as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, t.throws(() => PidFd.fromPid(process.pid, null as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, t.throws(() => PidFd.fromPid(process.pid, { reap: 'yes' } as never)), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_TYPE',
  })
})

test('kill: unknown signal names and non-integer numbers are ERR_UNKNOWN_SIGNAL; other types ERR_INVALID_ARG_TYPE; out-of-range numbers EINVAL', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  for (const signal of ['SIGFOO', 'sigterm', 'TERM', '', 'constructor', 'toString', 1.5, NaN]) {
    isError(t, t.throws(() => sub.pidfd.kill(signal as never)), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' })
    isError(t, t.throws(() => sub.kill(signal as never)), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' })
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

test('spawn: bad arguments', (t) => {
  const typeErr = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' }
  const valueErr = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' }
  isError(t, t.throws(() => spawn(5 as never)), typeErr)
  isError(t, t.throws(() => spawn('')), valueErr)
  isError(t, t.throws(() => spawn('tr\0ue')), valueErr)
  isError(t, t.throws(() => spawn('true', 'a' as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [1] as never)), typeErr)
  isError(t, t.throws(() => spawn('true', ['a\0b'])), valueErr)
  isError(t, t.throws(() => spawn('true', [], 'opts' as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [], { cwd: 5 } as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [], { env: 'x' } as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [], { env: { A: 'a\0b' } })), valueErr)
  isError(t, t.throws(() => spawn('true', [], { stdio: 5 } as never)), typeErr)
  for (const entry of ['pipes', -1, 1.5, {}, true]) {
    isError(t, t.throws(() => spawn('true', [], { stdio: [entry] } as never)), valueErr)
  }
  isError(t, t.throws(() => spawn('true', [], { stdio: ['ignore', 987654] })), { code: 'EBADF', errno: -9 })
  isError(t, t.throws(() => spawn('true', [], { stdio: ['ipc'] } as never)), valueErr)
  isError(t, t.throws(() => spawn('true', [], { serialization: 'advanced' } as never)), valueErr)
  isError(t, t.throws(() => spawn('true', [], { killSignal: 'SIGNOPE' } as never)), { instanceOf: TypeError, code: 'ERR_UNKNOWN_SIGNAL' })
  isError(t, t.throws(() => spawn('true', [], { timeout: -1 })), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  isError(t, t.throws(() => spawn('true', [], { uid: -1 })), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  isError(t, t.throws(() => spawn('true', [], { gid: '0' } as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [], { signal: {} } as never)), typeErr)
  isError(t, t.throws(() => spawn('true', [], { detached: 1 } as never)), typeErr)
})

test("spawn: a cwd that does not exist is reported through 'error', as child_process does", async (t) => {
  const [err] = (await once(spawn('true', [], { cwd: '/pidfd/no/such/dir' }), 'error')) as [Error]
  isError(t, err, { code: 'ENOENT', errno: -2 })
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
  const before = openFds()
  await run()
  await until(() => openFds() === before, 2000)
  t.is(openFds(), before)
})

// Waiting in real programs: cancellable waits, ref/unref, many waiters, worker threads.

import test from 'ava'
import { getEventListeners } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

import { AsyncPidFd, spawn } from '../index.js'
import { entry, gone, isError, kernelAtLeast, killPid, procState, runNode, runsIf, shUntil, sliceOf, sliceShown, tempDir, until, within } from './helpers.js'

test('an aborted wait rejects with an AbortError carrying the reason; the process and pidfd stay usable', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  const controller = new AbortController()
  const waiting = sub.pidfd.wait({ signal: controller.signal })
  controller.abort('enough')
  const err = await t.throwsAsync(waiting)
  isError(t, err, { code: 'ABORT_ERR' })
  t.is(err!.name, 'AbortError')
  t.is(err!.cause, 'enough')
  t.is(sub.pidfd.tryWait(), null, 'still running')
  isError(t, await t.throwsAsync(sub.pidfd.wait({ signal: AbortSignal.abort('now') })), { code: 'ABORT_ERR' })
  const later = sub.pidfd.wait()
  sub.kill('SIGKILL')
  t.is((await within(later, 20_000, 'the wait after an aborted one')).signal, 'SIGKILL')
})

test('a wait with a timeout rejects with an AbortError whose cause is a TimeoutError', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  const err = await t.throwsAsync(sub.pidfd.wait({ timeout: 50 }))
  isError(t, err, { code: 'ABORT_ERR' })
  t.is((err!.cause as Error).name, 'TimeoutError')
  sub.kill()
  t.is((await sub.pidfd.wait({ timeout: 5000 })).signal, 'SIGTERM')
  isError(t, await t.throwsAsync(sub.pidfd.wait({ timeout: -1 })), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
})

test('bad wait options are rejections in Node\'s words; a timeout of 2³¹−1 ms is taken, 2³¹ is not; beside a signal, a timeout still ends the wait', async (t) => {
  const sub = spawn('true', [], { stdio: 'ignore' })
  isError(t, await t.throwsAsync(sub.pidfd.wait({ signal: 'x' } as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, await t.throwsAsync(sub.pidfd.wait({ timeout: '1' } as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  await sub.exited
  // In Node's words, and at the edge: 2³¹−1 ms is taken (as setTimeout's bound), 2³¹ is not.
  const running = spawn('sleep', ['10'], { stdio: 'ignore' })
  const words = async (timeout: unknown) => (await t.throwsAsync(running.pidfd.wait({ timeout } as never)))!.message
  t.is(await words('1'), 'The "options.timeout" property must be of type number. Received type string (\'1\')')
  t.is(await words(2 ** 31), 'The value of "options.timeout" is out of range. It must be an integer >= 0 and <= 2147483647. Received 2147483648')
  t.is((await t.throwsAsync(running.pidfd.wait({ signal: 'x' } as never)))!.message, 'The "options.signal" property must be an instance of AbortSignal. Received type string (\'x\')')
  t.is((await t.throwsAsync(running.pidfd.wait(5 as never)))!.message, 'The "options" argument must be of type object. Received type number (5)')
  // A signal and a timeout: whichever comes first ends the wait (here the timeout).
  const both = await t.throwsAsync(running.pidfd.wait({ signal: new AbortController().signal, timeout: 50 }))
  isError(t, both, { code: 'ABORT_ERR' })
  t.is((both!.cause as Error).name, 'TimeoutError')
  const longest = running.pidfd.wait({ timeout: 2 ** 31 - 1 })
  running.kill('SIGKILL')
  t.is((await longest).signal, 'SIGKILL')
})

test('100 concurrent waiters and a kill from a timer: all get the same record', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  const fds = Array.from({ length: 10 }, () => AsyncPidFd.fromPid(sub.pid!))
  const waits = Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? sub.exited : fds[i % 10]!.wait()))
  setTimeout(() => sub.kill('SIGUSR1'), 50)
  const results = await within(Promise.all(waits), 20_000, '100 waits')
  t.true(results.every((r) => r.signal === 'SIGUSR1' && r.rusage !== null))
  t.is(new Set(results.map((r) => JSON.stringify(r))).size, 1)
  for (const fd of fds) fd.close()
})

test('unref: a pending wait (and an unref\'d subprocess) no longer keeps Node alive; ref() restores it', async (t) => {
  const started = Date.now()
  const run = await runNode(`
    const { spawn } = require('node:child_process');
    const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
    child.unref();
    pidfd.AsyncPidFd.fromChild(child).unref().wait().then(() => console.log('never'));
    const sub = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    sub.unref();
    const kept = pidfd.spawn('sh', ['-c', 'sleep 0.2'], { stdio: 'ignore' });
    kept.unref(); kept.ref();
    kept.exited.then(() => console.log('kept'));
    process.on('exit', () => { process.kill(child.pid, 'SIGKILL'); sub.kill('SIGKILL'); });
  `)
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'kept\n')
  // Not the sleeps' 30 s (runNode's 20 s would end it first): a bound a busy machine keeps.
  t.true(Date.now() - started < 15_000)
})

test('an aborted wait ends only itself: the other waits of the handle still resolve, and once the last is aborted Node may exit', async (t) => {
  const run = await runNode(`
    const { spawn } = require('node:child_process');
    const start = () => { const c = spawn('sleep', ['30'], { stdio: 'ignore', detached: true }); c.unref(); return c };
    const first = start(), second = start();
    const handle = pidfd.AsyncPidFd.fromPid(first.pid);
    const aborting = new AbortController();
    const aborted = handle.wait({ signal: aborting.signal });
    const kept = handle.wait({ signal: new AbortController().signal });
    aborted.catch((e) => {
      console.log('aborted', e.name);
      kept.then(() => {
        console.log('kept');
        // The last wait on a process that runs on: aborted, it holds Node no longer.
        pidfd.AsyncPidFd.fromPid(second.pid).wait({ timeout: 10 }).catch((e) => console.log('last', e.cause.name));
      });
      process.kill(first.pid, 'SIGKILL');
    });
    aborting.abort();
    process.on('exit', () => process.kill(second.pid, 'SIGKILL'));
  `)
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'aborted AbortError\nkept\nlast TimeoutError\n')
})

test('ref() and unref() count each handle once: repeated, before a wait or during it, or ended by an abort', async (t) => {
  const run = await runNode(`
    const { spawn } = require('node:child_process');
    const start = () => { const c = spawn('sleep', ['30'], { stdio: 'ignore', detached: true }); c.unref(); return c };
    const [a, b, c] = [start(), start(), start()];
    // Not watched yet: unref() then ref() hold nothing, nor does a second ref(); the wait holds
    // once, and a ref() during it holds no more.
    const held = pidfd.AsyncPidFd.fromPid(a.pid);
    held.unref(); held.ref(); held.ref();
    const waiting = held.wait();
    held.ref();
    // Unref'd: its wait holds nothing, and its abort lets go of nothing (held's hold stays).
    const loose = pidfd.AsyncPidFd.fromPid(b.pid).unref();
    loose.unref();
    const aborting = new AbortController();
    loose.wait({ signal: aborting.signal }).catch(() => console.log('loose aborted'));
    aborting.abort();
    // Unref'd before its first wait: a wait that never ends does not keep Node alive.
    pidfd.AsyncPidFd.fromPid(c.pid).unref().wait().then(() => console.log('never'));
    // Held, Node is still here when this unref'd timer fires; its kill ends the held wait.
    setTimeout(() => process.kill(a.pid, 'SIGKILL'), 100).unref();
    waiting.then(() => console.log('held'));
    process.on('exit', () => { process.kill(b.pid, 'SIGKILL'); process.kill(c.pid, 'SIGKILL') });
  `)
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'loose aborted\nheld\n')
})

test('a signal kept for many waits holds no listener of a wait that has ended, resolved or aborted', async (t) => {
  const controller = new AbortController()
  for (let i = 0; i < 12; i++) {
    const sub = spawn('true', [], { stdio: 'ignore' })
    t.is((await sub.pidfd.wait({ signal: controller.signal })).code, 0)
  }
  t.is(getEventListeners(controller.signal, 'abort').length, 0)
  const running = spawn('sleep', ['10'], { stdio: 'ignore' })
  const own = new AbortController()
  const waiting = running.pidfd.wait({ signal: controller.signal })
  const aborted = running.pidfd.wait({ signal: own.signal })
  t.is(getEventListeners(controller.signal, 'abort').length, 1)
  own.abort()
  isError(t, await t.throwsAsync(aborted), { code: 'ABORT_ERR' })
  t.is(getEventListeners(own.signal, 'abort').length, 0)
  running.kill('SIGKILL')
  t.is((await waiting).signal, 'SIGKILL')
  t.is(getEventListeners(controller.signal, 'abort').length, 0)
})

test('worker threads: wait in several, terminate them mid-wait: no crash, no zombie, Node exits promptly', async (t) => {
  const workers = Array.from(
    { length: 3 },
    () =>
      new Worker(
        `const { parentPort } = require('node:worker_threads');
         const cp = require('node:child_process');
         const { spawn, AsyncPidFd } = require(${JSON.stringify(entry)});
         const short = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
         short.exited.then((e) => {
           const long = spawn('sleep', ['0.5'], { stdio: 'ignore' });
           AsyncPidFd.fromPid(long.pid).wait();
           // A child_process child too: its wait peeks from this worker's own event loop.
           AsyncPidFd.fromChild(cp.spawn('sleep', ['0.5'], { stdio: 'ignore' })).wait();
           parentPort.postMessage({ code: e.code, long: long.pid });
         });`,
        { eval: true },
      ),
  )
  // A worker that throws fails the test with its error; one that never tells, or never ends, by name.
  const told = workers.map((w) => new Promise<{ code: number; long: number }>((resolve, reject) => w.once('message', resolve).once('error', reject)))
  const messages = await within(Promise.all(told), 30_000, "the workers' messages")
  t.true(messages.every((m) => m.code === 3))
  await within(Promise.all(workers.map((w) => w.terminate())), 30_000, 'terminating the workers')
  for (const { long } of messages) t.true(await until(() => gone(long), 3000), `state ${procState(long)}`)

  // An unref'd child waited for in a worker holds nothing open: Node exits while it still runs
  // (it is killed here after).
  const run = await runNode(`
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const { spawn } = require(${JSON.stringify(entry)});
      const sub = spawn('sleep', ['30'], { stdio: 'ignore' });
      sub.unref();
      sub.exited.then(() => console.log('never'));
      require('node:worker_threads').parentPort.postMessage(sub.pid);
    \`, { eval: true });
    w.once('message', (pid) => console.log('worker started', pid));
  `)
  const pid = Number(/^worker started (\d+)\n$/.exec(run.stdout)?.[1])
  const state = procState(pid)
  killPid(pid)
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^worker started \d+\n$/)
  t.not(state, null, 'the child still ran when Node had exited')
})

for (const mainWaitsFirst of [false, true]) {
  test(`a spawned child waited for from a worker while the spawning thread is blocked${mainWaitsFirst ? ', which waits for it too (after the worker, before it blocks)' : ''}: the worker is told (the watcher thread serves a child two environments wait for)`, async (t) => {
    // The child exits only once the worker creates its file, which the worker does once this thread
    // is about to block (told[1]): not after a fixed 0.3 s, which a busy machine could spend
    // before this thread even blocked (the exit was told first: 'not-equal').
    const go = join(tempDir('pidfd-waits-'), 'go')
    const run = await runNode(`
      const { Worker } = require('node:worker_threads');
      const told = new Int32Array(new SharedArrayBuffer(8));
      const sub = pidfd.spawn('sh', ['-c', '${shUntil('[ -e "$0" ]')}; exit 5', ${JSON.stringify(go)}], { stdio: 'ignore' });
      const w = new Worker(\`
        const { workerData } = require('node:worker_threads');
        const { AsyncPidFd } = require(${JSON.stringify(entry)});
        AsyncPidFd.fromPid(workerData.pid).wait().then((e) => {
          Atomics.store(workerData.told, 0, e.code);
          Atomics.notify(workerData.told, 0);
        });
        require('node:worker_threads').parentPort.postMessage('waiting');
        Atomics.wait(workerData.told, 1, 0, 20000);
        require('node:fs').writeFileSync(${JSON.stringify(go)}, '');
      \`, { eval: true, workerData: { pid: sub.pid, told } });
      w.once('message', () => {
        // The second wait on the handle, from another environment: the child goes to the
        // watcher thread, not to this thread's loop, which is about to block.
        const exited = ${mainWaitsFirst} ? pidfd.AsyncPidFd.fromPid(sub.pid).wait() : null;
        Atomics.store(told, 1, 1);
        Atomics.notify(told, 1);
        // This thread's event loop cannot run until the wait below returns.
        const outcome = Atomics.wait(told, 0, 0, 20000);
        console.log(outcome, Atomics.load(told, 0));
        (exited ?? sub.exited).then((e) => { console.log('exited', e.code); w.terminate(); });
      });
    `, { timeoutMs: 60_000 })
    t.is(run.code, 0, run.stderr)
    t.is(run.stdout, 'ok 5\nexited 5\n')
  })
}

// EEVDF takes a thread's own slice from sched_attr.sched_runtime from Linux 6.12; /proc shows it
// as se.slice where the kernel has CONFIG_SCHED_DEBUG.
const slices = kernelAtLeast(6, 12) && sliceShown
runsIf(slices ? null : 'no custom slices here (Linux 6.12) or /proc does not show them', 'the watcher thread asks for a 100 µs slice')(
  "the watcher thread asks for a 100 µs scheduler slice, so an exit on a busy CPU is collected soon; Node's own threads keep theirs",
  async (t) => {
    const run = await runNode(`
      const fs = require('node:fs');
      const c = pidfd.spawn('true', [], { stdio: 'ignore' });
      const threads = () => fs.readdirSync('/proc/self/task').map((tid) => ({
        name: fs.readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(),
        sched: fs.readFileSync('/proc/self/task/' + tid + '/sched', 'utf8'),
      }));
      // The thread names itself and asks for its slice once it runs, which on an idle machine
      // may be after a child as quick as true has exited: looked at until it has (5 s at most).
      const asked = (th) => th.name === 'pidfd-watch' && /^se\\.slice\\s*:\\s*100000$/m.test(th.sched);
      const end = Date.now() + 5000;
      c.on('exit', function look() {
        if (threads().some(asked) || Date.now() > end) console.log(JSON.stringify(threads()));
        else setTimeout(look, 10);
      });`)
    t.is(run.code, 0, run.stderr)
    const threads = (JSON.parse(run.stdout) as Array<{ name: string; sched: string }>).map(({ name, sched }) => ({ name, slice: sliceOf(sched) }))
    const watcher = threads.filter((th) => th.name === 'pidfd-watch')
    t.is(watcher.length, 1, 'one watcher thread')
    t.is(watcher[0]!.slice, '100000')
    const own = sliceOf(readFileSync('/proc/self/sched', 'utf8'))
    t.true(
      threads.filter((th) => th.name !== 'pidfd-watch').every((th) => th.slice === own),
      `Node's threads keep the default slice (${own}): ${JSON.stringify(threads)}`,
    )
  },
)

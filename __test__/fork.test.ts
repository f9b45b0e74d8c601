// fork() and spawn with 'ipc' side by side with child_process's: real Node children, written to
// a temp dir, talk over the channel in both serializations; the events, their order, send's
// boolean and callback, the errors and the options come out as child_process's; and the child
// is the package's, with its usage.

import * as cp from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import dgram from 'node:dgram'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inspect } from 'node:util'
import test from 'ava'

import * as pidfd from '../index.js'
import * as pidfdCp from '../lib/child_process.js'
import { Subprocess } from '../index.js'
import { entry, killPid, lenderScript, runNode, sleep, tempDir, until } from './helpers.js'

const dir = tempDir('pidfd-fork-')
function script(name: string, source: string): string {
  const path = join(dir, name)
  writeFileSync(path, source)
  return path
}

// Echoes every message back; a few words steer it.
const echo = script(
  'echo.js',
  `process.on('message', (m) => {
  if (m === 'disconnect') return process.disconnect()
  if (typeof m === 'string' && m.startsWith('exit:')) return process.exit(Number(m.slice(5)))
  process.send(m)
})
`,
)
// Says what it was started with, then leaves.
const argv = script(
  'argv.js',
  `process.send({ argv: process.argv.slice(2), execArgv: process.execArgv, cwd: process.cwd(), env: process.env.FORK_TEST, connected: process.connected })
process.disconnect()
`,
)
// Sends two messages, disconnects itself, and lives on until a SIGUSR2 (sent on its
// 'disconnect'), then exits 5: the order of the events is the script's, not the scheduler's.
const leaver = script(
  'leaver.js',
  `process.on('SIGUSR2', () => process.exit(5))
setTimeout(() => {}, 60_000)
process.send('a')
process.send('b')
process.disconnect()
`,
)
// The same, exiting as soon as it has disconnected: its exit and its channel's end race.
const quickLeaver = script('quick-leaver.js', `process.send('a')\nprocess.send('b')\nprocess.disconnect()\nprocess.exit(5)\n`)
// Sends one message, then says so on stdout; leaves when told.
const early = script('early.js', `process.send('early', () => process.stdout.write('sent'))\nprocess.on('message', () => process.exit(0))\n`)
// Says so on stdout, then does not read its channel until killed (a blocked event loop).
const blocked = script('blocked.js', `require('node:fs').writeSync(1, 'blocked')\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000)\n`)
// Writes to stdout and stderr, and exits.
const silent = script('silent.js', `process.stdout.write('out'); process.stderr.write('err'); process.send('done')\n`)
type Fork = typeof cp.fork
const forks: Array<[string, Fork]> = [
  ['child_process', cp.fork],
  ['pidfd', pidfd.fork as unknown as Fork],
]

/** Collects events of a child in order, until 'close' (or a bound of time). */
function record(child: cp.ChildProcess, events = ['message', 'disconnect', 'exit', 'close']): Promise<unknown[][]> {
  const seen: unknown[][] = []
  return new Promise((resolve) => {
    for (const event of events) child.on(event, (...args: unknown[]) => seen.push([event, ...args.filter((a) => a !== undefined)]))
    child.on('close', () => setImmediate(() => resolve(seen)))
  })
}

test('fork returns the package Subprocess, an instanceof ChildProcess; pidfd/child_process has the same fork', async (t) => {
  t.is(pidfdCp.fork, pidfd.fork)
  t.not(pidfd.fork, cp.fork)
  const child = pidfd.fork(argv)
  t.true(child instanceof Subprocess)
  t.true(child instanceof cp.ChildProcess)
  t.true(child.connected)
  const exit = await child.exited
  t.is(exit.code, 0)
  // The exit record has the child's usage and its own maxRSS (a Node process: megabytes).
  t.truthy(exit.rusage)
  t.true(exit.rusage.maxRSS > 10_000)
  t.deepEqual(child.resourceUsage(), exit.rusage)
})

for (const serialization of ['json', 'advanced'] as const) {
  test(`messages round-trip in ${serialization} mode as with child_process`, async (t) => {
    const messages: unknown[] =
      serialization === 'json'
        ? ['text', 42, true, { a: [1, 'two', null], nested: { ok: true } }, 'ünïcödé ✓', 'x'.repeat(200_000)]
        : [
            'text',
            Buffer.from('bytes'),
            new Map<unknown, unknown>([['k', 1], [2, 'v']]),
            new Set([1, 2]),
            { big: 2n ** 70n },
            new Uint16Array([1, 65535]),
            new Date(0),
            /re/g,
            { deep: [Buffer.from([0, 255])] },
            'x'.repeat(200_000),
          ]
    const results: unknown[][] = []
    for (const [, fork] of forks) {
      const child = fork(echo, [], { serialization })
      const got: unknown[] = []
      await new Promise<void>((resolve) => {
        child.on('message', (m) => {
          got.push(m)
          if (got.length === messages.length) resolve()
        })
        for (const m of messages) child.send(m as string)
      })
      child.send('exit:0')
      await new Promise((resolve) => child.on('close', resolve))
      results.push(got)
    }
    t.deepEqual(results[1], messages.map((m) => (serialization === 'json' ? JSON.parse(JSON.stringify(m)) : m)))
    t.deepEqual(results[1], results[0])
    if (serialization === 'advanced') {
      // A Buffer comes back as a Uint8Array-backed view, as child_process gives it.
      t.is(Object.getPrototypeOf(results[1]![1]), Object.getPrototypeOf(results[0]![1]))
    }
  })
}

test("fork() from a parent whose stdout is a file or a pipe: the channel works and the parent's stdout still does, as with child_process", async (t) => {
  const dir = tempDir('pidfd-fork-fds-')
  const child = join(dir, 'child.js')
  writeFileSync(child, "process.once('message', (m) => { process.send(m); process.disconnect() })")
  for (const lib of ['node:child_process', 'pidfd'] as const) {
    // The first fork in a process learns how Node builds an IPC pipe from a throwaway socket over
    // a copy of the channel's descriptor (never over another of the parent's: stdout may be a
    // file, which no socket takes, or a terminal, whose handle is of another class).
    const script = `const { fork } = require(${JSON.stringify(lib === 'pidfd' ? entry : 'node:child_process')});
      const c = fork(${JSON.stringify(child)});
      c.send('hi');
      c.on('message', (m) => process.stdout.write('got ' + m + '\\n'));
      c.on('exit', () => process.stdout.write('after\\n'));`
    for (const to of ['file', 'pipe'] as const) {
      const file = join(dir, `${to}.out`)
      const out = to === 'file' ? openSync(file, 'w') : 'pipe'
      const parent = cp.spawn(process.execPath, ['-e', script], { stdio: ['ignore', out, 'pipe'] })
      let stdout = ''
      let stderr = ''
      parent.stdout?.on('data', (d) => (stdout += d))
      parent.stderr!.on('data', (d) => (stderr += d))
      const [code] = (await once(parent, 'close')) as [number | null]
      if (typeof out === 'number') {
        closeSync(out)
        stdout = readFileSync(file, 'utf8')
      }
      t.is(code, 0, `${lib}, stdout a ${to}: ${stderr}`)
      t.is(stdout, 'got hi\nafter\n', `${lib}, stdout a ${to}`)
    }
  }
})

test("the child's own disconnect: its messages, then 'disconnect', then (told) 'exit', then 'close'", async (t) => {
  const orders: unknown[][][] = []
  for (const [, fork] of forks) {
    const child = fork(leaver)
    child.once('disconnect', () => child.kill('SIGUSR2'))
    orders.push(await record(child))
  }
  t.deepEqual(orders[0], [['message', 'a'], ['message', 'b'], ['disconnect'], ['exit', 5, null], ['close', 5, null]])
  t.deepEqual(orders[1], orders[0])
})

test("a child that exits as it disconnects: the package gives its messages first and 'close' last; child_process may give 'exit' anywhere", async (t) => {
  const orders: unknown[][][] = []
  for (const [, fork] of forks) orders.push(await record(fork(quickLeaver)))
  for (const [i, order] of orders.entries()) {
    const names = order.map((e) => e[0])
    t.deepEqual([...names].sort(), ['close', 'disconnect', 'exit', 'message', 'message'])
    t.deepEqual(order.filter((e) => e[0] === 'message'), [['message', 'a'], ['message', 'b']])
    t.true(names.indexOf('exit') < names.indexOf('close'), names.join())
    t.deepEqual(order.find((e) => e[0] === 'close'), ['close', 5, null])
    // The exit and the channel's end are two events of the loop, in either order. child_process
    // emits 'exit' when it sees it, before messages still unread under load, and its 'close'
    // comes at the channel's end, even before the 'disconnect' of the next tick. The package
    // holds the exit until the channel has ended, so its messages come first and 'close' last.
    if (forks[i]![0] === 'pidfd') {
      t.deepEqual(order.slice(0, 2), [['message', 'a'], ['message', 'b']])
      t.is(names.at(-1), 'close', names.join())
    }
  }
})

test("the parent's disconnect: connected false at once, 'disconnect' next, the child sees its channel end", async (t) => {
  for (const [name, fork] of forks) {
    const child = fork(echo)
    t.true(child.connected, name)
    child.disconnect()
    t.false(child.connected, name)
    t.is(child.channel, null, name)
    // A second disconnect is an 'error' (ERR_IPC_DISCONNECTED), not a throw.
    const second = new Promise<Error>((resolve) => child.once('error', resolve))
    child.disconnect()
    t.is(((await second) as Error & { code: string }).code, 'ERR_IPC_DISCONNECTED', name)
    // The child's channel ended, so nothing keeps it alive: it exits 0.
    const exit = await new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    t.is(exit, 0, name)
  }
})

test("after the parent's own disconnect() no 'close' ever comes, as child_process's (Node 22 to 26), with or without stdio pipes", async (t) => {
  for (const options of [{}, { silent: true }, { stdio: 'ignore' }] as const) {
    const seen: string[][] = []
    for (const [, fork] of forks) {
      const child = fork(echo, options)
      const events: string[] = []
      for (const event of ['disconnect', 'exit', 'close']) child.on(event, () => events.push(event))
      // The child's exit and its pipes' ends are all that 'close' waits for besides the channel:
      // once they are in and the loop has turned, a 'close' still missing never comes.
      const ends = [once(child, 'exit'), ...[child.stdout, child.stderr].filter((s) => s !== null).map((s) => (s.resume(), once(s, 'close')))]
      child.disconnect()
      await Promise.all(ends)
      await new Promise((resolve) => setImmediate(resolve))
      seen.push(events)
    }
    t.deepEqual(seen[1], seen[0], inspect(options))
    t.deepEqual(seen[1], ['disconnect', 'exit'], inspect(options))
  }
})

test('send after disconnect: false, ERR_IPC_CHANNEL_CLOSED through the callback or else an error event, as child_process', async (t) => {
  const outcomes: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(echo)
    child.disconnect()
    const viaCallback = await new Promise<[boolean, unknown]>((resolve) => {
      let returned: boolean | undefined
      returned = child.send('late', (err) => resolve([returned!, err && [(err as Error & { code: string }).code, err.message]]))
    })
    const viaEvent = await new Promise<[boolean, unknown]>((resolve) => {
      let returned: boolean | undefined
      child.once('error', (err: Error & { code: string }) => resolve([returned!, [err.code, err.message]]))
      returned = child.send('late')
    })
    await new Promise((resolve) => child.on('exit', resolve))
    outcomes.push([viaCallback, viaEvent])
  }
  t.deepEqual(outcomes[1], [
    [false, ['ERR_IPC_CHANNEL_CLOSED', 'Channel closed']],
    [false, ['ERR_IPC_CHANNEL_CLOSED', 'Channel closed']],
  ])
  t.deepEqual(outcomes[1], outcomes[0])
})

test("send's boolean: true while little waits, false past the high-water mark; a write cut off by the child's death is no error", async (t) => {
  const outcomes: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(blocked, { silent: true })
    const errors: unknown[] = []
    child.on('error', (err: Error & { code?: string }) => errors.push(err.code))
    // Sent once it blocks, not at 'spawn': a child blocked for a fixed 1.5 s from its start
    // could be gone by the sends on a busy machine (child_process then had EPIPE).
    await new Promise((resolve) => child.stdout!.once('data', resolve))
    const small = child.send('small')
    // Far more than the socket buffers take while the child does not read.
    const written = new Promise<unknown>((resolve) => child.send('y'.repeat(4 << 20), (err) => resolve(err)))
    const big = child.send('z')
    // Killed with megabytes still queued: a write cut off later is not reported, and its
    // callback gets null (child_process's does too).
    child.kill()
    await new Promise((resolve) => child.on('close', resolve))
    outcomes.push([small, big, await written, errors])
  }
  t.deepEqual(outcomes[1], [true, false, null, []])
  t.deepEqual(outcomes[1], outcomes[0])
})

test("a child SIGKILLed while a send is under way: its events and the send's callback (null) in an order child_process gives, 'disconnect' first for the package", async (t) => {
  // Says it is up, then reads its channel until killed.
  const ready = script('ready.js', `process.on('message', () => {})\nprocess.send('ready')\n`)
  // The child closed its channel before its exit was told, so child_process reads the channel's
  // end first: 'disconnect', then the callback either before 'exit' or, where the write is
  // cancelled at the channel's close, after 'close'. The package gives one of these two.
  const channelFirst = [
    ['disconnect', 'callback null', 'exit', 'close'],
    ['disconnect', 'exit', 'close', 'callback null'],
  ]
  // libuv reaps every exited child at any SIGCHLD, so while other children end (the other tests
  // of this file) child_process may see the exit before the channel's end: then 'close' comes
  // at that end, before the 'disconnect' of the next tick.
  const exitFirst = [['exit', 'close', 'disconnect', 'callback null']]
  // And when the channel's end and the failed write are both there by the time it polls (a
  // loaded machine), libuv reads the end and then fails the write in one callback: Node calls
  // the send's callback (with null, whatever the write's error) at once, and emits 'disconnect'
  // on the next tick.
  const bothAtOnce = [['callback null', 'disconnect', 'exit', 'close']]
  // Both of those at once: the write's failure called back at once, and the exit seen before
  // the channel's end is emitted (seen once, in a clean clone's full run).
  const bothAndExitFirst = [['callback null', 'exit', 'close', 'disconnect']]
  for (const [name, fork] of forks) {
    for (let run = 0; run < 5; run++) {
      const child = fork(ready)
      await once(child, 'message')
      const events: string[] = []
      for (const event of ['disconnect', 'exit', 'close']) child.on(event, () => events.push(event))
      let sent: boolean | undefined
      const called = new Promise<void>((resolve) => {
        sent = child.send('x'.repeat(8 << 20), (err) => {
          events.push(`callback ${err}`)
          resolve()
        })
      })
      // Megabytes the kernel has not taken: the write is still under way at the kill.
      t.false(sent, name)
      child.kill('SIGKILL')
      await Promise.all([once(child, 'close'), called])
      const orders = name === 'pidfd' ? channelFirst : [...channelFirst, ...exitFirst, ...bothAtOnce, ...bothAndExitFirst]
      t.true(
        orders.some((order) => order.join() === events.join()),
        `${name}: ${events.join()}`,
      )
    }
  }
})

test('argv, execArgv (default this process one, or the option), cwd and env reach the child as with child_process', async (t) => {
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    for (const options of [{}, { execArgv: ['--no-warnings'], cwd: dir, env: { ...process.env, FORK_TEST: 'yes' } }]) {
      const child = fork(argv, ['one', 'two'], options)
      seen.push(await new Promise((resolve) => child.once('message', resolve)))
      await new Promise((resolve) => child.on('close', resolve))
    }
  }
  t.deepEqual(seen[2], { argv: ['one', 'two'], execArgv: process.execArgv, cwd: process.cwd(), connected: true })
  t.deepEqual(seen[3], { argv: ['one', 'two'], execArgv: ['--no-warnings'], cwd: dir, env: 'yes', connected: true })
  t.deepEqual(seen.slice(2), seen.slice(0, 2))
})

test('silent pipes stdout and stderr; without it they are inherited (no streams)', async (t) => {
  for (const [name, fork] of forks) {
    const child = fork(silent, { silent: true })
    t.truthy(child.stdout, name)
    t.truthy(child.stderr, name)
    t.is(child.stdio.length as number, 4, name)
    t.is(child.stdio[3], null, name)
    let out = ''
    let err = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (err += d))
    await new Promise((resolve) => child.on('close', resolve))
    t.deepEqual([out, err], ['out', 'err'], name)
    const inherited = fork(argv, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
    t.is(inherited.stdout, null, name)
    await new Promise((resolve) => inherited.on('close', resolve))
    // args null: the options are still the third argument, as child_process reads them.
    const nullArgs = fork(silent, null as never, { silent: true })
    t.truthy(nullArgs.stdout, `${name}: fork(path, null, { silent: true })`)
    nullArgs.stdout?.resume()
    nullArgs.stderr?.resume()
    await new Promise((resolve) => nullArgs.on('close', resolve))
  }
})

test("an execArgv that is a string is spread into its characters, as child_process spreads it: no TypeError, the child runs `node x <module>`", async (t) => {
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(argv, { execArgv: 'x' as never, silent: true })
    let err = ''
    child.stdout!.resume()
    child.stderr!.on('data', (d) => (err += d))
    const code = await new Promise((resolve) => child.on('close', resolve))
    seen.push([code, /Cannot find module '[^']*\/x'/.test(err)])
  }
  t.deepEqual(seen[1], [1, true])
  t.deepEqual(seen[1], seen[0])
})

test('a file: URL is decoded to the path it names (a space, a percent sign, a hash, an accent), and shell: true is ignored, as child_process', async (t) => {
  const inside = join(dir, 'a b%20 # é')
  mkdirSync(inside, { recursive: true })
  const child = join(inside, 'child.js')
  writeFileSync(child, `process.send(__filename, () => process.disconnect())\n`)
  const url = pathToFileURL(child)
  t.regex(url.href, /%20.*%2520.*%23.*%C3%A9/, 'the URL spells each of them encoded')
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    // shell: true is overridden (fork never runs a shell, which would split this path).
    for (const start of [() => fork(url), () => fork(child, { shell: true } as never)]) {
      const forked = start()
      seen.push(await new Promise((resolve) => {
        let message: unknown = null
        forked.once('message', (m) => (message = m))
        forked.on('close', (code) => resolve([message, code]))
      }))
    }
  }
  t.deepEqual(seen.slice(2), [[child, 0], [child, 0]])
  t.deepEqual(seen.slice(2), seen.slice(0, 2))
})

test('from a Node run with -e, the child gets the execArgv without the -e and its script, as child_process', async (t) => {
  // Were the script passed on, the child would run it again: it would say so, not fork.
  const run = await runNode(
    `
    if (process.send) { process.send({ evaluatedAgain: true }); process.disconnect() } else {
      const cp = require('node:child_process');
      (async () => {
        const seen = {};
        for (const [name, fork] of [['child_process', cp.fork], ['pidfd', pidfd.fork]]) {
          const child = fork(${JSON.stringify(argv)}, ['one']);
          seen[name] = await new Promise((resolve) => child.once('message', resolve));
          await new Promise((resolve) => child.on('close', resolve));
          // Only this process's own execArgv is cleaned: a copy given as the option is passed on
          // whole, and the child runs the script again.
          const again = fork(${JSON.stringify(argv)}, ['one'], { execArgv: [...process.execArgv] });
          seen[name + ' given a copy'] = await new Promise((resolve) => again.once('message', resolve));
          await new Promise((resolve) => again.on('close', resolve));
        }
        console.log(JSON.stringify({ own: process.execArgv.slice(0, 2), seen }));
      })();
    }
    `,
    { nodeArgs: ['--no-warnings'] },
  )
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.own, ['--no-warnings', '-e'], 'the parent ran with -e')
  t.deepEqual(r.seen.pidfd, { argv: ['one'], execArgv: ['--no-warnings'], cwd: process.cwd(), connected: true })
  t.deepEqual(r.seen['pidfd given a copy'], { evaluatedAgain: true })
  t.deepEqual(r.seen, { ...r.seen, pidfd: r.seen.child_process, 'pidfd given a copy': r.seen['child_process given a copy'] })
})

test('exit codes and signals as child_process reports them', async (t) => {
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const exited = fork(echo)
    exited.send('exit:7')
    seen.push(await new Promise((resolve) => exited.on('exit', (code, signal) => resolve([code, signal]))))
    const killed = fork(echo)
    killed.kill('SIGKILL')
    seen.push(await new Promise((resolve) => killed.on('exit', (code, signal) => resolve([code, signal]))))
  }
  t.deepEqual(seen.slice(2), [[7, null], [null, 'SIGKILL']])
  t.deepEqual(seen.slice(2), seen.slice(0, 2))
})

test('messages sent before anyone listens are kept for the first listener', async (t) => {
  for (const [name, fork] of forks) {
    const child = fork(leaver)
    const closed = new Promise((resolve) => child.on('close', resolve))
    await new Promise((resolve) => child.on('disconnect', resolve))
    child.kill('SIGUSR2')
    // Both messages came before the 'disconnect'; nobody listened then.
    const got: unknown[] = []
    child.on('message', (m) => got.push(m))
    await closed
    t.deepEqual(got, [], name)
  }
  for (const [name, fork] of forks) {
    // The child says on stdout that its message is written; the message is then ours to read
    // before anyone listens.
    const child = fork(early, { silent: true })
    const closed = new Promise((resolve) => child.on('close', resolve))
    await new Promise((resolve) => child.stdout!.once('data', resolve))
    // A window in which a message nobody listens for could be dropped (a negative claim: no
    // event shows that it was not); then it is awaited, up to 10 s on a busy machine.
    await sleep(200)
    // A listener for another event first: the message stays kept for a 'message' listener.
    child.on('exit', () => {})
    await new Promise((resolve) => setImmediate(resolve))
    const got = await Promise.race([new Promise((resolve) => child.on('message', resolve)), sleep(10_000).then(() => 'nothing')])
    t.is(got, 'early', name)
    child.send('exit')
    await closed
  }
})

test('channel.unref() lets the parent exit while the child lives; a referenced channel keeps it alive', async (t) => {
  const child = script('forever.js', `setTimeout(() => {}, 120_000); process.on('message', () => {})\n`)
  for (const lib of ['child_process', 'pidfd']) {
    const forkFn = lib === 'pidfd' ? 'pidfd.fork' : "require('child_process').fork"
    const run = (unrefChannel: boolean) =>
      runNode(
        // The child's stdio is not the parent's, which runNode waits on.
        `const child = ${forkFn}(${JSON.stringify(child)}, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
console.log(child.pid);
child.unref();
${unrefChannel ? 'child.channel.unref();' : 'setTimeout(() => { console.log("still here"); child.kill(); }, 1500).unref();'}`,
        // Short of the child's 120 s, so a parent the channel keeps alive fails here; long
        // enough for a Node and its fork on a loaded machine (10 s was not, at load 10).
        { timeoutMs: 30_000 },
      )
    const unrefd = await run(true)
    t.is(unrefd.code, 0, lib)
    const pid = Number(unrefd.stdout.trim())
    t.true(pid > 0, `${lib}: no pid printed: ${unrefd.stderr}`)
    // The child outlives its parent (a pid of 0 would be this process group: not asked).
    if (pid > 0) t.notThrows(() => process.kill(pid, 0), lib)
    killPid(pid)
    const kept = await run(false)
    t.is(kept.stdout.trim().split('\n')[1], 'still here', lib)
  }
})

test("spawn with 'ipc' anywhere in stdio: NODE_CHANNEL_FD names it, the serialization is told, a Node child talks on it", async (t) => {
  const env: string[] = []
  for (const spawn of [cp.spawn, pidfd.spawn as unknown as typeof cp.spawn]) {
    const sh = spawn('sh', ['-c', 'echo "$NODE_CHANNEL_FD $NODE_CHANNEL_SERIALIZATION_MODE"'], {
      stdio: ['ignore', 'pipe', 'ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    })
    let out = ''
    sh.stdout!.on('data', (d) => (out += d))
    await new Promise((resolve) => sh.on('close', resolve))
    env.push(out)
  }
  t.deepEqual(env, ['5 advanced\n', '5 advanced\n'])

  const child = pidfd.spawn(process.execPath, [echo], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] })
  t.true(child.connected)
  t.is(child.stdio[3], null)
  t.is(typeof child.channel?.fd, 'number')
  child.send({ hello: 'node' })
  t.deepEqual(await new Promise((resolve) => child.once('message', resolve)), { hello: 'node' })
  child.send('disconnect')
  await new Promise((resolve) => child.on('close', resolve))
  t.is(child.exitCode, 0)
  t.truthy((await child.exited).rusage)
})

test("spawn with 'ipc': without env the child gets process.env and the channel's names, as from child_process; an env that names them already gets the channel's in their place, where child_process passes both (and its Node child reads the given one)", async (t) => {
  process.env.PIDFD_IPC_PROBE = 'from-process.env'
  try {
    // env(1) prints the environment as the child got it, a name given twice twice (a shell would
    // keep one).
    const given = { PATH: process.env.PATH, NODE_CHANNEL_FD: '99', NODE_CHANNEL_SERIALIZATION_MODE: 'bogus', KEEP: '1' }
    const seen: string[][] = []
    for (const spawn of [cp.spawn, pidfd.spawn as unknown as typeof cp.spawn]) {
      const outs: string[] = []
      for (const env of [undefined, given]) {
        const child = spawn('env', [], { env, stdio: ['ignore', 'pipe', 'ignore', 'ipc'] })
        let out = ''
        child.stdout!.on('data', (d) => (out += d))
        await new Promise((resolve) => child.on('close', resolve))
        outs.push(out.split('\n').filter((l) => /^(NODE_CHANNEL_|PIDFD_IPC_PROBE=|KEEP=)/.test(l)).join(' '))
      }
      seen.push(outs)
    }
    const sorted = (l: string) => l.split(' ').sort().join(' ')
    const [theirs, ours] = seen.map((outs) => outs.map(sorted))
    t.deepEqual(ours, [
      'NODE_CHANNEL_FD=3 NODE_CHANNEL_SERIALIZATION_MODE=json PIDFD_IPC_PROBE=from-process.env',
      'KEEP=1 NODE_CHANNEL_FD=3 NODE_CHANNEL_SERIALIZATION_MODE=json',
    ])
    t.is(ours![0], theirs![0])
    t.is(theirs![1], 'KEEP=1 NODE_CHANNEL_FD=3 NODE_CHANNEL_FD=99 NODE_CHANNEL_SERIALIZATION_MODE=bogus NODE_CHANNEL_SERIALIZATION_MODE=json')
  } finally {
    delete process.env.PIDFD_IPC_PROBE
  }
})

test('internal messages (cmd NODE_…) are no message, as child_process keeps them', async (t) => {
  const internal = script(
    'internal.js',
    `process.send({ cmd: 'NODE_SOMETHING', x: 1 }); process.send({ cmd: 'NODE_' }); process.send('plain'); process.disconnect()\n`,
  )
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(internal)
    const got: unknown[] = []
    child.on('message', (m) => got.push(['message', m]))
    child.on('internalMessage', (m: unknown) => got.push(['internal', m]))
    await new Promise((resolve) => child.on('close', resolve))
    seen.push(got)
  }
  t.deepEqual(seen[1], [['internal', { cmd: 'NODE_SOMETHING', x: 1 }], ['message', { cmd: 'NODE_' }], ['message', 'plain']])
  t.deepEqual(seen[1], seen[0])
})

/** The error a call throws, in a comparable shape. */
function thrown(fn: () => unknown): unknown {
  try {
    const child = fn() as cp.ChildProcess | undefined
    child?.kill?.()
    return 'no throw'
  } catch (err) {
    const e = err as Error & { code?: string }
    return [e.constructor.name, e.code, e.message]
  }
}

test('bad arguments throw as child_process throws', async (t) => {
  const calls: Array<(fork: Fork) => unknown> = [
    (f) => f(1 as never),
    (f) => f('a\0b'),
    (f) => f(echo, 'nope' as never),
    (f) => f(echo, [], 'nope' as never),
    (f) => f(echo, { stdio: ['pipe', 'pipe', 'pipe'] }),
    (f) => f(echo, { stdio: ['pipe', 'pipe', 'pipe', 'ipc', 'ipc'] }),
    (f) => f(echo, { stdio: 'bogus' as never }),
    (f) => f(echo, { execPath: 'no\0de' }),
    (f) => f(echo, { serialization: 'xml' as never }),
    (f) => f(echo, { timeout: -1 }),
    (f) => f(echo, { killSignal: 'SIGNOPE' as never }),
    // A URL is read as fileURLToPath reads it: file: only, no host, no encoded slash.
    (f) => f(new URL('http://localhost/echo.js')),
    (f) => f(new URL('file://elsewhere/echo.js')),
    (f) => f(new URL(`${pathToFileURL(dir).href}%2Fecho.js`)),
  ]
  for (const call of calls) t.deepEqual(thrown(() => call(forks[1]![1])), thrown(() => call(forks[0]![1])), String(call))
  t.deepEqual(thrown(() => pidfd.spawn('true', { stdio: ['ipc', 'pipe', 'ipc'] })), ['Error', 'ERR_IPC_ONE_PIPE', 'Child process can have only one IPC pipe'])

  // send()'s own checks, on a live channel.
  const sends: Array<(child: cp.ChildProcess) => unknown> = [
    (c) => c.send(undefined as never),
    (c) => c.send((() => {}) as never),
    (c) => c.send(Symbol('s') as never),
    (c) => c.send(1n as never),
    (c) => c.send('x', undefined, 'nope' as never),
    (c) => c.send('x', {} as never),
  ]
  const children = forks.map(([, fork]) => fork(echo))
  for (const send of sends) t.deepEqual(thrown(() => send(children[1]!)), thrown(() => send(children[0]!)), String(send))
  for (const child of children) child.kill()
  await Promise.all(children.map((c) => new Promise((resolve) => c.on('close', resolve))))
})

// Takes the handles the parent sends: a server it answers on, a socket it writes to, a UDP
// socket it names; says what it got, in order.
const taker = script(
  'taker.js',
  `process.on('message', (m, handle) => {
  // The handles it holds would keep it alive.
  if (m === 'bye') return process.exit(0)
  const kind = handle && handle.constructor.name
  if (m === 'server') handle.on('connection', (c) => c.end('served by the child'))
  if (m === 'socket') handle.end('written by the child')
  process.send({ m, kind, udp: m === 'udp' ? typeof handle.address().port : undefined })
})
`,
)

/**
 * What a server on `port` answers. A connection the child accepts but never answers (seen with
 * child_process's fork too, on a loaded machine: the child held the connection, nothing written)
 * is noted and tried again, at most three times, rather than hanging the test.
 */
async function askWithRetry(port: number, note: (text: string) => void): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const answer = await new Promise<string | null>((resolve) => {
      let text = ''
      const c = net.connect(port, '127.0.0.1').on('data', (d) => (text += d)).on('end', () => resolve(text))
      c.on('error', () => resolve(null))
      setTimeout(() => {
        c.destroy()
        resolve(null)
      }, 5000).unref()
    })
    if (answer !== null || attempt === 3) return answer ?? 'no answer'
    note(`attempt ${attempt}: no answer in 5 s`)
  }
}

for (const serialization of ['json', 'advanced'] as const) {
  test(`handles sent to the child (${serialization}): a net.Server, a net.Socket, a dgram.Socket arrive and work there, as with child_process`, async (t) => {
    const results: unknown[] = []
    for (const [, fork] of forks) {
      const child = fork(taker, { serialization })
      // A failing check must not leave the child (and this test process) waiting.
      t.teardown(() => child.kill('SIGKILL'))
      const got: unknown[] = []
      // (As JSON: the advanced serialization keeps undefined members.)
      child.on('message', (m) => got.push(JSON.parse(JSON.stringify(m))))
      const server = net.createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as net.AddressInfo).port
      // What comes after a handle waits for the child's ACK, and keeps its order.
      const returned = [child.send('server', server), child.send('plain')]
      await until(() => got.length === 2)
      server.close()
      // The child answers on the server it was given.
      const answer = await askWithRetry(port, (note) => t.log(`${serialization}, ${fork === cp.fork ? 'child_process' : 'pidfd'}: ${note}`))
      // A connection of ours, handed over: the child writes to it.
      const peer = net.createServer((socket) => child.send('socket', socket))
      await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
      const written = await new Promise<string>((resolve) => {
        let text = ''
        net.connect((peer.address() as net.AddressInfo).port, '127.0.0.1').on('data', (d) => (text += d)).on('end', () => resolve(text))
      })
      peer.close()
      const udp = dgram.createSocket('udp4')
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
      const callback = await new Promise((resolve) => child.send('udp', udp, resolve))
      await until(() => got.length === 4)
      udp.close()
      child.send('bye')
      await new Promise((resolve) => child.on('close', resolve))
      results.push({ returned, got, answer, written, callback })
    }
    t.deepEqual(results[1], {
      // The second waits behind the handle: true, as the first in the queue (child_process's rule).
      returned: [true, true],
      got: [
        { m: 'server', kind: 'Server' },
        { m: 'plain' },
        { m: 'socket', kind: 'Socket' },
        { m: 'udp', kind: 'Socket', udp: 'number' },
      ],
      answer: 'served by the child',
      written: 'written by the child',
      callback: null,
    })
    t.deepEqual(results[1], results[0])
  })
}

// Sends the parent a listening server (and then stops listening itself), a connected socket
// (whose peer stays here and writes when asked), a bound UDP socket, then a plain message.
const giver = script(
  'giver.js',
  `const net = require('net'), dgram = require('dgram')
const peers = []
const peer = net.createServer((c) => peers.push(c)).listen(0, '127.0.0.1', () => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    process.send({ m: 'server', port: server.address().port }, server, () => server.close())
    const socket = net.connect(peer.address().port, '127.0.0.1', () => process.send({ m: 'socket' }, socket))
    const udp = dgram.createSocket('udp4').bind(0, '127.0.0.1', () => process.send({ m: 'udp', port: udp.address().port }, udp))
    process.send({ m: 'after' })
  })
})
process.on('message', (m) => {
  if (m === 'write') peers[0].end('written by the child')
  if (m === 'bye') process.exit(0)
})
`,
)

for (const serialization of ['json', 'advanced'] as const) {
  test(`handles the child sends (${serialization}): a net.Server, a net.Socket, a dgram.Socket arrive and work here, as with child_process`, async (t) => {
    const results: unknown[] = []
    for (const [, fork] of forks) {
      const child = fork(giver, { serialization })
      // A failing check must not leave the child (and this test process) waiting.
      t.teardown(() => child.kill('SIGKILL'))
      const got: Array<{ m: string; port?: number; kind?: string; same?: boolean }> = []
      const handles = new Map<string, unknown>()
      child.on('message', (message: { m: string; port?: number }, handle: unknown) => {
        const kind = handle === undefined ? undefined : (handle as object).constructor.name
        let same: boolean | undefined
        if (message.m === 'server') same = (handle as net.Server).listening && (handle as net.Server).address() !== null && ((handle as net.Server).address() as net.AddressInfo).port === message.port
        if (message.m === 'udp') same = (handle as dgram.Socket).address().port === message.port
        got.push({ m: message.m, kind, same })
        if (handle !== undefined) handles.set(message.m, handle)
      })
      t.true(await until(() => got.length === 4, 20_000), JSON.stringify(got))
      // The server is ours now (the child closed its own): we answer on its port.
      const server = handles.get('server') as net.Server
      server.on('connection', (c) => c.end('served by the parent'))
      const port = (server.address() as net.AddressInfo).port
      const answer = await new Promise<string>((resolve) => {
        let text = ''
        net.connect(port, '127.0.0.1').on('data', (d) => (text += d)).on('end', () => resolve(text))
      })
      server.close()
      // The socket: its peer in the child writes, we read.
      const socket = handles.get('socket') as net.Socket
      const read = new Promise<string>((resolve) => {
        let text = ''
        socket.on('data', (d) => (text += d)).on('end', () => resolve(text))
      })
      child.send('write')
      const written = await read
      socket.destroy()
      ;(handles.get('udp') as dgram.Socket).close()
      child.send('bye')
      await new Promise((resolve) => child.on('close', resolve))
      // Messages with a handle come when the handle is ready: their order is the runtime's.
      results.push({ got: got.sort((a, b) => a.m.localeCompare(b.m)), answer, written, code: child.exitCode })
    }
    t.deepEqual(results[1], {
      got: [
        { m: 'after', kind: undefined, same: undefined },
        { m: 'server', kind: 'Server', same: true },
        { m: 'socket', kind: 'Socket', same: undefined },
        { m: 'udp', kind: 'Socket', same: true },
      ],
      answer: 'served by the parent',
      written: 'written by the child',
      code: 0,
    })
    t.deepEqual(results[1], results[0])
  })
}

// Keeps the sockets it is sent; ends the one asked for, and says so once it is closed.
const keeper = script(
  'keeper.js',
  `const sockets = []
process.on('message', (m, socket) => {
  if (m === 'keep') return sockets.push(socket)
  if (typeof m === 'number') sockets[m].once('close', () => process.send({ closed: m })).destroy()
})
`,
)

test("a server's sockets sent to the child still count for it: getConnections() asks the child, close() waits for the child's, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(keeper)
    // A failing check must not leave the child (and this test process) waiting.
    t.teardown(() => child.kill('SIGKILL'))
    const server = net.createServer((socket) => child.send('keep', socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const clients = [0, 1, 2].map(() => net.connect((server.address() as net.AddressInfo).port, '127.0.0.1').on('error', () => {}))
    const count = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
    const counts: number[] = []
    // Every socket has reached the child (a count that is not yet 3 is asked again).
    for (let waited = 0; (await count()) !== 3 && waited < 20_000; waited += 20) await sleep(20)
    counts.push(await count())
    const closed = (i: number) =>
      new Promise<void>((resolve) => {
        const onMessage = (m: { closed?: number }) => {
          if (m.closed !== i) return
          child.off('message', onMessage)
          resolve()
        }
        child.on('message', onMessage)
      })
    const first = closed(0)
    child.send(0)
    await first
    counts.push(await count())
    // close(): 'close' only once the child has closed the two it still holds.
    const order: string[] = []
    server.close(() => order.push('server close'))
    await sleep(200)
    order.push('child ends them')
    const rest = Promise.all([closed(1), closed(2)])
    child.send(1)
    child.send(2)
    await rest
    t.true(await until(() => order.length === 2, 20_000), order.join())
    child.kill()
    await new Promise((resolve) => child.on('close', resolve))
    for (const c of clients) c.destroy()
    results.push({ counts, order })
  }
  t.deepEqual(results[1], { counts: [3, 2], order: ['child ends them', 'server close'] })
  t.deepEqual(results[1], results[0])
})

const lender = lenderScript(dir)

test("sockets a child's server sends here count for that server until closed here: the child's getConnections() asks us, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(lender)
    // A failing check must not leave the child (and this test process) waiting.
    t.teardown(() => child.kill('SIGKILL'))
    const sockets: net.Socket[] = []
    const counts: unknown[] = []
    child.on('message', (m: unknown, socket: net.Socket | undefined) => {
      if (m === 'socket' && socket) sockets.push(socket)
      else counts.push((m as { count: unknown }).count)
    })
    t.true(await until(() => sockets.length === 2, 20_000))
    child.send('count')
    t.true(await until(() => counts.length === 1, 20_000))
    await new Promise((resolve) => sockets[0]!.once('close', resolve).destroy())
    child.send('count')
    t.true(await until(() => counts.length === 2, 20_000))
    sockets[1]!.destroy()
    child.kill()
    await new Promise((resolve) => child.on('close', resolve))
    results.push(counts)
  }
  t.deepEqual(results[1], [2, 1])
  t.deepEqual(results[1], results[0])
})

// Answers an HTTP request whose socket the parent handed over.
const responder = script(
  'responder.js',
  `const http = require('http')
process.on('message', (req, socket) => {
  const res = new http.ServerResponse(req)
  res.assignSocket(socket)
  res.end('answered by the child')
})
`,
)

test("an HTTP server's socket sent to the child: the parent's parser and response let go of it, the child answers, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(responder)
    // A failing check must not leave the child (and this test process) waiting.
    t.teardown(() => child.kill('SIGKILL'))
    let released: unknown
    const server = http.createServer((req, res) => {
      const socket = res.socket as net.Socket & { parser?: unknown; _httpMessage?: unknown }
      child.send({ method: req.method, headers: req.headers, httpVersionMajor: req.httpVersionMajor }, socket)
      released = { parser: socket.parser, httpMessage: socket._httpMessage }
      server.close()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' }, (res) => {
          let text = ''
          res.on('data', (d) => (text += d)).on('end', () => resolve(text))
        })
        .on('error', reject)
    })
    child.kill()
    await new Promise((resolve) => child.on('close', resolve))
    results.push({ released, body })
  }
  t.deepEqual(results[1], { released: { parser: null, httpMessage: null }, body: 'answered by the child' })
  t.deepEqual(results[1], results[0])
})

test("native handles (a TCP server's, a pipe server's and a UDP socket's libuv handle) go to the child as child_process sends them", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const child = fork(taker)
    t.teardown(() => child.kill('SIGKILL'))
    const got: unknown[] = []
    child.on('message', (m) => got.push(m))
    const tcp = net.createServer()
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const pipe = net.createServer()
    await new Promise<void>((resolve) => pipe.listen(join(dir, `native-${name}.sock`), resolve))
    const udp = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
    // Closed here however the test ends: a send that throws must not leave them holding the worker.
    let closed = false
    const closeAll = () => {
      if (closed) return
      closed = true
      tcp.close()
      pipe.close()
      udp.close()
    }
    t.teardown(closeAll)
    const state = Object.getOwnPropertySymbols(udp).find((k) => k.description === 'state symbol')!
    const handles = [(tcp as unknown as { _handle: object })._handle, (pipe as unknown as { _handle: object })._handle, (udp as unknown as Record<symbol, { handle: object }>)[state]!.handle]
    child.send('native-tcp', handles[0] as never)
    child.send('native-pipe', handles[1] as never)
    child.send('native-udp', handles[2] as never)
    t.true(await until(() => got.length === 3, 20_000), `${name}: ${JSON.stringify(got)}`)
    closeAll()
    child.send('bye')
    await new Promise((resolve) => child.on('close', resolve))
    results.push(got)
  }
  t.deepEqual(results[1], [
    { m: 'native-tcp', kind: 'TCP' },
    { m: 'native-pipe', kind: 'Pipe' },
    { m: 'native-udp', kind: 'UDP' },
  ])
  t.deepEqual(results[1], results[0])
})

test('bad handles throw ERR_INVALID_HANDLE_TYPE, as child_process', (t) => {
  for (const [, fork] of forks) {
    const child = fork(echo)
    t.throws(() => child.send('s', {} as never), { code: 'ERR_INVALID_HANDLE_TYPE' })
    t.throws(() => child.send('s', 'nope' as never), { code: 'ERR_INVALID_HANDLE_TYPE' })
    child.kill()
  }
})

test('a failed fork (no such execPath): error, the send fails with EPIPE, then close, as child_process', async (t) => {
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(echo, { execPath: join(dir, 'no-such-node') })
    const events: unknown[] = []
    child.on('error', (e: Error & { code: string }) => events.push(['error', e.code]))
    child.on('disconnect', () => events.push(['disconnect']))
    events.push(['connected', child.connected, child.send('x', (e) => events.push(['callback', (e as Error & { code: string }).code]))])
    await new Promise((resolve) => child.on('close', (code) => resolve(events.push(['close', code]))))
    await until(() => events.some((e) => (e as unknown[])[0] === 'disconnect'), 2000)
    seen.push(events)
  }
  t.deepEqual(seen[1], [['connected', true, true], ['error', 'ENOENT'], ['callback', 'EPIPE'], ['close', -2], ['disconnect']])
  t.deepEqual(seen[1], seen[0])
})

test("a failed fork's send without a callback: the EPIPE is an 'error' event; with swallowErrors it is not, as child_process", async (t) => {
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const runs: unknown[] = []
    for (const options of [undefined, { swallowErrors: true }]) {
      const child = fork(echo, { execPath: join(dir, 'no-such-node') })
      const events: unknown[] = []
      child.on('error', (e: Error & { code: string; syscall: string }) => events.push(['error', e.code, e.syscall]))
      child.on('disconnect', () => events.push(['disconnect']))
      events.push(['sent', child.send('x', undefined, options as never)])
      await new Promise((resolve) => child.on('close', (code) => resolve(events.push(['close', code]))))
      await until(() => events.some((e) => (e as unknown[])[0] === 'disconnect'), 2000)
      runs.push(events)
    }
    seen.push(runs)
  }
  t.deepEqual(seen[1], [
    [['sent', true], ['error', 'ENOENT', 'spawn ' + join(dir, 'no-such-node')], ['error', 'EPIPE', 'write'], ['close', -2], ['disconnect']],
    [['sent', true], ['error', 'ENOENT', 'spawn ' + join(dir, 'no-such-node')], ['close', -2], ['disconnect']],
  ])
  t.deepEqual(seen[1], seen[0])
})

test("a failed fork's send with a handle: the callback gets null and nothing is emitted, the EPIPE unreported, as child_process", async (t) => {
  // child_process writes a handle's frame with uv_write2, which never tries the write at the
  // call: its failure reaches no one (a message alone is tried at once: EPIPE, above).
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const seen: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(echo, { execPath: join(dir, 'no-such-node') })
    const events: unknown[] = []
    child.on('error', (e: Error & { code: string }) => events.push(['error', e.code]))
    const called = new Promise((resolve) => child.send('x', server, (e) => resolve(e)))
    child.send('y', server)
    events.push(['callback', await called])
    await new Promise((resolve) => child.on('close', resolve))
    events.push(['close'])
    seen.push(events)
  }
  t.deepEqual(seen[1], [['error', 'ENOENT'], ['callback', null], ['close']])
  t.deepEqual(seen[1], seen[0])
})

test('timeout, signal and killSignal reach the forked child', async (t) => {
  const timed = pidfd.fork(echo, { timeout: 200, killSignal: 'SIGKILL' })
  const [code, signal] = await new Promise<unknown[]>((resolve) => timed.on('exit', (...a) => resolve(a)))
  t.deepEqual([code, signal], [null, 'SIGKILL'])
  const controller = new AbortController()
  const aborted = pidfd.fork(echo, { signal: controller.signal })
  const error = new Promise<Error>((resolve) => aborted.on('error', resolve))
  controller.abort()
  t.is((await error).name, 'AbortError')
  t.is((await aborted.exited).signal, 'SIGTERM')
})

test("the channel object is Node's, method for method: ref, unref, refCounted, unrefCounted, fd; the counts emit 'unref' at none unless ref() or unref() was called", async (t) => {
  const seen: Record<string, unknown> = {}
  for (const [name, fork] of forks) {
    const child = fork(echo, [], { stdio: 'ignore' })
    const channel = child.channel as unknown as {
      refCounted(): void
      unrefCounted(): void
      ref(): void
      unref(): void
      fd: number | undefined
    } & NodeJS.EventEmitter
    const methods = new Set<string>()
    for (let proto = Object.getPrototypeOf(channel); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) if (key !== 'constructor') methods.add(key)
    }
    const unrefs: string[] = []
    channel.on('unref', () => unrefs.push('unref'))
    channel.refCounted()
    channel.refCounted()
    channel.unrefCounted()
    unrefs.push('one left')
    channel.unrefCounted()
    unrefs.push('none left')
    channel.ref()
    channel.refCounted()
    channel.unrefCounted()
    unrefs.push('after ref()')
    seen[name] = { methods: [...methods].sort(), unrefs, fd: typeof channel.fd }
    child.kill()
    await new Promise((resolve) => child.once('close', resolve))
  }
  t.deepEqual(seen.pidfd, seen.child_process)
  // Node 24 no longer emits 'unref'; Node 22 does, at none left.
  const unref = Number(process.versions.node.split('.')[0]) < 24 ? ['unref'] : []
  t.deepEqual((seen.pidfd as { unrefs: string[] }).unrefs, ['one left', ...unref, 'none left', 'after ref()'])
})

test("the channel's counts hold the parent as Node's do: at none the channel lets the loop go, the next count holds it again, an unref() or ref() of the user's stands; fd is -1 once closed", async (t) => {
  const child = script('counts.js', `setTimeout(() => {}, 120_000); process.on('message', () => {})\n`)
  // Each line: what the parent does to its channel, then whether it is still there after 1.5 s
  // (a window: a parent the channel holds prints, one it lets go ends before).
  const steps = [
    'ch.refCounted(); ch.unrefCounted();',
    'ch.refCounted(); ch.unrefCounted(); ch.refCounted();',
    'ch.unref(); ch.refCounted();',
    'ch.ref(); ch.refCounted(); ch.unrefCounted();',
    // Through send(), as Node's channel counts its writes: a lone small one, and one the socket
    // queues (8 MiB, sent from a first write's callback), counted until it is written.
    "child.send('small');",
    "child.send('small', () => child.send('x'.repeat(8 << 20)));",
  ]
  const seen: Record<string, unknown[]> = {}
  for (const lib of ['child_process', 'pidfd']) {
    const forkFn = lib === 'pidfd' ? 'pidfd.fork' : "require('child_process').fork"
    seen[lib] = []
    for (const step of steps) {
      const r = await runNode(
        `const child = ${forkFn}(${JSON.stringify(child)}, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
console.log(child.pid);
child.unref();
const ch = child.channel;
${step}
setTimeout(() => { console.log('held'); child.kill(); }, 1500).unref();`,
        { timeoutMs: 30_000 },
      )
      const [pid, held] = r.stdout.trim().split('\n')
      killPid(Number(pid))
      seen[lib]!.push([r.code, held ?? 'let go'])
    }
  }
  t.deepEqual(seen.pidfd, [[0, 'let go'], [0, 'held'], [0, 'let go'], [0, 'held'], [0, 'held'], [0, 'let go']])
  t.deepEqual(seen.pidfd, seen.child_process)
  // fd: a number while open; -1 at 'disconnect', as Node's says then.
  const fds: Record<string, unknown> = {}
  for (const [name, fork] of forks) {
    const forked = fork('-e', [], { execArgv: ['-e', 'process.on("message", () => process.disconnect())'], stdio: 'ignore' })
    const ch = forked.channel as unknown as { fd: number | undefined }
    const open = ch.fd
    const atDisconnect = new Promise((resolve) => forked.once('disconnect', () => resolve(ch.fd)))
    forked.send('x')
    fds[name] = [typeof open === 'number' && open > 2, await atDisconnect]
    await new Promise((resolve) => forked.once('close', resolve))
  }
  t.deepEqual(fds.pidfd, [true, -1])
  t.deepEqual(fds.pidfd, fds.child_process)
})

test("_channel is channel, read and set, with Node's DEP0129 warning, where child_process's ChildProcess has it (gone in Node 26)", async (t) => {
  // Each in a Node of its own: Node warns once per code, so the second would be silent.
  const seen: Record<string, unknown> = {}
  for (const name of ['child_process', 'pidfd']) {
    const r = await runNode(`
      const fork = ${name === 'pidfd' ? 'pidfd.fork' : "require('node:child_process').fork"};
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code + ': ' + w.message));
      const child = fork('-e', [], { execArgv: ['-e', 'process.disconnect()'], stdio: 'ignore' });
      const read = '_channel' in child ? child._channel === child.channel && child.channel !== undefined : 'absent';
      // Set, it sets channel (what a library that swaps the channel does).
      const other = { fake: true };
      child._channel = other;
      const set = child.channel === other;
      child.kill();
      setImmediate(() => console.log(JSON.stringify({ read, set, warnings })));
    `)
    t.is(r.code, 0, r.stderr)
    seen[name] = JSON.parse(r.stdout)
  }
  const has = Number(process.versions.node.split('.')[0]) < 26
  t.deepEqual(seen.pidfd, has
    ? { read: true, set: true, warnings: ['DEP0129: _channel is deprecated. Use ChildProcess.channel instead.'] }
    : { read: 'absent', set: false, warnings: [] })
  t.deepEqual(seen.pidfd, seen.child_process)
})

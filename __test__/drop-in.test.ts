// spawn() as a drop-in: each behaviour that Node's own child_process tests, or libraries built
// on spawn, rely on, run side by side with child_process.spawn.

import test from 'ava'
import { ChildProcess, spawn as cpSpawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { text } from 'node:stream/consumers'

import { PidFd, spawn } from '../index.js'
import { runNode, tempDir } from './helpers.js'

type Spawn = typeof cpSpawn
const both: Array<[string, Spawn]> = [
  ['child_process', cpSpawn],
  ['pidfd', spawn as unknown as Spawn],
]

/** Runs `body` (which may use `spawn`, bound to each in turn) in a fresh Node; returns {cp, pidfd}. */
async function sideBySide(body: string): Promise<{ child_process: unknown; pidfd: unknown }> {
  const run = await runNode(`
    const cp = require('node:child_process');
    const { text } = require('node:stream/consumers');
    (async () => {
      const out = {};
      for (const [name, spawn] of [['child_process', cp.spawn], ['pidfd', pidfd.spawn]]) {
        // Each body starts from a macrotask, as code that spawns usually does (in a microtask
        // continuation, nextTicks would wait for the microtask queue).
        out[name] = await new Promise((resolve, reject) => setImmediate(() => (async () => { ${body} })().then(resolve, reject)));
      }
      console.log(JSON.stringify(out));
    })();
  `)
  if (run.code !== 0) throw new Error(run.stderr)
  return JSON.parse(run.stdout)
}

test('options are read as own properties only: a polluted Object.prototype reaches neither shell, cwd, argv0 nor env', async (t) => {
  const r = await runNode(`
    const cp = require('node:child_process');
    const { text } = require('node:stream/consumers');
    Object.prototype.shell = true;
    Object.prototype.cwd = '/nonexistent';
    Object.prototype.argv0 = 'evil';
    Object.prototype.env = { INJECTED: '1' };
    (async () => {
      const out = {};
      for (const [name, spawn] of [['child_process', cp.spawn], ['pidfd', pidfd.spawn]]) {
        const sub = spawn('echo', ['$0 in $PWD', '$INJECTED']);
        sub.on('error', (e) => { out[name] = e.message });
        out[name] = await text(sub.stdout);
      }
      console.log(JSON.stringify(out));
    })();
  `)
  t.is(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.is(out.pidfd, '$0 in $PWD $INJECTED\n')
  t.deepEqual(out.pidfd, out.child_process)
})

test('env keys inherited through the env object\'s prototype reach the child, as child_process reads them (for…in)', async (t) => {
  const out = await sideBySide(`
    const env = Object.create({ INHERITED: 'from-proto' });
    env.OWN = 'own';
    env.PATH = process.env.PATH;
    const sub = spawn('sh', ['-c', 'echo "$INHERITED $OWN"'], { env });
    return text(sub.stdout);
  `)
  t.is(out.pidfd, 'from-proto own\n')
  t.deepEqual(out.pidfd, out.child_process)
})

test('arguments that are not strings become strings; null options count as not given', async (t) => {
  const out = await sideBySide(`
    const sub = spawn('echo', [23, true, 1.5], { cwd: null, env: null, argv0: null, stdio: null, detached: null, uid: null, gid: null, shell: null, windowsHide: null, windowsVerbatimArguments: null, serialization: 'advanced' });
    return text(sub.stdout);
  `)
  t.is(out.pidfd, '23 true 1.5\n')
  t.deepEqual(out.pidfd, out.child_process)
})

test('one child\'s stdout as another\'s stdin: no byte is lost when the producer exits (the parent stops reading it)', async (t) => {
  const out = await sideBySide(`
    const producer = spawn('head', ['-c', '4194304', '/dev/zero']);
    const consumer = spawn('wc', ['-c'], { stdio: [producer.stdout, 'pipe', 'inherit'] });
    return (await text(consumer.stdout)).trim();
  `)
  t.is(out.pidfd, '4194304')
  t.deepEqual(out.pidfd, out.child_process)
})

test('a stdout paused on purpose (pipe, then unpipe) is still drained at the exit, so \'close\' comes', async (t) => {
  const out = await sideBySide(`
    const { PassThrough } = require('node:stream');
    const sub = spawn('sh', ['-c', 'head -c 1000 /dev/zero']);
    const sink = new PassThrough();
    sub.stdout.pipe(sink);
    sub.stdout.unpipe(sink);
    const flowing = sub.stdout.readableFlowing;
    const code = await new Promise((resolve) => sub.on('close', resolve));
    return { flowing, code };
  `)
  t.deepEqual(out.pidfd, { flowing: false, code: 0 })
  t.deepEqual(out.pidfd, out.child_process)
})

test('[Symbol.dispose]() kills a child that was not killed, once: a second dispose, or one after kill(), sends nothing more', async (t) => {
  // kill() is counted through the instance (the real one is called): child_process's dispose
  // calls it too.
  const out = await sideBySide(`
    const count = (sub) => { const kill = sub.kill.bind(sub); sub.calls = 0; sub.kill = (...a) => { sub.calls++; return kill(...a) }; return sub };
    const a = count(spawn('sleep', ['30'], { stdio: 'ignore' }));
    a[Symbol.dispose]();
    a[Symbol.dispose]();
    const b = count(spawn('sleep', ['30'], { stdio: 'ignore' }));
    b.kill('SIGKILL');
    b[Symbol.dispose]();
    const ends = await Promise.all([a, b].map((s) => new Promise((resolve) => s.on('exit', (code, signal) => resolve([code, signal])))));
    return { calls: [a.calls, b.calls], killed: [a.killed, b.killed], ends };
  `)
  t.deepEqual(out.pidfd, { calls: [1, 1], killed: [true, true], ends: [[null, 'SIGTERM'], [null, 'SIGKILL']] })
  t.deepEqual(out.pidfd, out.child_process)
})

test('a program that cannot start: stdout and stderr end (for await finishes), stdin is not readable, then \'close\'', async (t) => {
  const out = await sideBySide(`
    const sub = spawn('pidfd-no-such-program');
    const events = [];
    const state = { stdin: [sub.stdin.readable, sub.stdin.writable], stdout: sub.stdout.readable, pid: sub.pid };
    sub.on('error', (e) => events.push('error ' + e.code));
    sub.on('exit', () => events.push('exit'));
    sub.stdout.on('end', () => events.push('stdout end'));
    sub.stderr.on('end', () => events.push('stderr end'));
    const closed = new Promise((resolve) => sub.on('close', (code, signal) => { events.push('close ' + code + ' ' + signal); resolve() }));
    for await (const chunk of sub.stdout) events.push('data');
    events.push('for await done');
    await closed;
    return { state, events: events.sort() };
  `)
  t.deepEqual(out.pidfd, {
    state: { stdin: [false, true], stdout: true },
    events: ['close -2 null', 'error ENOENT', 'for await done', 'stderr end', 'stdout end'],
  })
  t.deepEqual(out.pidfd, out.child_process)
})

test("'exit' comes from the event loop: after the nextTicks queued by the code that spawned, even when the child has long exited", async (t) => {
  const out = await sideBySide(`
    const sub = spawn('true');
    // Block this thread until the child has surely exited (and been collected).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    const order = [];
    process.nextTick(() => order.push('tick'));
    Promise.resolve().then(() => order.push('microtask'));
    setImmediate(() => order.push('immediate'));
    sub.on('spawn', () => order.push('spawn'));
    await new Promise((resolve) => sub.on('exit', () => { order.push('exit'); resolve() }));
    return order.filter((e) => e !== 'immediate');
  `)
  t.deepEqual(out.pidfd, ['spawn', 'tick', 'microtask', 'exit'])
  t.deepEqual(out.pidfd, out.child_process)
})

test('a Subprocess is a ChildProcess (instanceof), and fromChild() on it gives its own record, rusage and all', async (t) => {
  const { AsyncPidFd } = await import('../index.js')
  const sub = spawn('sh', ['-c', 'exit 3'])
  t.true(sub instanceof ChildProcess)
  const viaChild = await AsyncPidFd.fromChild(sub as unknown as ChildProcess).wait()
  t.is(viaChild.code, 3)
  t.truthy(viaChild.rusage, 'the full record, from the package that reaped it')
  t.is((await sub.exited).code, 3)
  // After the exit too: the package's own record, not the one child_process fields would give.
  t.deepEqual(await AsyncPidFd.fromChild(sub as unknown as ChildProcess).wait(), await sub.exited)
  // The blocking handle too: opened before the exit (a second handle), and after it (the record).
  const running = spawn('sh', ['-c', 'read line; exit 5'])
  const before = PidFd.fromChild(running as unknown as ChildProcess)
  running.stdin!.end('go\n')
  const waited = before.wait()
  t.like(waited, { status: 'exited', code: 5 })
  t.truthy(waited.rusage, 'a blocking wait on a second handle of the package\'s own child')
  await running.exited
  const after = PidFd.fromChild(running as unknown as ChildProcess).wait()
  t.like(after, { status: 'exited', code: 5 })
  t.truthy(after.rusage, 'after the exit: the package\'s own record')
  const failed = spawn('pidfd-no-such-program')
  failed.on('error', () => {})
  await new Promise((resolve) => failed.on('close', resolve))
  t.like(t.throws(() => PidFd.fromChild(failed as unknown as ChildProcess)), { code: 'ENOENT', syscall: 'spawn pidfd-no-such-program' })
})

test('ERR_* errors read as Node\'s: String(err) and the stack name the code', (t) => {
  for (const [name, s] of both) {
    const err = t.throws(() => s('true', 23 as never)) as Error
    t.is(String(err), 'TypeError [ERR_INVALID_ARG_TYPE]: The "args" argument must be of type object. Received type number (23)', name)
    t.true(err.stack!.startsWith('TypeError [ERR_INVALID_ARG_TYPE]: The "args"'), name)
  }
})

test('args together with shell: true warns DEP0190 once per process where child_process does (Node 24 on)', async (t) => {
  // Each warns once per process: a fresh Node for each.
  const warnings = (which: string) =>
    runNode(`
      const cp = require('node:child_process');
      const spawn = process.env.WHICH === 'pidfd' ? pidfd.spawn : cp.spawn;
      process.on('warning', (w) => console.log(w.name, w.code, w.message));
      spawn('echo', ['a'], { shell: true, stdio: 'ignore' });
      spawn('echo', ['b'], { shell: true, stdio: 'ignore' });
      spawn('echo', { shell: true, stdio: 'ignore' });
    `, { env: { WHICH: which } })
  const ours = await warnings('pidfd')
  const theirs = await warnings('child_process')
  // Node warns since version 24.
  t.is(
    ours.stdout,
    Number(process.versions.node.split('.')[0]) >= 24
      ? 'DeprecationWarning DEP0190 Passing args to a child process with shell option true can lead to security vulnerabilities, as the arguments are not escaped, only concatenated.\n'
      : '',
  )
  t.is(ours.stdout, theirs.stdout)
})

test('args null or undefined are none, and with shell: true the args join the command with a space each, as child_process (spawn and spawnSync)', async (t) => {
  const run = await runNode(`
    const cp = require('node:child_process');
    const calls = [['echo', null], ['echo', undefined, {}], ['echo', null, { shell: true }], ['echo', ['a', 'b  c'], { shell: true }], ['printf %s-', ['x', 'y'], { shell: true }]];
    const out = (lib, call) => new Promise((resolve) => {
      let text = '';
      const c = lib.spawn(...call);
      c.stdout.on('data', (d) => (text += d));
      c.on('close', (code) => resolve([code, text]));
    });
    (async () => {
      const got = {};
      for (const [name, lib] of [['child_process', cp], ['pidfd', pidfd]]) {
        got[name] = [];
        for (const call of calls) {
          const sync = lib.spawnSync(...call.slice(0, 2), { ...call[2], encoding: 'utf8' });
          got[name].push([await out(lib, call), [sync.status, sync.stdout]]);
        }
      }
      console.log(JSON.stringify(got));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const got = JSON.parse(run.stdout) as Record<string, unknown>
  const both = (code: number, text: string) => [[code, text], [code, text]]
  t.deepEqual(got['child_process'], [both(0, '\n'), both(0, '\n'), both(0, '\n'), both(0, 'a b c\n'), both(0, 'x-y-')], 'child_process, as this test reads it')
  t.deepEqual(got['pidfd'], got['child_process'])
})

test('an empty PATH entry is the current directory, as execvp reads it', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = tempDir('pidfd-path-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'pidfd-here'), '#!/bin/sh\necho found here\n', { mode: 0o755 })
  for (const [name, s] of both) {
    const sub = s('pidfd-here', [], { cwd: dir, env: { PATH: ':/usr/bin:/bin' } })
    const out = await new Promise<string>((resolve) => {
      sub.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`))
      text(sub.stdout!).then(resolve, () => resolve('no output'))
    })
    t.is(out, 'found here\n', name)
  }
})

test('an env without PATH: the program is still found, in the default search path', async (t) => {
  for (const [name, s] of both) {
    const sub = s('sh', ['-c', 'echo found'], { env: {} })
    t.is(await text(sub.stdout!), 'found\n', name)
  }
})

test("'inherit' of a descriptor this process does not have: EBADF, thrown as child_process throws it", (t) => {
  // A number well above what this test process has open (tests run concurrently).
  const fd = 1000
  t.false(existsSync(`/proc/self/fd/${fd}`))
  const stdio: Array<string | undefined> = ['ignore', 'ignore', 'ignore']
  stdio[fd] = 'inherit'
  for (const [name, s] of both) {
    const err = t.throws(() => s('true', [], { stdio: stdio as never })) as NodeJS.ErrnoException
    t.is(err.code, 'EBADF', name)
    t.is(err.errno, -9, name)
  }
})

test('an argument with no string form (a null-prototype object, a throwing toString, a Symbol): spawn passes it on empty and spawnSync throws V8\'s TypeError, each as child_process does', async (t) => {
  const { spawnSync } = await import('../index.js')
  const cp = await import('node:child_process')
  const values: Array<[string, unknown]> = [
    ['null prototype', Object.create(null)],
    ['throwing toString', { toString: () => { throw new Error('no string') } }],
    ['Symbol', Symbol('s')],
  ]
  for (const [what, value] of values) {
    const outputs: string[] = []
    for (const run of [cpSpawn, spawn] as const) {
      const child = run('printf', ['[%s][%s]', value as string, 'next'], { stdio: ['ignore', 'pipe', 'inherit'] })
      outputs.push(await text(child.stdout!))
    }
    t.deepEqual(outputs, ['[][next]', '[][next]'], what)
    const thrown = [cp.spawnSync, spawnSync].map((run) => {
      try {
        run('printf', ['%s', value as string])
        return 'no throw'
      } catch (e) {
        return `${(e as Error).constructor.name}: ${(e as Error).message}`
      }
    })
    t.is(thrown[1], thrown[0], what)
    t.regex(thrown[0]!, /^(TypeError|Error): /, what)
  }
})

test("each stdio pipe's readable and writable, and the events of its end, as child_process's: a pipe is one end of a socket pair, so stdout and stderr are writable too and emit 'finish'", async (t) => {
  const out = await sideBySide(`
    const sub = spawn('sh', ['-c', 'echo out; echo err >&2; echo three >&3'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const flags = sub.stdio.map((s) => [s.readable, s.writable]);
    const events = sub.stdio.map(() => []);
    for (const [i, s] of sub.stdio.entries()) {
      for (const e of ['end', 'finish', 'close', 'error']) s.on(e, () => events[i].push(e));
      if (i > 0) s.resume();
    }
    await new Promise((resolve) => sub.on('close', resolve));
    // stdin's 'close' follows the exit, in no fixed order with the child's 'close'.
    return { flags, events: events.slice(1), connected: sub.connected };
  `)
  t.deepEqual(out.pidfd, {
    flags: [[false, true], [true, true], [true, true], [true, true]],
    events: [['end', 'finish', 'close'], ['end', 'finish', 'close'], ['end', 'finish', 'close']],
    connected: false,
  })
  t.deepEqual(out.pidfd, out.child_process)
})

test("'exit' comes after the output the child wrote before it exited, and after that pipe's end, as child_process's (100 children, a line or 100 KB each)", async (t) => {
  const out = await sideBySide(`
    const orders = {};
    for (let i = 0; i < 100; i++) {
      const order = [];
      const sub = spawn('sh', ['-c', i % 2 ? 'echo out' : 'head -c 100000 /dev/zero']);
      sub.stdout.on('data', () => { if (!order.includes('data')) order.push('data') });
      sub.stdout.on('end', () => order.push('end'));
      sub.on('exit', () => order.push('exit'));
      await new Promise((resolve) => sub.on('close', resolve));
      orders[order.join(' ')] = (orders[order.join(' ')] ?? 0) + 1;
    }
    return orders;
  `)
  t.deepEqual(out.pidfd, { 'data end exit': 100 })
  t.log('child_process:', out.child_process)
})

test("stdin is no stream 'close' waits for: a child whose stdout and stderr closed early gets 'close' at its exit (before the exit's ticks), not at stdin's own 'close', as child_process's", async (t) => {
  const out = await sideBySide(`
    // The child closes stdout and stderr, then exits once it reads a line; the line is written
    // once both have closed here, and stdin is left open.
    const sub = spawn('sh', ['-c', 'exec >&- 2>&-; read line']);
    const order = [];
    let open = 2;
    for (const s of [sub.stdout, sub.stderr]) {
      s.resume();
      s.on('close', () => { if (--open === 0) sub.stdin.write('go\\n') });
    }
    const stdinClosed = new Promise((resolve) => sub.stdin.on('close', () => { order.push('stdin close'); resolve() }));
    sub.on('exit', () => { order.push('exit'); process.nextTick(() => order.push('tick')) });
    await new Promise((resolve) => sub.on('close', () => { order.push('close'); resolve() }));
    await stdinClosed;
    return order;
  `)
  t.deepEqual(out.pidfd, ['exit', 'close', 'tick', 'stdin close'])
  t.deepEqual(out.pidfd, out.child_process)
})

test('descriptor 0 closed by the app: a pipe, or an IPC channel, that gets the number 0 works, as child_process\'s', async (t) => {
  // Each run closes this process's descriptor 0 after a first spawn (so nothing of the
  // package's own takes 0), then spawns a Node child whose stdout, or else its IPC channel, is
  // the first descriptor made: it gets the number 0.
  const script = (lib: string, stdout: string) => `
    const fs = require('node:fs');
    const lib = ${lib};
    lib.spawn('true').on('close', () => {
      fs.closeSync(0);
      const sub = lib.spawn(process.execPath, ['-e', 'process.send("hi", () => process.disconnect()); console.log("out")'], { stdio: ['ignore', '${stdout}', 'inherit', 'ipc'] });
      const seen = { stdoutFd: sub.stdout?._handle?.fd ?? null, channelFd: sub.channel?.fd ?? null, messages: [], out: '' };
      sub.on('message', (m) => seen.messages.push(m));
      sub.stdout?.on('data', (d) => { seen.out += d });
      sub.on('close', (code) => { seen.code = code; console.log(JSON.stringify(seen)) });
    });
  `
  for (const stdout of ['pipe', 'ignore']) {
    const runs: unknown[] = []
    for (const lib of ["require('node:child_process')", 'pidfd']) {
      const r = await runNode(script(lib, stdout))
      t.is(r.code, 0, r.stderr)
      runs.push(JSON.parse(r.stdout))
    }
    t.deepEqual(runs[1], stdout === 'pipe'
      ? { stdoutFd: 0, channelFd: (runs[1] as { channelFd: number }).channelFd, messages: ['hi'], out: 'out\n', code: 0 }
      : { stdoutFd: null, channelFd: 0, messages: ['hi'], out: '', code: 0 }, stdout)
    const { channelFd: _a, ...ours } = runs[1] as Record<string, unknown>
    const { channelFd: _b, ...theirs } = runs[0] as Record<string, unknown>
    t.deepEqual(ours, theirs, stdout)
  }
})

test('spawn(file) and spawn(file, options): no arguments, and the options read from the second place, as child_process', async (t) => {
  const out = await sideBySide(`
    const bare = await text(spawn('echo').stdout);
    const withOptions = await text(spawn('printenv', { env: { X: 'from the options' } }).stdout);
    const nullArgs = await text(spawn('echo', null, { env: { X: 'x' } }).stdout);
    return { bare, withOptions, nullArgs };
  `)
  t.deepEqual(out.pidfd, { bare: '\n', withOptions: 'X=from the options\n', nullArgs: '\n' })
  t.deepEqual(out.pidfd, out.child_process)
})

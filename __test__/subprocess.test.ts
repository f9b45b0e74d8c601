// spawn(): options, stdio, guaranteed rusage, no zombies.

import test from 'ava'
import { createReadStream, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getEventListeners, once } from 'node:events'
import { text } from 'node:stream/consumers'
import type { Readable } from 'node:stream'
import { Worker } from 'node:worker_threads'

import { spawn as cpSpawn } from 'node:child_process'

import { AsyncPidFd, spawn } from '../index.js'
import { entry, gone, isError, noStrace, procState, runNode, runsIf, straceNode, tempDir, until } from './helpers.js'

test('stdout and stderr are readable sockets; stdin is writable', async (t) => {
  const sub = spawn('sh', ['-c', 'read x; echo "out:$x"; echo err >&2'])
  sub.stdin!.end('hello\n')
  const [out, err, exit] = await Promise.all([text(sub.stdout!), text(sub.stderr!), sub.exited])
  t.is(out, 'out:hello\n')
  t.is(err, 'err\n')
  t.is(exit.code, 0)
})

test('cwd and env reach the child; undefined env values are left out; PATH is searched in the child env', async (t) => {
  const dir = realpathSync(tempDir('pidfd-'))
  const sub = spawn('sh', ['-c', 'pwd; echo "$A|${B-unset}"'], {
    cwd: dir,
    env: { A: 'one', B: undefined, PATH: process.env.PATH },
  })
  t.is(await text(sub.stdout!), `${dir}\none|unset\n`)
  t.is((await sub.exited).code, 0)
})

test('without env, the child gets process.env as it is now: changes on the main thread, and a worker\'s own copy', async (t) => {
  process.env.PIDFD_TEST_SET = 'set now'
  process.env.PIDFD_TEST_GONE = 'soon gone'
  delete process.env.PIDFD_TEST_GONE
  try {
    const sub = spawn('sh', ['-c', 'echo "$PIDFD_TEST_SET|${PIDFD_TEST_GONE-unset}"'])
    t.is(await text(sub.stdout!), 'set now|unset\n')
  } finally {
    delete process.env.PIDFD_TEST_SET
  }
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { text } = require('node:stream/consumers');
     const { spawn } = require(${JSON.stringify(entry)});
     process.env.PIDFD_TEST_WORKER = 'worker only';
     text(spawn('sh', ['-c', 'echo "$PIDFD_TEST_WORKER"']).stdout).then((out) => parentPort.postMessage(out));`,
    { eval: true },
  )
  t.is(await new Promise<string>((resolve) => worker.once('message', resolve)), 'worker only\n')
  t.is(process.env.PIDFD_TEST_WORKER, undefined, "the worker's copy, not ours")
  await worker.terminate()
})

test("stdio: 'ignore', 'inherit', an fd of ours, and an extra pipe at fd 3", async (t) => {
  const dir = tempDir('pidfd-')
  const file = join(dir, 'out.txt')
  const { openSync, closeSync } = await import('node:fs')
  const fd = openSync(file, 'w')
  const sub = spawn('sh', ['-c', 'echo to-file; echo to-3 >&3; cat'], { stdio: ['ignore', fd, 'inherit', 'pipe'] })
  closeSync(fd)
  t.is(sub.stdin, null)
  t.is(sub.stdout, null)
  t.is(sub.stderr, null)
  t.is(await text(sub.stdio[3] as Readable), 'to-3\n')
  t.is((await sub.exited).code, 0, 'cat read EOF from /dev/null')
  t.is(readFileSync(file, 'utf8'), 'to-file\n')
})

test('a stream of ours as a child descriptor: one child\'s stdout piped into another\'s stdin', async (t) => {
  const first = spawn('sh', ['-c', 'echo piped; echo twice'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const second = spawn('sort', [], { stdio: [first.stdout!, 'pipe', 'inherit'] })
  // The second child has its own copy now; ours would only compete for the data.
  first.stdout!.destroy()
  t.is(await text(second.stdout!), 'piped\ntwice\n')
  t.is((await second.exited).code, 0)
  t.is((await first.exited).code, 0)
})

test('no descriptor of ours leaks into a child: it has what a child_process child has, and no pidfd or socket beyond its stdio', async (t) => {
  // Hold some descriptors of our own meanwhile: pidfds, socket pairs, the helper's socket.
  const other = spawn('sleep', ['10'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const held = AsyncPidFd.fromPid(other.pid!)
  // What the child sees: each descriptor and where it points (fds 0-2 only by number).
  const probe = 'for f in /proc/$$/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then echo "$n $(readlink $f)"; else echo $n; fi; done'
  for (const stdio of ['ignore', 'pipe', 'inherit'] as const) {
    const ours = spawn('sh', ['-c', probe], { stdio: [stdio, 'pipe', stdio] })
    const theirs = cpSpawn('sh', ['-c', probe], { stdio: [stdio, 'pipe', stdio] })
    // (The shell's own $(...) pipe shows up in both; inode numbers differ.)
    const [a = '', b = ''] = (await Promise.all([text(ours.stdout!), text(theirs.stdout!)])).map((s) => s.replace(/\[\d+\]/g, '[]'))
    t.is(a, b, stdio)
    t.notRegex(a, /pidfd|socket:/, stdio)
    await ours.exited
  }
  held.close()
  other.kill('SIGKILL')
  await other.exited
})

test('the child starts with every signal at its default and none blocked, as a child_process child does, with and without the helper', async (t) => {
  // grep reads its own status: a shell would reset its mask at start and hide a blocked one.
  const probe = ['-E', '^Sig(Ign|Blk):', '/proc/self/status'] as const
  const theirs = cpSpawn('grep', probe)
  const expected = await text(theirs.stdout)
  // Node ignores SIGPIPE; the C library's own signals (32, 33) have handlers in Node, which
  // posix_spawn would leave ignored in the child.
  t.is(expected, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n')
  const sub = spawn('grep', probe)
  t.is(await text(sub.stdout!), expected, 'spawn() through the helper')
  await sub.exited
  const script = `const { text } = require('node:stream/consumers');
    const probe = ${JSON.stringify(probe)};
    (async () => {
      const sub = pidfd.spawn('grep', probe);
      const async = await text(sub.stdout);
      console.log(JSON.stringify({ async, sync: pidfd.spawnSync('grep', probe).stdout.toString() }));
    })();`
  const run = await runNode(script, { env: { PIDFD_SPAWN_HELPER: '0' } })
  t.is(run.code, 0, run.stderr)
  const inProcess = JSON.parse(run.stdout) as { async: string; sync: string }
  t.is(inProcess.async, expected, 'spawn() in-process (posix_spawn)')
  t.is(inProcess.sync, expected, 'spawnSync() in-process')
})

test('detached and processGroup, through the helper and in-process (posix_spawn): a new session and group, a new group, or neither, as child_process gives them', async (t) => {
  // The shell prints its own pid, group and session (fields 5 and 6 of its stat).
  const script = `const { text } = require('node:stream/consumers');
    const probe = ['-c', 'set -- $(cut -d" " -f1,5,6 /proc/$$/stat); [ $1 = $2 ] && printf g || printf -; [ $1 = $3 ] && printf s || printf -'];
    (async () => {
      const seen = {};
      for (const [name, options] of [['none', {}], ['detached', { detached: true }], ['processGroup', { processGroup: true }]]) {
        // child_process has no processGroup: ours alone there.
        seen[name] = [await text(pidfd.spawn('sh', probe, options).stdout)];
        if (name !== 'processGroup') seen[name].push(await text(require('node:child_process').spawn('sh', probe, options).stdout));
      }
      console.log(JSON.stringify(seen));
    })();`
  const expected = { none: ['--', '--'], detached: ['gs', 'gs'], processGroup: ['g-'] }
  for (const env of [{}, { PIDFD_SPAWN_HELPER: '0' }] as Array<Record<string, string>>) {
    const run = await runNode(script, { env })
    t.is(run.code, 0, run.stderr)
    t.deepEqual(JSON.parse(run.stdout), expected, JSON.stringify(env))
  }
})

/** `script` run in a Node of its own through the spawn helper, then in-process (PIDFD_SPAWN_HELPER=0). */
async function bothWays(script: string): Promise<Array<{ helper: string | undefined; run: Awaited<ReturnType<typeof runNode>>; way: string }>> {
  const out = []
  for (const helper of [undefined, '0']) {
    const run = await runNode(script, { env: helper ? { PIDFD_SPAWN_HELPER: helper } : {} })
    out.push({ helper, run, way: helper ? 'in-process (posix_spawn)' : 'through the helper' })
  }
  return out
}

test("'ignore' beyond stdio leaves the descriptor closed, as child_process; cwd works with and without the helper; without it uid and gid are refused (ENOSYS), never ignored", async (t) => {
  // The shell looks at its own descriptors 0-4: o open, c closed.
  const probe = ['-c', 'for f in 0 1 2 3 4; do if [ -e /proc/$$/fd/$f ]; then printf o; else printf c; fi; done']
  const stdio = ['ignore', 'pipe', 'ignore', 'ignore', 'pipe']
  const expected = await text(cpSpawn('sh', probe, { stdio: stdio as never }).stdout!)
  t.is(expected, 'oooco')
  const script = `const { text } = require('node:stream/consumers');
    const probe = ${JSON.stringify(probe)};
    const stdio = ${JSON.stringify(stdio)};
    (async () => {
      const out = {};
      const a = pidfd.spawn('sh', probe, { stdio });
      out.fds = await text(a.stdout);
      await a.exited;
      out.sync = pidfd.spawnSync('sh', probe, { stdio }).stdout.toString();
      const b = pidfd.spawn('pwd', [], { cwd: '/tmp' });
      out.cwd = await text(b.stdout);
      await b.exited;
      for (const key of ['uid', 'gid']) {
        const own = key === 'uid' ? process.getuid() : process.getgid();
        const c = pidfd.spawn('true', [], { [key]: own });
        out[key] = await new Promise((resolve) => {
          c.on('error', (e) => resolve(e.code + ': ' + e.message));
          c.on('exit', (code) => resolve(code));
        });
      }
      console.log(JSON.stringify(out));
    })();`
  for (const { helper, run, way } of await bothWays(script)) {
    t.is(run.code, 0, run.stderr)
    const out = JSON.parse(run.stdout) as Record<string, unknown>
    const refused = 'ENOSYS: spawn true ENOSYS (uid and gid need the spawn helper, which cannot run here)'
    t.deepEqual(
      out,
      { fds: expected, sync: expected, cwd: '/tmp\n', uid: helper ? refused : 0, gid: helper ? refused : 0 },
      way,
    )
  }
})

test("a non-blocking descriptor given as the child's stdio is made blocking, as libuv makes it (the open file is shared: ours turns blocking too), with and without the helper", async (t) => {
  // A FIFO opened O_RDWR | O_NONBLOCK here, given as the child's stdin; the child prints its
  // O_NONBLOCK (04000 in fdinfo's octal flags) as it finds it.
  const script = `const fs = require('node:fs');
    const { execFileSync } = require('node:child_process');
    const { text } = require('node:stream/consumers');
    const fifo = require('node:path').join(${JSON.stringify(tempDir('pidfd-nonblock-'))}, 'fifo-' + process.pid);
    execFileSync('mkfifo', [fifo]);
    const probe = ['-c', 'echo $(( 0$(sed -n "s/^flags:[[:space:]]*//p" /proc/$$/fdinfo/0) & 04000 ))'];
    const nonblocking = (fd) => (parseInt(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8').match(/flags:\\s+(\\d+)/)[1], 8) & 0o4000) !== 0;
    (async () => {
      const out = {};
      for (const [name, spawn] of [['child_process', require('node:child_process').spawn], ['pidfd', pidfd.spawn]]) {
        const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
        const before = nonblocking(fd);
        const child = spawn('sh', probe, { stdio: [fd, 'pipe', 'inherit'] });
        out[name] = [before, (await text(child.stdout)).trim(), nonblocking(fd)];
        fs.closeSync(fd);
      }
      console.log(JSON.stringify(out));
    })();`
  for (const { run, way } of await bothWays(script)) {
    t.is(run.code, 0, run.stderr)
    const out = JSON.parse(run.stdout) as Record<string, unknown>
    // Non-blocking when given; blocking in the child, and so ours after (the same open file).
    t.deepEqual(out.pidfd, [true, '0', false], way)
    t.deepEqual(out.pidfd, out.child_process)
  }
})

test('a source descriptor numbered inside the stdio range is not overwritten before its turn: /dev/null opened at 0 still reaches the child\'s 1, with and without the helper', async (t) => {
  // This Node closes its own 0, so the /dev/null of 'ignore' is opened there; the child's 0 is
  // a file, set before its 1. The shell names its own 0, 1 and 2.
  const dir = tempDir('pidfd-low-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'probe')
  const script = `const fs = require('node:fs');
    const { text } = require('node:stream/consumers');
    const cp = require('node:child_process');
    const file = fs.openSync(${JSON.stringify(file)}, 'w');
    // The package's own descriptors (its watcher, the helper's socket, the loop's channel) are
    // opened at the first spawns: made before 0 is closed, so none of them takes it.
    pidfd.spawnSync('true');
    (async () => {
    await pidfd.spawn('true').exited;
    fs.closeSync(0);
    const probe = ['-c', 'a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); c=$(readlink /proc/$$/fd/2); echo "$a $b $c" >&2'];
    const stdio = [file, 'ignore', 'pipe'];
    const names = (s) => s.replace(/\\[\\d+\\]/g, '').trim();
      const out = { zeroFree: [] };
      // 0 is free when each of the package's spawns starts (spawnSync first: it closes what it
      // opened before it returns; a stream of the async spawn may hold 0 a while after).
      const zeroFree = () => out.zeroFree.push((() => { try { fs.fstatSync(0); return false } catch (e) { return e.code === 'EBADF' } })());
      zeroFree();
      out.spawnSync = names(pidfd.spawnSync('sh', probe, { stdio }).stderr.toString());
      zeroFree();
      out.pidfd = names(await text(pidfd.spawn('sh', probe, { stdio }).stderr));
      out.child_process = names(await text(cp.spawn('sh', probe, { stdio }).stderr));
      console.log(JSON.stringify(out));
    })();`
  for (const { run, way } of await bothWays(script)) {
    t.is(run.code, 0, run.stderr)
    const expected = `${file} /dev/null socket:`
    t.deepEqual(JSON.parse(run.stdout), { zeroFree: [true, true], child_process: expected, pidfd: expected, spawnSync: expected }, way)
  }
})

test("a missing program reports ENOENT through 'error', then 'close', as child_process does", async (t) => {
  const sub = spawn('pidfd-no-such-program', ['a'])
  t.is(sub.pid, undefined)
  const events: string[] = []
  sub.on('spawn', () => events.push('spawn'))
  sub.on('exit', () => events.push('exit'))
  const [err] = (await once(sub, 'error')) as [Error]
  isError(t, err, { code: 'ENOENT', errno: -2, syscall: 'spawn pidfd-no-such-program' })
  t.is(err.message, 'spawn pidfd-no-such-program ENOENT')
  t.like(err as object, { path: 'pidfd-no-such-program', spawnargs: ['a'] })
  // child_process's own keys: `step` is there only where a step before the exec failed.
  t.deepEqual(Object.keys(err).sort(), ['code', 'errno', 'path', 'spawnargs', 'syscall'])
  const [code, signal] = await once(sub, 'close')
  t.is(code, -2)
  t.is(signal, null)
  t.deepEqual(events, [])
  t.false(sub.kill())
  await t.throwsAsync(sub.exited, { code: 'ENOENT' } as never)

  const [denied] = (await once(spawn('/etc/passwd'), 'error')) as [Error]
  isError(t, denied, { code: 'EACCES', errno: -13 })
})

test('rusage: a child burning 200 ms of its own CPU time reports at least that', async (t) => {
  // The child measures its own CPU clock, not wall time.
  const burn = 'const s=process.cpuUsage(); while (true) { const u=process.cpuUsage(s); if (u.user+u.system >= 200000) break }'
  const exit = await spawn(process.execPath, ['-e', burn]).exited
  const usage = exit.rusage!
  t.true(usage.userCPUTime + usage.systemCPUTime >= 200_000, JSON.stringify(usage))
  t.is(Object.keys(usage).length, 16)
  t.deepEqual(Object.keys(usage).sort(), Object.keys(process.resourceUsage()).sort())
})

test('rusage: a child burning over a second of user CPU time: the record has what the child measured of itself, in microseconds, and no more than the wall time', async (t) => {
  // Past one second, a CPU time in the wrong unit or with the seconds counted wrong shows: the
  // child's own process.resourceUsage() just before it exits is the floor and, a little above
  // it, the ceiling (for its system time too, under a second: a second too many shows there
  // whatever the load); the time it ran (one thread busy, nothing allocated in the loop) is
  // another ceiling.
  const burn = `let x = 0;
    for (;;) { for (let i = 0; i < 1e6; i++) x += i; if (process.cpuUsage().user >= 1.2e6) break }
    const own = process.resourceUsage();
    process.stdout.write(JSON.stringify({ user: own.userCPUTime, system: own.systemCPUTime, x: x > 0 }));`
  const started = performance.now()
  const sub = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [own, exit] = await Promise.all([text(sub.stdout as Readable), sub.exited])
  const wallUs = (performance.now() - started) * 1000
  const child = JSON.parse(own) as { user: number; system: number }
  const { userCPUTime: user, systemCPUTime: system } = exit.rusage!
  const what = `rusage user ${user} µs, system ${system} µs; the child's own ${own}; wall ${Math.round(wallUs)} µs`
  t.is(exit.code, 0)
  t.true(user >= 1_000_000, what)
  t.true(user >= child.user && system >= child.system, what)
  // Exiting takes little CPU time: the record is within a quarter second of what the child saw.
  t.true(user - child.user < 250_000 && system - child.system < 250_000, what)
  t.true(user + system <= wallUs + 200_000, what)
})

test('rusage: a child touching 100 MiB more than a control child reports at least 100 MB more maxRSS', async (t) => {
  // Both children rise well above this process's own RSS, which a child inherits at exec,
  // so the difference is the child's own.
  const touch = (mib: number) => `const b = Buffer.alloc(${mib} * 1024 * 1024); b.fill(1); if (b[7] !== 1) process.exit(9)`
  const control = await spawn(process.execPath, ['-e', touch(150)]).exited
  const big = await spawn(process.execPath, ['-e', touch(250)]).exited
  t.is(control.code, 0)
  t.is(big.code, 0)
  const differenceKiB = big.rusage!.maxRSS - control.rusage!.maxRSS
  t.true(differenceKiB >= 100_000_000 / 1024, `difference ${differenceKiB} KiB`)
})

test('pidfd asked for before the exit: open until closed, same record; asked for after it: the record, no descriptor', async (t) => {
  const early = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' })
  const handle = early.pidfd
  t.true(handle.fd >= 0)
  t.is(early.pidfd, handle, 'one handle')
  const exit = await early.exited
  t.deepEqual(await handle.wait(), exit)
  t.true(handle.fd >= 0, 'still open after the exit')
  handle.close()
  t.is(handle.fd, -1)

  const late = spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' })
  const lateExit = await late.exited
  const after = late.pidfd
  t.is(after.fd, -1, 'the descriptor closed with the process')
  t.is(after.pid, late.pid!)
  t.is(after.tryWait(), lateExit)
  t.is(await after.wait(), lateExit)
  t.throws(() => after.kill(), { code: 'ESRCH' })
  t.is(late.kill(), false)
})

test("a throwing 'exit' listener throws uncaught, as from a ChildProcess, and exited still settles", async (t) => {
  const run = await runNode(
    `const { spawn: cpSpawn } = require('node:child_process');
     const seen = [];
     process.on('uncaughtException', (e) => seen.push(e.message));
     // With a pipe open, 'exit' waits an I/O phase (a JavaScript callback); without one it is
     // emitted from the event loop's own call into JavaScript: both paths.
     // Each 'exit' is awaited through a listener added before the throwing one (which then throws
     // in the same emit, so its error is seen by the next macrotask): no delay to outlast.
     const exit = (child) => new Promise((r) => child.once('exit', r));
     const sub = pidfd.spawn('true');
     const exits = [sub.exited, exit(sub)];
     sub.on('exit', () => { throw new Error('from pidfd') });
     const quiet = pidfd.spawn('true', [], { stdio: 'ignore' });
     exits.push(exit(quiet));
     quiet.on('exit', () => { throw new Error('from pidfd, no pipe') });
     const theirs = cpSpawn('true');
     exits.push(exit(theirs));
     theirs.on('exit', () => { throw new Error('from child_process') });
     Promise.all(exits).then(([e]) => setTimeout(() => console.log(JSON.stringify({ code: e.code, seen: seen.sort() })), 0));`,
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { code: 0, seen: ['from child_process', 'from pidfd', 'from pidfd, no pipe'] })
})

test("throwing 'exit' listeners of children that exit together: every child still gets its exit, each error is uncaught", async (t) => {
  const run = await runNode(
    `let errors = 0, exits = 0;
     const report = () => console.log(JSON.stringify({ exits, errors }));
     // Said once the 30th error is seen, or at 15 s with what came by then (not at a fixed
     // 1.5 s, which a busy machine can outlast).
     const fallback = setTimeout(report, 15_000);
     process.on('uncaughtException', () => { if (++errors === 30) { clearTimeout(fallback); setTimeout(report, 0) } });
     for (let i = 0; i < 30; i++) pidfd.spawn('true', [], { stdio: i % 2 ? 'ignore' : 'pipe' }).on('exit', () => { exits++; throw new Error('listener ' + i) });`,
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { exits: 30, errors: 30 })
})

test("under node:test, an 'exit' listener that throws fails its own test and the run goes on, as with child_process", async (t) => {
  const dir = tempDir('pidfd-node-test-')
  const results: string[][] = []
  for (const source of ["require('node:child_process')", `require(${JSON.stringify(entry)})`]) {
    const file = join(dir, `t${results.length}.cjs`)
    writeFileSync(
      file,
      `const { test } = require('node:test')
       const { spawn } = ${source}
       test('throws', (t, done) => { spawn('true').on('exit', () => { throw new Error('in exit') }) })
       test('throws, no pipe', (t, done) => { spawn('true', [], { stdio: 'ignore' }).on('exit', () => { throw new Error('in exit') }) })
       test('next', (t, done) => { spawn('true').on('exit', () => done()) })
      `,
    )
    const run = await runNode('', { prelude: false, nodeArgs: ['--test-reporter=tap', file], timeoutMs: 30_000 })
    results.push([String(run.code), ...run.stdout.split('\n').filter((l) => /^(not )?ok \d/.test(l))])
  }
  t.deepEqual(results[1], ['1', 'not ok 1 - throws', 'not ok 2 - throws, no pipe', 'ok 3 - next'])
  t.deepEqual(results[1], results[0])
})

runsIf(noStrace, "a spawned child is reaped on Node's main thread")(
  "a spawned child is reaped by its environment's event loop, on Node's main thread, not by the watcher thread (strace; PIDFD_LOOP_REAP=0 turns it off)",
  async (t) => {
    // Each child's exit is printed once 'exit' has run; the reaping waitid (no WNOWAIT) names
    // the child's pid in its siginfo.
    const script = `const pidfd = require(${JSON.stringify(entry)});
      for (let i = 0; i < 3; i++) {
        const c = pidfd.spawn('true', [], { stdio: 'ignore' });
        c.on('exit', (code) => process.stderr.write('EXIT ' + c.pid + ' ' + code + '\\n'));
      }`
    const reapedOnMain = async (env: Record<string, string>) => {
      const lines = await straceNode(script, ['waitid', 'write'], { env })
      const pids = lines.flatMap((l) => / write\(2, "EXIT (\d+) 0\\n"/.exec(l)?.[1] ?? [])
      const reaped = new Set(lines.filter((l) => / waitid\(P_PIDFD, /.test(l) && !l.includes('WNOWAIT') && / = 0$/.test(l)).flatMap((l) => /si_pid=(\d+)/.exec(l)?.[1] ?? []))
      return { pids, onMain: pids.filter((p) => reaped.has(p)) }
    }
    const loop = await reapedOnMain({})
    t.is(loop.pids.length, 3, 'each child exits with 0')
    t.deepEqual(loop.onMain, loop.pids, 'every child is reaped on the main thread')
    // The other path, so this test can tell them apart: the watcher thread reaps, and tells
    // the main thread through the channel.
    const thread = await reapedOnMain({ PIDFD_LOOP_REAP: '0' })
    t.is(thread.pids.length, 3)
    t.deepEqual(thread.onMain, [], 'with PIDFD_LOOP_REAP=0 none is')
  },
)

test('the package reaps a spawned child nobody waits for: no zombie', async (t) => {
  const sub = spawn('true')
  t.true(await until(() => gone(sub.pid!)), `state ${procState(sub.pid!)}`)
})

test('a child spawned by a worker that then exits is still reaped', async (t) => {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { spawn } = require(${JSON.stringify(entry)});
     const sub = spawn('sleep', ['30'], { stdio: 'ignore' });
     sub.exited.then(() => {});
     parentPort.postMessage(sub.pid);`,
    { eval: true },
  )
  const pid = await new Promise<number>((resolve) => worker.once('message', resolve))
  await worker.terminate()
  // It runs until it is killed here (0.3 s did not always outlive a worker's end under load).
  t.not(procState(pid), null, 'still running after the worker ended')
  process.kill(pid, 'SIGKILL')
  t.true(await until(() => gone(pid), 10_000), `state ${procState(pid)}`)
})

test('fromPid(sub.pid, { reap: true }) on a spawned child shares its record: it cannot steal the exit and its rusage', async (t) => {
  const { PidFd } = await import('../index.js')
  for (let round = 0; round < 5; round++) {
    const sub = spawn('sleep', ['0.1'], { stdio: 'ignore' })
    // A blocking, reaping wait racing the package's own reaper.
    const viaPid = PidFd.fromPid(sub.pid!, { reap: true }).wait()
    const exit = await sub.exited
    t.truthy(exit.rusage, `round ${round}: the spawned child kept its rusage`)
    t.deepEqual(viaPid, exit, `round ${round}: one record`)
  }
})

test('exited is one promise, with the same record, whenever it is first read: before the exit, in the exit listener, after close', async (t) => {
  const before = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' })
  const early = before.exited
  t.is(before.exited, early, 'the same promise at each reading')
  const inListener = spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' })
  const seen = new Promise<Promise<unknown>>((resolve) => inListener.once('exit', () => resolve(inListener.exited)))
  const late = spawn('sh', ['-c', 'exit 5'], { stdio: 'ignore' })
  await once(late, 'close')
  const [a, b, c] = await Promise.all([early, seen.then((p) => p), late.exited])
  t.is((a as { code: number }).code, 3)
  t.is((b as { code: number }).code, 4)
  t.is((c as { code: number }).code, 5)
  t.truthy((c as { rusage: unknown }).rusage, 'read after close, it still has the usage')
  t.is(await late.exited, c, 'the record itself, at every reading')
})

test('a spawn that failed: exited, read late, rejects with the spawn error; never read, or read and never awaited, it raises no unhandled rejection', async (t) => {
  const sub = spawn('/nonexistent/pidfd-test', [])
  const error = await once(sub, 'error')
  await once(sub, 'close')
  const err = await t.throwsAsync(sub.exited)
  t.is(err, error[0])
  const run = await runNode(
    `pidfd.spawn('/nonexistent/pidfd-test', []).on('error', () => {});
     // Read but never awaited: its rejection is not unhandled either.
     const read = pidfd.spawn('/nonexistent/pidfd-test', []).on('error', () => {});
     void read.exited;
     pidfd.spawn('true', [], { stdio: 'ignore' }).on('close', () => setTimeout(() => console.log('done'), 50));`,
    { nodeArgs: ['--unhandled-rejections=strict'] },
  )
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'done\n')
})

/** child_process's spawn and the package's, for the side-by-side tests below. */
const sides = [['child_process', cpSpawn], ['pidfd', spawn]] as const

test("options.signal: each child's 'abort' listener is removed at its exit, so one AbortSignal kept for many spawns holds none of them, as with child_process", async (t) => {
  const counts: Record<string, number[]> = {}
  for (const [name, start] of sides) {
    const controller = new AbortController()
    const seen: number[] = []
    for (let i = 0; i < 3; i++) {
      const child = start('true', [], { signal: controller.signal })
      seen.push(getEventListeners(controller.signal, 'abort').length)
      await once(child, 'exit')
    }
    seen.push(getEventListeners(controller.signal, 'abort').length)
    counts[name] = seen
  }
  t.deepEqual(counts.pidfd, counts.child_process)
  t.deepEqual(counts.pidfd, [1, 1, 1, 0])
})

test("stdio streams: one with an fd of its own (fs.ReadStream) is left flowing; a socket over a libuv handle is no longer read here; as with child_process", async (t) => {
  const seen: Record<string, unknown> = {}
  for (const [name, start] of sides) {
    const file = createReadStream('/dev/zero', { highWaterMark: 16 })
    await once(file, 'open')
    file.on('data', () => {})
    const feeder = cpSpawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] })
    const socket = feeder.stdout!
    socket.on('data', () => {})
    const child = start('true', [], { stdio: [file, socket, 'ignore'] })
    const flowing = [file.readableFlowing, socket.readableFlowing]
    await once(child, 'exit')
    file.destroy()
    feeder.stdin!.end()
    await once(feeder, 'close')
    seen[name] = flowing
  }
  t.deepEqual(seen.pidfd, seen.child_process)
  t.deepEqual(seen.pidfd, [true, false])
})

test("stdio: a net.Socket made over our descriptor 0 (a pipe) is a child's stdin, as with child_process", async (t) => {
  // Such a socket has no fd property of its own, only its handle's: descriptor 0.
  const outputs: Record<string, string> = {}
  for (const module of ['child_process', 'pidfd']) {
    const script = `
      const net = require('node:net');
      const { spawn } = require(${JSON.stringify(module === 'pidfd' ? entry : 'node:child_process')});
      const stdin = new net.Socket({ fd: 0, readable: true });
      spawn('cat', [], { stdio: [stdin, 'inherit', 'inherit'] }).on('exit', (code) => { stdin.destroy(); console.log('exit', code) });`
    const node = cpSpawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
    node.stdin!.end('hello\n')
    const [out] = await Promise.all([text(node.stdout!), once(node, 'exit')])
    outputs[module] = out
  }
  t.is(outputs.pidfd, outputs.child_process)
  t.is(outputs.pidfd, 'hello\nexit 0\n')
})

test("options.timeout: the timer is cleared by the child's 'close', so it keeps Node up no longer; 0 and null arm none; as with child_process", async (t) => {
  // In a Node of its own: the count of active timers is the whole process's. A timer left
  // armed (ten minutes) would also hold that Node past the run's bound: killed, not exit 0.
  const run = await runNode(
    `
    const cp = require('node:child_process');
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    (async () => {
      const counts = {};
      for (const [name, spawn] of [['child_process', cp.spawn], ['pidfd', pidfd.spawn]]) {
        counts[name] = [];
        // 0 and null are no timeout: no timer at all.
        for (const timeout of [600000, 0, null]) {
          const before = timers();
          const child = spawn('true', [], { timeout });
          const armed = timers() - before;
          // By 'close' (child_process of Node 26 clears it after the 'exit' listeners).
          await new Promise((resolve) => child.on('close', resolve));
          counts[name].push([armed, timers() - before]);
        }
      }
      console.log(JSON.stringify(counts));
    })();
    `,
    { timeoutMs: 30_000 },
  )
  t.is(run.signal, null, 'Node exits by itself, before the bound of the run')
  t.is(run.code, 0, run.stderr)
  const counts = JSON.parse(run.stdout) as Record<string, number[][]>
  t.deepEqual(counts.pidfd, counts.child_process)
  t.deepEqual(counts.pidfd, [[1, 0], [0, 0], [0, 0]])
})

test("kill() after 'exit' answers false (SIGTERM, 0, SIGKILL), emits no 'error', and leaves killed false, as with child_process", async (t) => {
  const answers: Record<string, unknown> = {}
  for (const [name, start] of sides) {
    const child = start('true', [])
    const errors: unknown[] = []
    child.on('error', (err) => errors.push(err))
    await once(child, 'exit')
    const said = [child.kill(), child.kill(0), child.kill('SIGKILL')]
    await new Promise((resolve) => setImmediate(resolve))
    answers[name] = { said, errors: errors.length, killed: child.killed }
  }
  t.deepEqual(answers.pidfd, answers.child_process)
  t.deepEqual(answers.pidfd, { said: [false, false, false], errors: 0, killed: false })
})

test("stdio arrays read as child_process reads them: a short array padded with pipes, 'overlapped' a pipe, 0 our own descriptor 0, a negative number a pipe, past 2 undefined is 'ignore'", async (t) => {
  // What the child's descriptors 0-3 are: ours at 0, a socket (a pipe of ours), /dev/null, or
  // closed; read by a subshell from the shell's /proc entry ($$ is the shell's pid there too),
  // into a file. Our own 0 may be /dev/null too (a test runner's stdin), and then reads so.
  const ours0 = readlinkSync('/proc/self/fd/0')
  const ours = ours0 === '/dev/null' ? ours0 : 'ours'
  const dir = tempDir('pidfd-stdio-forms-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'out')
  const probe = '(for fd in 0 1 2 3; do readlink /proc/$$/fd/$fd || echo closed; done) >"$0" 2>/dev/null'
  const forms: unknown[][] = [['ignore'], [undefined, 'ignore'], ['ignore', 'overlapped'], [0, -1, 'ignore'], ['ignore', 'ignore', 'ignore', undefined]]
  const seen: Record<string, unknown[]> = {}
  for (const [name, start] of sides) {
    seen[name] = []
    for (const form of forms) {
      const given = String(form)
      // A copy each time: child_process pads the array it is given.
      const child = start('sh', ['-c', probe, out], { stdio: [...form] as never })
      child.stdin?.end()
      const streams = [0, 1, 2, 3].map((i) => (child.stdio[i] ? 'stream' : null))
      await once(child, 'close')
      const fds = readFileSync(out, 'utf8').trim().split('\n').map((l) => (l === '/dev/null' ? l : l === ours0 ? 'ours' : l.startsWith('socket:') ? 'socket' : l))
      seen[name].push({ form: given, streams, fds })
    }
  }
  t.deepEqual(seen.pidfd, seen.child_process)
  t.deepEqual(seen.pidfd, [
    { form: 'ignore', streams: [null, 'stream', 'stream', null], fds: ['/dev/null', 'socket', 'socket', 'closed'] },
    { form: ',ignore', streams: ['stream', null, 'stream', null], fds: ['socket', '/dev/null', 'socket', 'closed'] },
    { form: 'ignore,overlapped', streams: [null, 'stream', 'stream', null], fds: ['/dev/null', 'socket', 'socket', 'closed'] },
    { form: '0,-1,ignore', streams: [null, 'stream', null, null], fds: [ours, 'socket', '/dev/null', 'closed'] },
    { form: 'ignore,ignore,ignore,', streams: [null, null, null, null], fds: ['/dev/null', '/dev/null', '/dev/null', 'closed'] },
  ])
})

test("a child nobody listens to holds no listener table (EventEmitter's, about 270 bytes each) until its first listener; its events then come as child_process's", async (t) => {
  const table = (emitter: object) => (emitter as { _events?: unknown })._events
  const sub = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' })
  t.is(table(sub), undefined)
  t.is(sub.listenerCount('exit'), 0)
  t.deepEqual(sub.eventNames(), [])
  t.false(sub.emit('nothing'))
  const cp = cpSpawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' })
  const [ours, theirs] = await Promise.all([once(sub, 'exit'), once(cp, 'exit')])
  t.deepEqual(ours, theirs)
  t.deepEqual(ours, [3, null])
  t.is(typeof table(sub), 'object')
  sub.removeAllListeners()
  t.deepEqual(sub.eventNames(), [])
})

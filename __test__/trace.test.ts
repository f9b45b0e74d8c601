// PIDFD_TRACE never blocks the JS thread, whatever it names: a FIFO nobody reads, one whose
// reader stopped, a full disk, a path that cannot be written. Each case is an app in its own
// Node process that spawns children and must see their exits and end on its own; what the
// package says of the sink is said once on stderr. Lines stay whole and in order.

import { execFileSync } from 'node:child_process'
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { markIn, needsRoot, noStrace, root, runNode as runAnyNode, runsIf, straceNode, tempDir } from './helpers.js'

/** Each app writes its trace under 64 MiB (EFBIG past it): a sink gone wrong (a mutant's) stops there, not at a full disk. */
const runNode: typeof runAnyNode = (script, options = {}) => runAnyNode(script, { fileSizeLimit: 64 * 2 ** 20, ...options })

const dir = tempDir('pidfd-trace-')
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

/** An app that spawns `n` children (`true` with `args` long arguments), one after the other. */
function app(n: number, argBytes = 0): string {
  return `
    const args = Array.from({ length: 32 }, (_, i) => String(i).padEnd(${argBytes}, 'x'));
    (async () => {
      let codes = 0;
      for (let i = 0; i < ${n}; i++) codes += (await pidfd.spawn('true', ${argBytes ? 'args' : '[]'}, { stdio: 'ignore' }).exited).code === 0 ? 1 : 0;
      console.log('exits seen', codes);
      // What the queued lines hold, with the app done: Buffers are counted in arrayBuffers.
      if (global.gc) global.gc();
      console.error('arrayBuffers ' + process.memoryUsage().arrayBuffers);
    })();
  `
}

/** The exit code of each line of a trace file, in its order. */
function codesIn(trace: string): number[] {
  return readFileSync(trace, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { code: number }).code)
}

function said(stderr: string, pattern: RegExp): number {
  return stderr.split('\n').filter((l) => pattern.test(l)).length
}

test('a FIFO nobody reads: every exit is seen, the app ends, and the sink is said to fail once', async (t) => {
  const fifo = join(dir, 'unread.fifo')
  execFileSync('mkfifo', [fifo])
  const r = await runNode(app(3), { env: { PIDFD_TRACE: fifo } })
  t.is(r.signal, null, 'the app was not ended by the timeout')
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'exits seen 3')
  t.is(said(r.stderr, /^pidfd: PIDFD_TRACE: cannot write .*unread\.fifo: ENXIO; its lines are dropped$/), 1, r.stderr)
  t.is(said(r.stderr, /dropped: .* did not take them$/), 1, r.stderr)
})

test('a FIFO whose reader stopped reading: bounded memory, the app ends, dropped lines counted and said once, lines whole', async (t) => {
  const fifo = join(dir, 'stalled.fifo')
  execFileSync('mkfifo', [fifo])
  // A reader that never reads until the app is done: the pipe fills at 64 KiB.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    // 1,500 lines of about 4 KiB: 6 MiB, were they all held.
    const r = await runNode(app(1500, 150), { env: { PIDFD_TRACE: fifo }, timeoutMs: 90_000, nodeArgs: ['--expose-gc'] })
    t.is(r.signal, null, 'the app was not ended by the timeout')
    t.is(r.stdout.trim(), 'exits seen 1500')
    const held = Number(/^arrayBuffers (\d+)$/m.exec(r.stderr)?.[1])
    t.true(held < 2 * 2 ** 20, `${held} bytes of buffers held with 1,500 lines queued or dropped`)
    const dropped = /^pidfd: PIDFD_TRACE: (\d+) lines dropped: .*stalled\.fifo did not take them$/m.exec(r.stderr)
    t.truthy(dropped, r.stderr)
    t.is(said(r.stderr, /PIDFD_TRACE/), 1, r.stderr)
    t.true(Number(dropped![1]) > 1000, `${dropped![1]} dropped`)
    // What the pipe took: whole lines, in the order of the spawns (pids grow here, no wrap).
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(65536)
    for (let n; (n = readSync(reader, buf)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)))
    const text = Buffer.concat(chunks).toString()
    t.true(text.endsWith('\n'), 'the last line is whole')
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { pid: number; argvDropped?: number })
    t.true(lines.length > 0 && lines.length + Number(dropped![1]) <= 1500, `${lines.length} written, ${dropped![1]} dropped`)
    t.true(lines.every((l, i) => i === 0 || l.pid > lines[i - 1]!.pid), 'in order')
    t.true(lines.every((l) => l.argvDropped! > 0), 'arguments left out to keep each line within PIPE_BUF')
  } finally {
    closeSync(reader)
  }
})

runsIf(needsRoot, 'PIDFD_TRACE on a full disk')('a full disk (a 64 KiB tmpfs): the app ends, the failure is said once, the file holds whole lines', async (t) => {
  const mnt = join(dir, 'small')
  mkdirSync(mnt)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt])
  try {
    const trace = join(mnt, 'trace.jsonl')
    const r = await runNode(app(150, 150), { env: { PIDFD_TRACE: trace }, timeoutMs: 60_000 })
    t.is(r.signal, null)
    t.is(r.stdout.trim(), 'exits seen 150')
    t.is(said(r.stderr, /^pidfd: PIDFD_TRACE: cannot write .*trace\.jsonl: ENOSPC; its lines are dropped$/), 1, r.stderr)
    const text = readFileSync(trace, 'utf8')
    const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1)
    t.true(whole.trimEnd().split('\n').every((l) => typeof (JSON.parse(l) as { pid: number }).pid === 'number'))
  } finally {
    execFileSync('umount', [mnt])
  }
})

test('a path that cannot be written: the app works, the failure is said once', async (t) => {
  const r = await runNode(app(3), { env: { PIDFD_TRACE: dir } }) // a directory
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'exits seen 3')
  t.is(said(r.stderr, /^pidfd: PIDFD_TRACE: cannot write .*: EISDIR; its lines are dropped$/), 1, r.stderr)
})

test('a regular file gets every line, in order, also when the app ends with process.exit() right after an exit', async (t) => {
  const trace = join(dir, 'plain.jsonl')
  const r = await runNode(`
    (async () => {
      for (let i = 0; i < 5; i++) await pidfd.spawn('sh', ['-c', 'exit ' + i], { stdio: 'ignore' }).exited;
      pidfd.spawnSync('sh', ['-c', 'exit 9']);
      process.exit(0);
    })();
  `, { env: { PIDFD_TRACE: trace } })
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  const codes = codesIn(trace)
  t.deepEqual(codes, [0, 1, 2, 3, 4, 9])
})

test("a line is not left to the thread pool: with the pool's one thread busy, process.exit() right after an exit still finds every line, in order", async (t) => {
  // The pool's only thread is kept busy (a long pbkdf2) once the file is open and holds the first
  // line. A line whose write waited in the pool would be lost at process.exit(), or land after the
  // lines behind it, when the pool drains at Node's exit.
  const trace = join(dir, 'pool.jsonl')
  const r = await runNode(`
    const { readFileSync } = require('node:fs');
    (async () => {
      await pidfd.spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' }).exited;
      while (!readFileSync(${JSON.stringify(trace)}, { encoding: 'utf8', flag: 'a+' }).includes('\\n')) await new Promise((r) => setImmediate(r));
      require('node:crypto').pbkdf2('x', 'y', 400_000, 32, 'sha256', () => {});
      await pidfd.spawn('sh', ['-c', 'exit 1'], { stdio: 'ignore' }).exited;
      pidfd.spawnSync('sh', ['-c', 'exit 9']);
      process.exit(0);
    })();
  `, { env: { PIDFD_TRACE: trace, UV_THREADPOOL_SIZE: '1' } })
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  const codes = codesIn(trace)
  t.deepEqual(codes, [0, 1, 9])
})

test("an open still waiting in the thread pool at process.exit() is made again there: every line, in order, none said dropped", async (t) => {
  // The pool's only thread is busy (a long pbkdf2) before the first line, so the file's open
  // waits behind it; the app exits before the pool gets to it.
  const trace = join(dir, 'open-at-exit.jsonl')
  const r = await runNode(`
    require('node:crypto').pbkdf2('x', 'y', 2_000_000, 32, 'sha256', () => {});
    (async () => {
      await pidfd.spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' }).exited;
      pidfd.spawnSync('sh', ['-c', 'exit 9']);
      process.exit(0);
    })();
  `, { env: { PIDFD_TRACE: trace, UV_THREADPOOL_SIZE: '1' } })
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  t.true(existsSync(trace), 'the file was made at the exit')
  const codes = codesIn(trace)
  t.deepEqual(codes, [0, 9])
})

test("each line's cwd is the one the child was spawned in, not the parent's; the parent's where none was given", async (t) => {
  const trace = join(dir, 'cwd.jsonl')
  // The app runs in `dir`; its children in /tmp (spawn, spawnSync) and where it runs (none given).
  const r = await runNode(`
    (async () => {
      await pidfd.spawn('true', [], { cwd: '/tmp', stdio: 'ignore' }).exited;
      pidfd.spawnSync('true', [], { cwd: '/tmp' });
      await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
    })();
  `, { env: { PIDFD_TRACE: trace }, cwd: dir })
  t.is(r.code, 0, r.stderr)
  const cwds = readFileSync(trace, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { cwd: string }).cwd)
  t.deepEqual(cwds, ['/tmp', '/tmp', dir])
})

test("a line holds the child's facts: its spawnargs up to 32, each up to 200 characters then '…', argvDropped the rest; a cwd and a program too long for a line are cut the same way", async (t) => {
  const trace = join(dir, 'facts.jsonl')
  // A cwd of about 4,000 bytes, which alone makes a line longer than a pipe takes whole (4,096).
  let deep = dir
  for (let i = 0; i < 19; i++) deep = join(deep, String(i).padEnd(200, 'd'))
  mkdirSync(deep, { recursive: true })
  // And a program by a path as long: a link to true in it.
  const program = join(deep, 'true')
  const truePath = existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true'
  symlinkSync(truePath, program)
  // A cwd and a program of about 400 bytes: longer than an argument may be, and the line still fits.
  const mid = join(dir, 'm'.repeat(200), 'n'.repeat(200))
  mkdirSync(mid, { recursive: true })
  const midProgram = join(mid, 'true')
  symlinkSync(truePath, midProgram)
  const r = await runNode(`
    const out = [];
    (async () => {
      const a = pidfd.spawn('sh', ['-c', 'exit 3', 'a'.repeat(200), 'b'.repeat(201)], { stdio: 'ignore' });
      out.push(a.pid); await a.exited;
      const b = pidfd.spawn('true', Array.from({ length: 40 }, (_, i) => 'x' + i), { stdio: 'ignore' });
      out.push(b.pid); await b.exited;
      const c = pidfd.spawn('sh', ['-c', 'sleep 0.1; kill -TERM $$'], { stdio: 'ignore' });
      out.push(c.pid); await c.exited;
      const d = pidfd.spawn(${JSON.stringify(program)}, ['y'], { stdio: 'ignore', cwd: ${JSON.stringify(deep)} });
      out.push(d.pid); await d.exited;
      const e = pidfd.spawn(${JSON.stringify(midProgram)}, Array.from({ length: 31 }, (_, i) => 'z' + i), { stdio: 'ignore', cwd: ${JSON.stringify(mid)} });
      out.push(e.pid); await e.exited;
      console.log(JSON.stringify({ pids: out, ppid: process.pid }));
    })();
  `, { env: { PIDFD_TRACE: trace } })
  t.is(r.code, 0, r.stderr)
  const { pids, ppid } = JSON.parse(r.stdout) as { pids: number[]; ppid: number }
  const lines = readFileSync(trace, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.is(lines.length, 5)
  for (const [i, line] of lines.entries()) {
    t.is(line.pid, pids[i])
    t.is(line.ppid, ppid)
    t.true(typeof line.wallMs === 'number' && line.wallMs >= 0 && line.wallMs < 60_000, String(line.wallMs))
    t.true(Math.abs(Date.parse(line.start as string) - Date.now()) < 120_000, String(line.start))
    t.is(typeof (line.rusage as { maxRSS: number }).maxRSS, 'number')
  }
  const [a, b, c, d, e] = lines
  // t.like compares an array's listed items only: the arguments are compared whole here.
  t.deepEqual(
    lines.map((l) => (l.argv as string[]).length),
    [5, 32, 3, 0, 32],
  )
  t.like(a, { file: 'sh', argv: ['sh', '-c', 'exit 3', 'a'.repeat(200), `${'b'.repeat(200)}…`], cwd: process.cwd(), code: 3, signal: null })
  t.false('argvDropped' in a!)
  t.like(b, { file: 'true', argv: ['true', ...Array.from({ length: 31 }, (_, i) => 'x' + i)], argvDropped: 9, code: 0 })
  t.like(c, { argv: ['sh', '-c', 'sleep 0.1; kill -TERM $$'], code: null, signal: 'SIGTERM' })
  // In ms, from spawn()'s return to the exit: about the 100 ms slept (the child starts a moment
  // before spawn() returns and the line's clock starts: 99.842 was seen on an idle machine).
  t.true((c!.wallMs as number) >= 90 && (c!.wallMs as number) < 10_000, String(c!.wallMs))
  // The arguments go first, then cwd and file are cut: the line fits in PIPE_BUF.
  t.like(d, { file: `${program.slice(0, 200)}…`, argv: [], argvDropped: 2, cwd: `${deep.slice(0, 200)}…`, code: 0 })
  t.true(Buffer.byteLength(JSON.stringify(d)) < 4096)
  // 32 spawnargs are all kept, none said dropped; a line that fits keeps its cwd and program
  // whole (only argv[0], the program as spawned, is an argument and cut).
  t.like(e, { file: midProgram, argv: [`${midProgram.slice(0, 200)}…`, ...Array.from({ length: 31 }, (_, i) => 'z' + i)], cwd: mid, code: 0 })
  t.false('argvDropped' in e!)
})

test('one descriptor per trace: lines that come while its open is under way wait for it, in order', async (t) => {
  const trace = join(dir, 'one-fd.jsonl')
  // Three spawnSync exits in one tick push three lines before the open (in the thread pool)
  // is done: a second open for them would leave two descriptors.
  const r = await runNode(`
    const fs = require('node:fs');
    const trace = ${JSON.stringify(trace)};
    for (let i = 0; i < 3; i++) pidfd.spawnSync('sh', ['-c', 'exit ' + i]);
    (async () => {
      for (let i = 3; i < 6; i++) await pidfd.spawn('sh', ['-c', 'exit ' + i], { stdio: 'ignore' }).exited;
      // The open may still be under way in the thread pool (a loaded machine): the descriptors
      // are counted once the six lines are in the file, which they reach only through it.
      const written = () => { try { return fs.readFileSync(trace, 'utf8').split('\\n').filter(Boolean).length } catch { return 0 } };
      for (const end = Date.now() + 30000; written() < 6 && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 10));
      const fds = fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === trace } catch { return false } });
      console.log(JSON.stringify(fds));
    })();
  `, { env: { PIDFD_TRACE: trace } })
  t.is(r.code, 0, r.stderr)
  const fds = JSON.parse(r.stdout) as string[]
  t.is(fds.length, 1, `descriptors open on the trace: ${fds.join(', ')}`)
  const codes = codesIn(trace)
  t.deepEqual(codes, [0, 1, 2, 3, 4, 5])
})

test('a line of exactly PIPE_BUF bytes (4,096 with its newline) is written whole; one byte more drops an argument to fit', async (t) => {
  const { traceExit } = await import('../lib/trace.js')
  const { spawn } = await import('../index.js')
  const { rusage } = await spawn('true', [], { stdio: 'ignore' }).exited
  const arg = 'a'.repeat(200)
  // The cwd's length is tuned around where the line comes to 4,096 bytes; wallMs varies in width
  // from call to call, so each line is measured as it would be whole (its arguments put back).
  const base = Buffer.byteLength(`${JSON.stringify({ pid: 1, ppid: process.pid, file: 'f', argv: [arg], cwd: '', start: new Date().toISOString(), wallMs: 0.001, code: 0, signal: null, rusage })}\n`)
  const seen = new Map<number, boolean>()
  for (let i = 0; i < 120 && !(seen.has(4096) && seen.has(4097)); i++) {
    const path = join(dir, `pipe-buf-${i}`)
    const cwd = `/${'c'.repeat(4096 - base - 1 + (i % 9) - 4)}`
    traceExit({ path, file: 'f', argv: [arg], cwd, startMs: Date.now(), t0: process.hrtime.bigint() }, 1, { code: 0, signal: null, rusage })
    const deadline = Date.now() + 5000
    while (!(existsSync(path) && readFileSync(path, 'utf8').endsWith('\n')) && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve))
    const text = readFileSync(path, 'utf8')
    const line = JSON.parse(text) as { argv: string[]; argvDropped?: number; cwd: string }
    t.is(line.cwd, cwd, 'the cwd kept whole: dropping the argument was enough')
    const whole = { ...line, argv: [arg] }
    delete whole.argvDropped
    const size = Buffer.byteLength(`${JSON.stringify(whole)}\n`)
    t.is(line.argvDropped === undefined, size <= 4096, `a line of ${size} bytes whole: ${line.argvDropped === undefined}`)
    t.true(Buffer.byteLength(text) <= 4096)
    seen.set(size, line.argvDropped === undefined)
  }
  t.is(seen.get(4096), true, 'a line of exactly 4,096 bytes was made, and kept whole')
  t.is(seen.get(4097), false, 'a line of 4,097 bytes was made, and its argument dropped')
})

test("a sink that does not keep up holds 1 MiB of lines and drops the rest: 256 lines of exactly 4,096 bytes, not one more or less", async (t) => {
  const fifo = join(dir, 'bound.fifo')
  execFileSync('mkfifo', [fifo])
  // The app reads the FIFO itself, only once all 300 lines are pushed (before the sink is even
  // open): 256 are held and written as it reads, 44 dropped. A t0 2^80 ns back makes wallMs the
  // same in every line (the difference rounds to 2^80 in a double), so every line has one size.
  const r = await runNode(`
    const fs = require('node:fs');
    const { traceExit } = require(${JSON.stringify(join(root, 'lib', 'trace.js'))});
    const reader = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const probe = ${JSON.stringify(join(dir, 'bound.probe'))};
    const start = (path, cwd) => ({ path, file: 'f', argv: [], cwd, startMs: 0, t0: process.hrtime.bigint() - 2n ** 80n });
    const until = async (ok) => { const end = Date.now() + 5000; while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 5)); };
    (async () => {
      const { rusage } = await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      const exit = { code: 0, signal: null, rusage };
      traceExit(start(probe, ''), 1, exit);
      await until(() => fs.existsSync(probe) && fs.readFileSync(probe, 'utf8').endsWith('\\n'));
      const cwd = 'c'.repeat(4096 - Buffer.byteLength(fs.readFileSync(probe, 'utf8')));
      for (let i = 0; i < 300; i++) traceExit(start(${JSON.stringify(fifo)}, cwd), 1, exit);
      let text = '';
      const buf = Buffer.alloc(65536);
      const lines = () => text.split('\\n').length - 1;
      await until(() => {
        for (;;) {
          try { const n = fs.readSync(reader, buf); if (n === 0) break; text += buf.toString('utf8', 0, n); } catch { break; }
        }
        return lines() >= 256;
      });
      const sizes = new Set(text.split('\\n').slice(0, -1).map((l) => Buffer.byteLength(l) + 1));
      console.log(JSON.stringify({ lines: lines(), sizes: [...sizes] }));
      process.exit(0);
    })();
  `)
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { lines: 256, sizes: [4096] })
  t.regex(r.stderr, /^pidfd: PIDFD_TRACE: 44 lines dropped: .*bound\.fifo did not take them$/m)
})

/**
 * An app that drives a sink directly, `body` run once it has an exit record with real rusage
 * (`exit`): `line(path, exit)` pushes a line whose cwd is `cwd`, `until(ok)` waits for a
 * condition (5 s at most) and says whether it holds, and `err` is what the app wrote to stderr.
 */
const sinkApp = (cwd: string, body: string) => `
    const fs = require('node:fs');
    const { traceExit } = require(${JSON.stringify(join(root, 'lib', 'trace.js'))});
    const line = (path, exit) => traceExit({ path, file: 'f', argv: [], cwd: ${JSON.stringify(cwd)}, startMs: 0, t0: process.hrtime.bigint() }, 1, exit);
    const until = async (ok) => { const end = Date.now() + 5000; while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 5)); return ok(); };
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk, ...rest) => { err += chunk; return write(chunk, ...rest) };
    (async () => {
      const { rusage } = await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      const exit = { code: 0, signal: null, rusage };
      ${body}
    })();`

test("a sink that failed starts afresh: lines it dropped no longer count against its 1 MiB (a FIFO's reader back after 300 lines of 4 KiB gets the next), its descriptor let go when a write is refused (EPIPE) and kept on a full device (ENOSPC)", async (t) => {
  const fifo = join(dir, 'back.fifo')
  execFileSync('mkfifo', [fifo])
  // Each step waits for what the sink says on stderr (once per sink) or for the line itself,
  // with a bound. Descriptors are counted in /proc/self/fd by the file they name.
  const r = await runNode(sinkApp('c'.repeat(3500), `
      const fifo = ${JSON.stringify(fifo)};
      const fdsOn = (path) => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === path } catch { return false } }).length;
      const out = {};
      // No reader: the open fails (ENXIO) and the 1 MiB of lines it held (the rest were past it)
      // are dropped.
      for (let i = 0; i < 300; i++) line(fifo, exit);
      out.refused = await until(() => /back\\.fifo: ENXIO/.test(err));
      // A reader comes: the next line is taken.
      const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      line(fifo, exit);
      const buf = Buffer.alloc(65536);
      let text = '';
      out.taken = await until(() => {
        try { const n = fs.readSync(reader, buf); text += buf.toString('utf8', 0, n) } catch {}
        return text.endsWith('\\n');
      });
      // The reader's and the sink's.
      out.open = fdsOn(fifo);
      // The reader goes: the next write is refused (EPIPE), and the sink lets go of the FIFO.
      fs.closeSync(reader);
      line(fifo, exit);
      out.afterEpipe = fdsOn(fifo);
      // And the line after that is opened for anew (no reader: dropped), not written anywhere.
      line(fifo, exit);
      // A full device: the write is refused (ENOSPC) and the descriptor kept.
      line('/dev/full', exit);
      out.full = await until(() => /dev\\/full: ENOSPC/.test(err));
      out.keptOnFull = fdsOn('/dev/full');
      console.log(JSON.stringify(out));
      process.exit(0);
  `))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { refused: true, taken: true, open: 2, afterEpipe: 0, full: true, keptOnFull: 1 })
})

test('at exit a sink with nothing left to write opens nothing: a trace file removed once its lines went out, or a FIFO removed once its sink failed, is not made again', async (t) => {
  const file = join(dir, 'gone.jsonl')
  const fifo = join(dir, 'gone.fifo')
  execFileSync('mkfifo', [fifo])
  const r = await runNode(sinkApp('/', `
      line(${JSON.stringify(file)}, exit);
      line(${JSON.stringify(fifo)}, exit);
      const written = await until(() => fs.existsSync(${JSON.stringify(file)}) && fs.readFileSync(${JSON.stringify(file)}, 'utf8').endsWith('\\n'));
      const refused = await until(() => /gone\\.fifo: ENXIO/.test(err));
      fs.unlinkSync(${JSON.stringify(file)});
      fs.unlinkSync(${JSON.stringify(fifo)});
      console.log(JSON.stringify({ written, refused }));
  `))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { written: true, refused: true })
  t.false(existsSync(file), 'the removed file made again at exit')
  t.false(existsSync(fifo), 'the removed FIFO made again (as a file) at exit')
})

runsIf(noStrace, 'the retry in strace')("a FIFO that is full is tried again on a timer only: lines pushed meanwhile wait for it, with no write of their own (strace)", async (t) => {
  const fifo = join(dir, 'full.fifo')
  execFileSync('mkfifo', [fifo])
  // The app holds the FIFO's read end and never reads: 40 lines of about 4 KiB fill it, and the
  // sink waits for its retry timer. Then five more lines are pushed in one go.
  const script = `const pidfd = require(${JSON.stringify(join(root, 'index.js'))});
    const fs = require('node:fs');
    const { traceExit } = require(${JSON.stringify(join(root, 'lib', 'trace.js'))});
    const reader = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const line = () => traceExit({ path: ${JSON.stringify(fifo)}, file: 'f', argv: [], cwd: 'c'.repeat(3500), startMs: 0, t0: process.hrtime.bigint() }, 1, exit);
    let exit;
    pidfd.spawn('true', [], { stdio: 'ignore' }).exited.then((e) => {
      exit = { code: 0, signal: null, rusage: e.rusage };
      for (let i = 0; i < 40; i++) line();
      // Until the FIFO is full (a byte of our own no longer fits; 10 s at most): the sink has
      // had its EAGAIN and waits for its retry.
      const probe = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      const end = Date.now() + 10000;
      (function look() {
        try {
          fs.writeSync(probe, 'x');
          if (Date.now() < end) return setTimeout(look, 10);
        } catch {}
        process.stderr.write('MARK0\\n');
        for (let i = 0; i < 5; i++) line();
        process.stderr.write('MARK1\\n');
        process.exit(0);
      })();
    });`
  const lines = await straceNode(script, ['write', 'writev'], { paths: true })
  const [from, to] = [markIn(lines, 0), markIn(lines, 1)]
  t.true(from >= 0 && to > from, 'both marks written')
  // The sink's writes are lines (`{`); the app's probe writes single bytes.
  const before = lines.slice(0, from).filter((l) => l.includes('full.fifo>, "{') && / = -1 EAGAIN/.test(l))
  t.true(before.length > 0, 'the FIFO was full for a line before the five lines came')
  t.deepEqual(lines.slice(from, to).filter((l) => l.includes('full.fifo>')), [], 'no write for the five lines pushed while a retry is due')
})

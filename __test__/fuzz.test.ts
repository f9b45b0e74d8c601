// Fuzz: property-based runs (fast-check) over every public entry point's arguments. The only
// outcomes are a result or a documented error: never a crash, a hang or a leaked descriptor.
// Runs inside a new pid namespace, so no signal can reach anything but the processes the run
// spawned itself. FUZZ_RUNS sets the runs per property (default 10,000).

import test from 'ava'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'

import { entry, runsIf, userNamespaces } from './helpers.js'

const runs = Number(process.env.FUZZ_RUNS ?? 10_000)
const fastCheck = createRequire(import.meta.url).resolve('fast-check')

const script = `
const fc = require(${JSON.stringify(fastCheck)});
const { readdirSync } = require('node:fs');
const pidfd = require(${JSON.stringify(entry)});
const runs = ${runs};
const fdList = () => readdirSync('/proc/self/fd').map((fd) => { try { return fd + ' ' + require('node:fs').readlinkSync('/proc/self/fd/' + fd) } catch { return fd } });
const fds = () => readdirSync('/proc/self/fd').length;
// Once every handle is released, the one pidfd left is the spawn helper's.
const pidfds = () => fdList().filter((f) => f.endsWith('anon_inode:[pidfd]')).length;
const documented = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_SYNC_FORK_INPUT', 'ERR_OUT_OF_RANGE', 'ERR_UNKNOWN_SIGNAL',
  'ERR_PIDFD_CLOSED', 'ERR_PIDFD_SELF', 'ERR_IPC_ONE_PIPE' /* two 'ipc' in stdio, as child_process */, 'ABORT_ERR', 'ESRCH', 'EINVAL', 'EBADF', 'EPERM', 'ENOENT', 'EACCES']);
// Before Node 25 child_process coerces uid and gid (\`value | 0\`): a Symbol or a BigInt throws
// V8's own TypeError there, and so does spawn (docs/api.md, Codes).
// An env value that cannot become a string (no prototype) throws V8's TypeError in child_process
// too (it builds KEY=value with a template); seen once in 10,000 random inputs.
const coercion = new Set(['Cannot convert a Symbol value to a number', 'Cannot mix BigInt and other types, use explicit conversions', 'Cannot convert object to primitive value']);
const uncoded = (err) => err instanceof TypeError && err.code === undefined && coercion.has(err.message);
const undocumented = [];
const note = (where, err) => { if (!documented.has(err && err.code) && !uncoded(err)) undocumented.push(where + ': ' + (err && (err.code || err.message) || String(err))); };
const settle = (sub) => new Promise((resolve) => {
  if (sub.pid === undefined) { sub.on('error', () => {}); sub.once('close', resolve); return; }
  sub.on('error', (e) => note('spawn error event', e));
  sub.exited.then(resolve, resolve);
});
const anyValue = fc.oneof(fc.anything(), fc.integer(), fc.double(), fc.string(), fc.constant(undefined), fc.constant(null), fc.bigInt());
(async () => {
  // Warm up what is opened once and kept: the watcher thread, the spawn helper, the channel, an
  // event-loop poll watcher, and libuv's spare descriptor (its first stream opens /dev/null).
  const warm = pidfd.spawn('true', [], { stdio: 'pipe' });
  for (const s of warm.stdio) s && s.resume && s.resume();
  await warm.pidfd.wait(); warm.pidfd.close();
  const cpChild = require('node:child_process').spawn('true', [], { stdio: 'ignore' });
  const watched = pidfd.AsyncPidFd.fromChild(cpChild); await watched.wait(); watched.close();
  // The watcher thread lets go of the warm-up's pidfds a moment after: counted from once it has
  // (up to 20 s), not after a fixed 100 ms.
  for (let i = 0; i < 1000 && pidfds() > 1; i++) await new Promise((r) => setTimeout(r, 20));
  const start = fds();
  const startList = fdList();
  const report = {};

  // fromPid: pids and options of every kind (pidfds of real processes are opened and closed,
  // never signalled).
  report.fromPid = 0;
  fc.assert(fc.property(fc.oneof(anyValue, fc.integer({ min: -10, max: 70000 })), fc.oneof(anyValue, fc.record({ reap: anyValue })), (pid, options) => {
    report.fromPid++;
    for (const open of [pidfd.PidFd.fromPid, pidfd.AsyncPidFd.fromPid]) {
      try { open(pid, options).close(); } catch (e) { note('fromPid', e); }
    }
  }), { numRuns: runs });

  // kill: every kind of signal, at a child of this run (respawned when one ends it).
  report.kill = 0;
  let target = pidfd.spawn('sleep', ['100'], { stdio: 'ignore' });
  const signal = fc.oneof(fc.constantFrom(...Object.keys(require('node:os').constants.signals)), fc.integer({ min: -5, max: 70 }), anyValue);
  for (const s of fc.sample(signal, runs)) {
    report.kill++;
    try { target.pidfd.kill(s); } catch (e) { note('pidfd.kill', e); }
    try { target.kill(s); } catch (e) { note('subprocess.kill', e); }
    if (target.pidfd.tryWait() !== null || target.signalCode !== null) {
      await target.exited;
      target.pidfd.close();
      target = pidfd.spawn('sleep', ['100'], { stdio: 'ignore' });
    }
  }
  target.kill('SIGKILL'); await target.exited; target.pidfd.close();

  // spawn: programs that cannot do harm (no shell, no random program that exists), and
  // arguments, env, stdio and options of every kind.
  report.spawn = 0;
  const file = fc.oneof(fc.constantFrom('true', 'false', '/nonexistent/pidfd-fuzz', '', '/etc/passwd'), fc.string().map((s) => 'pidfd-fuzz-' + s), anyValue);
  const stdioEntry = fc.oneof(fc.constantFrom('pipe', 'ignore', 'inherit', 'overlapped', 'ipc', 'bogus'), fc.integer({ min: -3, max: 300 }), anyValue);
  const options = fc.oneof(anyValue, fc.record({
    cwd: fc.oneof(fc.constantFrom('/', '/tmp', '/nonexistent'), anyValue),
    env: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant(undefined), anyValue)), anyValue),
    argv0: anyValue,
    stdio: fc.oneof(fc.constantFrom('pipe', 'ignore', 'inherit'), fc.array(stdioEntry, { maxLength: 6 }), anyValue),
    detached: anyValue, uid: fc.oneof(fc.integer({ min: -2, max: 70000 }), anyValue), gid: fc.oneof(fc.integer({ min: -2, max: 70000 }), anyValue),
    timeout: fc.oneof(fc.integer({ min: -5, max: 50 }), anyValue), killSignal: anyValue, signal: anyValue, windowsHide: anyValue,
  }, { requiredKeys: [] }));
  for (const [f, args, o] of fc.sample(fc.tuple(file, fc.oneof(fc.array(fc.oneof(fc.string(), anyValue), { maxLength: 4 }), anyValue), options), runs)) {
    report.spawn++;
    let sub;
    try { sub = pidfd.spawn(f, args, o); } catch (e) { note('spawn', e); continue; }
    for (const s of sub.stdio) if (s) { s.on('error', () => {}); s.resume?.(); s.end?.(); }
    await settle(sub);
    sub.pidfd.close();
  }

  // wait options, getFd, namespace, info on handles of this run.
  report.handles = 0;
  const done = pidfd.spawn('true', [], { stdio: 'ignore' });
  await done.exited;
  const self = pidfd.AsyncPidFd.self();
  for (const [a, b] of fc.sample(fc.tuple(anyValue, fc.oneof(anyValue, fc.record({ signal: anyValue, timeout: fc.oneof(fc.integer({ min: -5, max: 5 }), anyValue) }))), runs)) {
    report.handles++;
    try { await done.pidfd.wait(b); } catch (e) { note('wait', e); }
    try { const fd = self.getFd(a); require('node:fs').closeSync(fd); } catch (e) { note('getFd', e); }
    try { const fd = self.namespace(a); require('node:fs').closeSync(fd); } catch (e) { note('namespace', e); }
    try { done.pidfd.info(); } catch (e) { note('info', e); }
  }
  self.close(); done.pidfd.close();

  // Until the count is back (watchers close on their own thread), up to 20 s: not a fixed 300 ms,
  // which a busy machine can outlast. A descriptor leaked stays, and is reported.
  for (let i = 0; i < 1000 && fds() !== start; i++) await new Promise((r) => setTimeout(r, 20));
  report.fdsStart = start; report.fdsEnd = fds();
  if (report.fdsEnd !== start) report.fdsDiff = fdList().filter((f) => !startList.includes(f));
  report.undocumented = [...new Set(undocumented)].slice(0, 20);
  console.log(JSON.stringify(report));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1) });
`

runsIf(userNamespaces, 'fuzz')(`fuzz: ${runs} runs per entry point, inside a pid namespace`, async (t) => {
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'unshare',
      ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', process.execPath, '-e', script],
      { timeout: 1_200_000, maxBuffer: 16 << 20 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    )
  })
  t.is(run.code, 0, run.stderr.slice(-2000))
  const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
  t.log(JSON.stringify(r))
  for (const key of ['fromPid', 'kill', 'spawn', 'handles']) t.true((r[key] as number) >= runs, key)
  t.deepEqual(r.undocumented, [])
  t.is(r.fdsEnd, r.fdsStart)
})

// spawn() under faults of its helper: stopped, killed at each step of a spawn, sent the
// terminal's signals. Each run is a fresh Node (its own session, so signals to its group reach
// nobody else) whose spawn helper stops itself at a named step (a test hook, testHooks); this test
// process injects the fault from outside, as a stuck spawn blocks that Node's JS thread.
// Each case checks: the call returned within the deadline, the program ran exactly once (or,
// where it reports an error, not at all), Node has no zombie child, and its descriptors are
// back where they were.

import test, { type ExecutionContext } from 'ava'
import { spawn as cpSpawn } from 'node:child_process'
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import { entry, procState, root, runNode, sleep, tempDir, testHooks, until } from './helpers.js'

const DEADLINE_MS = 1000
// The deadline where a test shows the call did not wait for it: a spawn that recovers at once
// stays far below it on a busy machine too, and one that waited for it would take all of it.
const LONG_DEADLINE_MS = 10_000

/** The pids of `parent`'s children, with their one-letter state. */
function childrenOf(parent: number): Array<{ pid: number; state: string }> {
  const out = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(ppid) === parent) out.push({ pid: Number(name), state: state! })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** The script the Node under test runs: warm up, report, spawn on 'go', report what happened. */
const SCRIPT = `
const pidfd = require(${JSON.stringify(entry)});
const binding = require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding;
const fs = require('node:fs');
const marker = process.env.MARKER;
const fds = () => fs.readdirSync('/proc/self/fd').length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = () => { try { return fs.readFileSync(marker, 'utf8').split('\\n').filter(Boolean).length } catch { return 0 } };
const children = (only) => fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).filter((d) => {
  try {
    const st = fs.readFileSync('/proc/' + d + '/stat', 'utf8');
    const [state, ppid] = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (only === undefined || state === only) && Number(ppid) === process.pid;
  } catch { return false }
}).map(Number);
const zombies = () => children('Z');
(async () => {
  await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
  const helper = binding.spawnHelperPid();
  console.log(JSON.stringify({ ready: true, helper }));
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();
  // The test's deadline for this spawn only: the helper's start above and the spawn after the
  // fault (which may start another) have the usual one, which a loaded machine needs.
  // PAUSE_NEXT: where the next helper started (the one that replaces this) stops itself.
  binding.setTestHooks(process.env.PAUSE_NEXT || null, DEADLINE);
  const before = fds();
  const t0 = performance.now();
  let sub = null, error = null, exit = null;
  try {
    sub = process.env.PROGRAM
      ? pidfd.spawn(process.env.PROGRAM, ['a'], { stdio: 'ignore' })
      : pidfd.spawn('sh', ['-c', 'echo ran >> "$MARKER"', ...(process.env.BIG_ARG ? ['x'.repeat(Number(process.env.BIG_ARG))] : [])], { stdio: 'ignore' });
  } catch (e) { error = e }
  const ms = performance.now() - t0;
  if (sub) {
    error = await new Promise((r) => { sub.once('error', r); sub.exited.then(() => r(null), () => {}) });
    if (!error) exit = await sub.exited;
  }
  // Time for a second run to show, and for the package to reap what it killed.
  await sleep(300);
  for (let i = 0; i < 100 && zombies().length; i++) await sleep(20);
  binding.setTestHooks(null, null);
  const next = await pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' }).exited;
  console.log(JSON.stringify({
    ms, error: error && { code: error.code, errno: error.errno, syscall: error.syscall, message: error.message, path: error.path, spawnargs: error.spawnargs && error.spawnargs.map((a) => (a.length > 100 ? a.length + ' bytes' : a)) },
    code: exit && exit.code, runs: lines(), zombies: zombies(), before, after: fds(),
    others: children().filter((pid) => pid !== binding.spawnHelperPid()),
    helperBefore: helper, helperAfter: binding.spawnHelperPid(), next: next.code,
  }));
  process.exit(0);
})();
`

interface Ctx {
  node: number
  helper: number
  /** Waits for a stopped child of the Node under test (the helper, or the child it cloned). */
  stopped(which: (pid: number) => boolean): Promise<number>
}

interface Result {
  ms: number
  error: { code: string; errno: number; syscall: string; message: string; path?: string; spawnargs?: string[] } | null
  code: number | null
  runs: number
  zombies: number[]
  /** Node's children other than the helper now running. */
  others: number[]
  before: number
  after: number
  helperBefore: number
  helperAfter: number
  next: number
}

/** Runs SCRIPT with the helper pausing at `pause`; `beforeGo` and `afterGo` inject the fault. */
async function scenario(
  t: ExecutionContext,
  pause: string | undefined,
  inject: { beforeGo?: (c: Ctx) => Promise<void>; afterGo?: (c: Ctx) => Promise<void> },
  /** `PROGRAM`: spawn that (with one argument, 'a') instead of the script that marks its run. */
  extraEnv: Record<string, string> = {},
  deadlineMs = DEADLINE_MS,
): Promise<Result> {
  const dir = tempDir('pidfd-faults-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    MARKER: join(dir, 'marker'),
    ...extraEnv,
  }
  const script = `${testHooks({ pause })}const DEADLINE = ${deadlineMs};\n${SCRIPT}`
  const node = cpSpawn(process.execPath, ['-e', script], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (node.exitCode === null) node.kill('SIGKILL')
  })
  let stderr = ''
  node.stderr.on('data', (d) => (stderr += d))
  const lines = createInterface({ input: node.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error(`no ready line: ${stderr}`)
  const { helper } = JSON.parse(first.value) as { helper: number }
  const ctx: Ctx = {
    node: node.pid!,
    helper,
    async stopped(which) {
      for (let i = 0; i < 500; i++) {
        const hit = childrenOf(node.pid!).find((c) => c.state === 'T' && which(c.pid))
        if (hit) return hit.pid
        await sleep(10)
      }
      throw new Error('nothing stopped')
    },
  }
  await inject.beforeGo?.(ctx)
  node.stdin.write('go\n')
  await inject.afterGo?.(ctx)
  const last = await lines.next()
  if (last.done) throw new Error(`no result: ${stderr}`)
  const result = JSON.parse(last.value) as Result
  t.log(JSON.stringify(result))
  return result
}

/** Kills the helper once it has stopped itself at its pause. */
const killStoppedHelper = {
  async afterGo(c: Ctx) {
    await c.stopped((pid) => pid === c.helper)
    process.kill(c.helper, 'SIGKILL')
  },
}

/** The spawn succeeded, and its program ran exactly once. */
function ranOnce(t: ExecutionContext, r: Result): void {
  t.is(r.error, null)
  t.is(r.code, 0)
  t.is(r.runs, 1)
}

/** What holds after every fault: no zombie, descriptors as before, and spawn works again. */
function healthy(t: ExecutionContext, r: Result): void {
  t.deepEqual(r.zombies, [], 'no zombie child of Node')
  t.deepEqual(r.others, [], 'no child of Node left but the helper')
  // None left open (Node 24 may close one of its own start-up descriptors meanwhile).
  t.true(r.after <= r.before, `descriptors: ${r.before} before, ${r.after} after`)
  t.is(r.next, 7, 'the next spawn works')
  t.true(r.helperAfter > 0, 'a helper runs again')
}

test('the pause hook takes request, exec or reply, each with an optional :N; any other step or count is refused', async (t) => {
  // In a Node of its own: a hook taken here would pause this process's next helper.
  const run = await runNode(`
    const native = require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding;
    const tried = {};
    for (const pause of ['request', 'exec', 'reply', 'request:2', 'exec:1', 'reply:3', 'bogus', 'bogus:2', 'exec:x', 'reply:', 'execs']) {
      try { native.setTestHooks(pause, null); tried[pause] = 'taken' } catch (e) { tried[pause] = e.message }
    }
    native.setTestHooks(null, null);
    console.log(JSON.stringify(tried));
  `)
  t.is(run.code, 0, run.stderr)
  const refused = (pause: string) => `pause: '${pause}' is not request|exec|reply[:N]`
  t.deepEqual(JSON.parse(run.stdout), {
    request: 'taken',
    exec: 'taken',
    reply: 'taken',
    'request:2': 'taken',
    'exec:1': 'taken',
    'reply:3': 'taken',
    bogus: refused('bogus'),
    'bogus:2': refused('bogus:2'),
    'exec:x': refused('exec:x'),
    'reply:': refused('reply:'),
    execs: refused('execs'),
  })
})

test('a stopped helper: spawn returns after the deadline, on a new helper, and runs the program once', async (t) => {
  const r = await scenario(t, undefined, {
    async beforeGo(c) {
      process.kill(c.helper, 'SIGSTOP')
      await c.stopped((pid) => pid === c.helper)
    },
  })
  ranOnce(t, r)
  t.true(r.ms >= DEADLINE_MS * 0.9 && r.ms < DEADLINE_MS + 5000, `spawn took ${r.ms} ms`)
  t.not(r.helperAfter, r.helperBefore)
  healthy(t, r)
})

for (const [bigArg, what] of [[0, 'did not answer'], [1_000_000, 'did not take a request']] as const) {
  test(`a stopped helper, and the one that replaces it stopped too: the call fails with ETIMEDOUT after two deadlines, not a third helper, and nothing runs (${bigArg ? 'a request larger than the socket buffer: it' : 'it'} ${what})`, async (t) => {
    const r = await scenario(
      t,
      undefined,
      {
        async beforeGo(c) {
          process.kill(c.helper, 'SIGSTOP')
          await c.stopped((pid) => pid === c.helper)
        },
      },
      { PAUSE_NEXT: 'request', ...(bigArg ? { BIG_ARG: String(bigArg) } : {}) },
    )
    t.like(r.error, { code: 'ETIMEDOUT', errno: -110, syscall: 'spawn sh' })
    t.is(r.error!.message, `spawn sh ETIMEDOUT (the spawn helper ${what} for 1000 ms)`)
    t.is(r.runs, 0)
    t.true(r.ms >= 2 * DEADLINE_MS * 0.9, `spawn took ${r.ms} ms`)
    t.not(r.helperAfter, r.helperBefore)
    healthy(t, r)
  })
}

test('the helper killed before it reads the request: the request goes to a new helper, once', async (t) => {
  const r = await scenario(t, 'request:2', killStoppedHelper, {}, LONG_DEADLINE_MS)
  ranOnce(t, r)
  t.true(r.ms < LONG_DEADLINE_MS, `spawn took ${r.ms} ms`)
  t.not(r.helperAfter, r.helperBefore)
  healthy(t, r)
})

test('the helper killed after the clone, before the child execs: the child is adopted and runs once', async (t) => {
  const r = await scenario(t, 'exec:2', {
    async afterGo(c) {
      const child = await c.stopped((pid) => pid !== c.helper)
      process.kill(c.helper, 'SIGKILL')
      await sleep(50)
      process.kill(child, 'SIGCONT')
    },
  }, {}, LONG_DEADLINE_MS)
  ranOnce(t, r)
  t.true(r.ms < LONG_DEADLINE_MS, `spawn took ${r.ms} ms`)
  healthy(t, r)
})

test('a child stuck before its exec past the deadline is killed, the call fails with ETIMEDOUT, and nothing runs', async (t) => {
  const r = await scenario(t, 'exec:2', {})
  t.is(r.error?.code, 'ETIMEDOUT')
  t.is(r.error?.errno, -110)
  // Emitted, as child_process emits what the OS says, with the package's detail.
  t.is(r.error?.syscall, 'spawn sh')
  t.regex(r.error?.message ?? '', /^spawn sh ETIMEDOUT \(.*1000 ms.*\)$/)
  t.is(r.runs, 0)
  t.true(r.ms >= DEADLINE_MS * 0.9 && r.ms < DEADLINE_MS + 5000, `spawn took ${r.ms} ms`)
  healthy(t, r)
})

test('the helper killed after the child exec\'d, before its reply: the child is adopted, ran once', async (t) => {
  const r = await scenario(t, 'reply:2', killStoppedHelper, {}, LONG_DEADLINE_MS)
  ranOnce(t, r)
  t.true(r.ms < LONG_DEADLINE_MS, `spawn took ${r.ms} ms`)
  healthy(t, r)
})

test('the helper killed after its child failed to exec, before its reply: the spawn still fails with ENOENT as child_process\'s, not a child that exited 127', async (t) => {
  const program = 'pidfd-no-such-program'
  // What child_process says of the same spawn.
  const theirs = await new Promise<Record<string, unknown>>((resolve) => {
    cpSpawn(program, ['a'], { stdio: 'ignore' }).on('error', (e: NodeJS.ErrnoException & { path?: string; spawnargs?: string[] }) =>
      resolve({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message, path: e.path, spawnargs: e.spawnargs }),
    )
  })
  const r = await scenario(t, 'reply:2', killStoppedHelper, { PROGRAM: program }, LONG_DEADLINE_MS)
  t.deepEqual(r.error, theirs)
  t.is(r.code, null, 'no exit is reported for a program that never ran')
  t.true(r.ms < LONG_DEADLINE_MS, `spawn took ${r.ms} ms`)
  t.not(r.helperAfter, r.helperBefore)
  healthy(t, r)
})

test('the helper survives the terminal\'s signals sent to the whole process group; children still start with default dispositions and an empty mask', async (t) => {
  const signals = ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTERM', 'SIGPIPE', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1']
  const script = `
    const pidfd = require(${JSON.stringify(entry)});
    const binding = require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding;
    const { text } = require('node:stream/consumers');
    for (const s of ${JSON.stringify(signals)}) process.on(s, () => {});
    (async () => {
      await pidfd.spawn('true').exited;
      const helper = binding.spawnHelperPid();
      for (const s of ${JSON.stringify(signals)}) process.kill(0, s);
      await new Promise((r) => setTimeout(r, 200));
      // grep reads its own status (a shell would reset its mask at start, hiding the helper's).
      const sub = pidfd.spawn('grep', ['-E', '^Sig(Blk|Ign)', '/proc/self/status']);
      const out = await text(sub.stdout);
      const exit = await sub.exited;
      console.log(JSON.stringify({ helper, after: binding.spawnHelperPid(), out, code: exit.code }));
    })();
  `
  const node = cpSpawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  node.stdout.on('data', (d) => (out += d))
  node.stderr.on('data', (d) => (err += d))
  const code = await new Promise((resolve) => node.on('close', resolve))
  t.is(code, 0, err)
  const r = JSON.parse(out) as { helper: number; after: number; out: string; code: number }
  t.is(r.after, r.helper, 'the same helper still runs')
  // It reads EOF once Node is gone, and ends.
  t.true(await until(() => procState(r.helper) === null || procState(r.helper) === 'Z', 5000), 'and ends with Node')
  t.is(r.code, 0)
  t.is(r.out, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n')
})

test('two threads spawning while the helper is stuck: the one queued behind waits no longer than its own deadline', async (t) => {
  // Whichever thread reaches the helper first holds it for the deadline and then the drain (a
  // quarter of it: its child is stopped before exec); the other gives up at its own deadline.
  // The two are told apart halfway through the drain, with a deadline of 4 s here so that a
  // loaded machine has 500 ms either side.
  const deadline = 4 * DEADLINE_MS
  const between = deadline * 1.125
  const attempt = `
    const t0 = performance.now();
    const sub = pidfd.spawn('true', [], { stdio: 'ignore' });
    const ms = performance.now() - t0;
    const result = new Promise((r) => {
      sub.once('error', (e) => r(e.message));
      sub.once('spawn', () => { sub.kill('SIGKILL'); r('ok') });
    });
  `
  const script = `${testHooks({ pause: 'exec:2', deadlineMs: deadline })}
    const { Worker } = require('node:worker_threads');
    const pidfd = require(${JSON.stringify(entry)});
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(\`
      const { workerData, parentPort } = require('node:worker_threads');
      const pidfd = require(${JSON.stringify(entry)});
      Atomics.wait(workerData, 0, 0);
      ${attempt}
      result.then((result) => parentPort.postMessage({ ms, result }));
    \`, { eval: true, workerData: flag });
    worker.once('online', async () => {
      await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      await new Promise((r) => setTimeout(r, 50));
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      ${attempt}
      worker.once('message', async (w) => { console.log(JSON.stringify([{ ms, result: await result }, w])); process.exit(0) });
    });
  `
  const node = cpSpawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  node.stdout.on('data', (d) => (out += d))
  node.stderr.on('data', (d) => (err += d))
  await new Promise((resolve) => node.on('close', resolve))
  t.truthy(out, err)
  const both = JSON.parse(out) as Array<{ ms: number; result: string }>
  t.log(JSON.stringify(both))
  const stuck = both.find((r) => r.result.includes('had not reached exec'))
  const queued = both.find((r) => r !== stuck)
  t.truthy(stuck, 'one call met the stopped child')
  t.true(stuck!.ms > between, `it held the helper for ${stuck!.ms} ms`)
  t.true(queued!.ms < between, `the other waited ${queued!.ms} ms`)
  t.regex(queued!.result, new RegExp(`^(ok|spawn true ETIMEDOUT \\(the spawn helper was busy with another spawn for ${deadline} ms\\))$`))
})

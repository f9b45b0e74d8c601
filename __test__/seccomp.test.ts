// spawn() and kill() under real seccomp filters, as container runtimes install them: a small C
// wrapper (fixtures/seccomp-run.c, built here with the C compiler the build already needs)
// installs a raw BPF filter and execs Node.

import test, { type ExecutionContext } from 'ava'
import { execFile, type ExecFileException } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'

import { buildFixture, childProcessApp, entry, kernelAtLeast, root, tempDir } from './helpers.js'

const EPERM = 1
const ENOSYS = 38
const dir = tempDir('pidfd-seccomp-')
const wrapper = join(dir, 'seccomp-run')
const built = buildFixture('seccomp-run', wrapper)
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

type Run = { code: number | null; stdout: string; stderr: string }

/** A run's exit code (null: none), and where there is none, why, after its stderr. */
function outcome(err: ExecFileException | null, stdout: string, stderr: string): Run {
  const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
  const why = code === null ? `\n[no exit code: error ${String(err?.code)}, signal ${err?.signal}, ended by the timeout: ${err?.killed}: ${err?.message.split('\n')[0]}]` : ''
  return { code, stdout, stderr: stderr + why }
}

/** Runs `script` (with `pidfd` and `native` loaded) in a Node under the filter `rules`. */
function underFilter(rules: string[], script: string, env: Record<string, string> = {}): Promise<Run> {
  const code = `const pidfd = require(${JSON.stringify(entry)}); const native = require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding;\n${script}`
  return new Promise((resolve) => {
    execFile(wrapper, [...rules, '--', process.execPath, '-e', code], { timeout: 20_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve(outcome(err, stdout, stderr))
    })
  })
}

const check = built === null ? test : test.skip
if (built) console.log(`seccomp tests skipped: ${built}`)

/** Two spawns from a parent holding 200 MB: their codes, maxRSS and the helper's pid after each. */
const TWO_SPAWNS = `
const hold = Buffer.alloc(200 * 1024 * 1024, 1);
(async () => {
  const a = await pidfd.spawn('sh', ['-c', 'exit 5'], { stdio: 'ignore' }).exited;
  const helperA = native.spawnHelperPid();
  const b = await pidfd.spawn('sh', ['-c', 'exit 6'], { stdio: 'ignore' }).exited;
  console.log(JSON.stringify({ codes: [a.code, b.code], maxRSS: [a.rusage.maxRSS, b.rusage.maxRSS], helpers: [helperA, native.spawnHelperPid()], supported: pidfd.isSupported(), held: hold[5] }));
})();
`

check('clone with CLONE_PIDFD refused (EPERM): the helper clones without it and Node opens the pidfd; maxRSS stays the child\'s own', async (t) => {
  const run = await underFilter([`clone/pidfd=${EPERM}`], TWO_SPAWNS)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.codes, [5, 6])
  t.true(r.supported)
  for (const kib of r.maxRSS) t.true(kib < 10 * 1024, `maxRSS ${kib} KiB`)
  t.true(r.helpers[0] > 0)
  t.is(r.helpers[1], r.helpers[0], 'one helper serves both')
})

check('clone3 refused (ENOSYS) too, as container profiles do: the same', async (t) => {
  const run = await underFilter([`clone3=${ENOSYS}`, `clone/pidfd=${EPERM}`], TWO_SPAWNS)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.codes, [5, 6])
  for (const kib of r.maxRSS) t.true(kib < 10 * 1024, `maxRSS ${kib} KiB`)
})

check('clone with CLONE_PARENT refused: spawn goes in-process (as PIDFD_SPAWN_HELPER=0 does) and remembers it', async (t) => {
  const run = await underFilter([`clone/parent=${EPERM}`], TWO_SPAWNS)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.codes, [5, 6])
  t.deepEqual(r.helpers, [null, null], 'no helper is started again once refused')
  // In-process, the kernel counts the parent's memory, as for child_process.
  for (const kib of r.maxRSS) t.true(kib >= 200 * 1024, `maxRSS ${kib} KiB`)
})

check('clone with CLONE_PARENT refused with ENOSYS (not EPERM): the same in-process fallback, remembered', async (t) => {
  const run = await underFilter([`clone/parent=${ENOSYS}`], TWO_SPAWNS)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.codes, [5, 6])
  t.true(r.supported)
  t.deepEqual(r.helpers, [null, null], 'no helper is started again once refused')
  for (const kib of r.maxRSS) t.true(kib >= 200 * 1024, `maxRSS ${kib} KiB`)
})

check('pidfd_send_signal refused: kill() and the timeout option still end a spawned child (by pid, while it is unreaped)', async (t) => {
  const run = await underFilter(
    [`pidfd_send_signal=${EPERM}`],
    `
    const cp = require('node:child_process');
    (async () => {
      const a = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
      const killed = a.kill('SIGTERM');
      const ea = await a.exited;
      const b = pidfd.spawn('sleep', ['30'], { stdio: 'ignore', timeout: 100 });
      const eb = await b.exited;
      // A process the package did not spawn has only its pidfd to be signalled through.
      const other = cp.spawn('sleep', ['30']);
      let foreign = null;
      try { pidfd.PidFd.fromPid(other.pid).kill('SIGTERM') } catch (e) { foreign = e.code }
      other.kill('SIGKILL');
      console.log(JSON.stringify({ killed, a: ea.signal, b: eb.signal, sendSignal: pidfd.features().sendSignal, foreign }));
    })();
  `,
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { killed: true, a: 'SIGTERM', b: 'SIGTERM', sendSignal: false, foreign: 'ERR_PIDFD_UNSUPPORTED' })
})

check('a refusal found while descriptors ran out is not hidden: once they are back, features() reports it', async (t) => {
  const run = await underFilter(
    [`pidfd_send_signal=${EPERM}`],
    `
    const fs = require('node:fs');
    const held = [];
    try { for (;;) held.push(fs.openSync('/dev/null', 'r')) } catch {}
    const during = pidfd.features().sendSignal;
    for (const fd of held) fs.closeSync(fd);
    console.log(JSON.stringify({ during, after: pidfd.features().sendSignal, again: pidfd.features().sendSignal }));
  `,
  )
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.is(r.after, false)
  t.is(r.again, false)
  t.log(`while out of descriptors, features() said sendSignal: ${r.during} (not remembered)`)
})

check('epoll_wait refused (EPERM), epoll_pwait allowed, as a profile traced from Node: the watcher thread waits with epoll_pwait, every exit arrives, and idle it sleeps (no timeout)', async (t) => {
  // With the event loop's own paths off, each exit reaches JavaScript through the watcher
  // thread alone: a spawned child's, and one of a process this Node did not start.
  const run = await underFilter(
    [`epoll_wait=${EPERM}`],
    `(async () => {
      const a = await pidfd.spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' }).exited;
      // The grandchild ends when told, by a line on the pipe at its fd 3, once its pidfd is open.
      const sh = require('node:child_process').spawn('sh', ['-c', 'sh -c "read line <&3" & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
      const pid = await new Promise((r) => sh.stdout.once('data', (d) => r(Number(String(d).trim()))));
      const waiting = pidfd.AsyncPidFd.fromPid(pid).wait();
      sh.stdio[3].end('go\\n');
      const b = await waiting;
      // Then, with nothing left to watch, the thread sleeps until an exit: its wake-ups over
      // half a second (a window, for a negative claim: a stall only lowers the count).
      const fs = require('node:fs');
      const tid = fs.readdirSync('/proc/self/task').find((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'pidfd-watch');
      const switches = () => Number(/^voluntary_ctxt_switches:\\s+(\\d+)/m.exec(fs.readFileSync('/proc/self/task/' + tid + '/status', 'utf8'))[1]);
      const before = switches();
      setTimeout(() => console.log(JSON.stringify([a.code, b.code, switches() - before])), 500);
    })();`,
    { PIDFD_LOOP_PEEK: '0', PIDFD_LOOP_REAP: '0' },
  )
  t.is(run.code, 0, run.stderr)
  const [a, b, wakeups] = JSON.parse(run.stdout) as number[]
  t.deepEqual([a, b], [4, 0])
  t.true(wakeups! < 10, `the idle watcher thread woke ${wakeups} times in 500 ms`)
  t.notRegex(run.stderr, /panicked/)
})

// Subreaper.reap() looks at each orphan with waitid first. ECHILD there means another waiter of
// this process took it between the listing and the look (a race no test can place), so the
// filter gives that answer instead: the orphan is passed over. Any other refusal is an error.
const ECHILD = 10
check('Subreaper.reap(): an orphan that waitid says is not a child (ECHILD, taken meanwhile) is passed over; another refusal (EPERM) is an error naming waitid, thrown by reap() but not from its SIGCHLD listener', async (t) => {
  const script = `
    const tree = pidfd.Subreaper.start();
    // The SIGCHLD of sh's exit comes to the Subreaper's listener, which reaps too, and then to
    // this one: the listener must not throw what the refusal makes it meet (the app would end).
    // (A signal listener does not keep Node up: the interval does, until the signal.)
    const keep = setInterval(() => {}, 1000);
    const signalled = new Promise((resolve) => process.once('SIGCHLD', resolve)).then(() => clearInterval(keep));
    const pid = Number(require('node:child_process').execFileSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }));
    let result;
    try { result = tree.reap() } catch (e) { result = e.code + ' ' + e.syscall }
    const listed = native.orphans().includes(pid);
    signalled.then(() => {
      process.kill(pid, 'SIGKILL');
      tree.stop();
      console.log(JSON.stringify({ result, listed }));
    });`
  for (const [errno, expected] of [
    [ECHILD, 0],
    [EPERM, 'EPERM waitid'],
  ] as const) {
    const run = await underFilter([`waitid=${errno}`], script)
    t.is(run.code, 0, run.stderr)
    t.deepEqual(JSON.parse(run.stdout), { result: expected, listed: true }, `waitid=${errno}`)
  }
})

check('pidfd_open refused: every capability that works through a pidfd is off, those the kernel version says included (reapWakeup, infoExit); only cloneIntoCgroup stays', async (t) => {
  const run = await underFilter([`pidfd_open=${EPERM}`], 'console.log(JSON.stringify(pidfd.features()))')
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), {
    pidfdOpen: false,
    waitidPidfd: false,
    pidfdNonblock: false,
    sendSignal: false,
    getFd: false,
    getInfo: false,
    infoExit: false,
    namespaces: false,
    reapWakeup: false,
    cloneIntoCgroup: kernelAtLeast(5, 7),
  })
})

check('pidfd wait where a seccomp filter refuses waitid: the error, exit 1, not a timeout', async (t) => {
  const sleeper = execFile('sleep', ['30'])
  t.teardown(() => sleeper.kill('SIGKILL'))
  const run = await new Promise<Run>((resolve) => {
    execFile(wrapper, [`waitid=${EPERM}`, '--', process.execPath, join(root, 'bin', 'pidfd.js'), 'wait', '--timeout', '60s', String(sleeper.pid)], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve(outcome(err, stdout, stderr)),
    )
  })
  t.is(run.code, 1, run.stdout + run.stderr)
  t.is(run.stdout, '')
  t.regex(run.stderr, /^pidfd: .*needs Linux 5\.4 \(waitidPidfd\), which this kernel does not offer \(or a seccomp filter refuses\)\n$/)
})

check("poll refused with an errno it has no fallback for (EINVAL): the wait on a process not ours rejects with that system error, naming poll, and never hangs", async (t) => {
  // A grandchild that its own parent, a shell, reaps: waitid says it is not our child, so the
  // wait asks poll(2) whether it has been reaped yet. EPERM and ENOSYS there fall back to epoll;
  // an errno no profile is known to give is the wait's error.
  const EINVAL = 22
  const run = await underFilter([`poll=${EINVAL}`], `
    const cp = require('node:child_process');
    // The sleep runs until it is killed once its handle is open (sh's wait would reap one that
    // ended first, and the open would find no process).
    const sh = cp.spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    sh.stdout.once('data', (d) => {
      const handle = pidfd.AsyncPidFd.fromPid(Number(String(d).trim()));
      process.kill(Number(String(d).trim()));
      handle.wait().then(
        (exit) => console.log(JSON.stringify({ exit })),
        (e) => console.log(JSON.stringify({ error: [e.name, e.code, e.errno, e.syscall, e.message] })),
      );
    });
  `)
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { error: ['Error', 'EINVAL', -22, 'poll', 'poll EINVAL'] })
})

/**
 * Runs `script` under `rules` twice, each in a Node of its own: with SPAWN as child_process's spawn,
 * then as the package's; what each printed. Apart, not in one Node: where child_process's spawn
 * fails before its fork (socketpair refused), libuv 1.52 (Node 24 and 26) takes the process
 * handle out of the loop's list of handles once at the failure and again when Node closes it,
 * the second time with its old neighbours: a handle made in that Node meanwhile (the package's
 * completion channel, made at its first spawn) falls out of the list, and at teardown its
 * removal writes into a neighbour freed by then (a SIGSEGV at exit under musl's allocator).
 */
async function eachSide(t: ExecutionContext, rules: string[], script: string): Promise<Record<'child_process' | 'pidfd', unknown>> {
  const seen: Record<string, unknown> = {}
  for (const [name, spawn] of [['child_process', "require('node:child_process').spawn"], ['pidfd', 'pidfd.spawn']]) {
    const run = await underFilter(rules, `const SPAWN = ${spawn};\n${script}`)
    t.is(run.code, 0, `${name}: ${run.stderr}`)
    seen[name!] = JSON.parse(run.stdout)
  }
  return seen as Record<'child_process' | 'pidfd', unknown>
}

check('socketpair refused with ENFILE (the system\'s file table full): \'error\' ENFILE and no stdio at all, as child_process', async (t) => {
  const ENFILE = 23
  const out = await eachSide(t, [`socketpair=${ENFILE}`], `
    const sub = SPAWN('echo', ['hi']);
    new Promise((resolve) => { sub.on('error', (e) => resolve([e.code, e.errno, e.syscall, e.message])); sub.on('exit', () => resolve(null)) })
      .then((error) => console.log(JSON.stringify({ error, stdio: String(sub.stdio), stdout: String(sub.stdout), pid: String(sub.pid) })));
  `)
  t.deepEqual(out.pidfd, { error: ['ENFILE', -23, 'spawn echo', 'spawn echo ENFILE'], stdio: 'undefined', stdout: 'undefined', pid: 'undefined' })
  t.deepEqual(out.pidfd, out.child_process)
})

check("socketpair refused with EPERM: child_process throws it; pidfd emits it through 'error', named as child_process names it, with the call that failed in its message", async (t) => {
  const out = await eachSide(t, [`socketpair=${EPERM}`], `
    let sub;
    try {
      sub = SPAWN('echo', ['hi']);
    } catch (e) {
      console.log(JSON.stringify({ thrown: [e.code, e.errno, e.syscall, e.message] }));
    }
    if (sub) sub.on('error', (e) => console.log(JSON.stringify({ emitted: [e.code, e.errno, e.syscall, e.message] }))).on('exit', () => console.log('null'));
  `)
  t.deepEqual(out, {
    child_process: { thrown: ['EPERM', -1, 'spawn', 'spawn EPERM'] },
    pidfd: { emitted: ['EPERM', -1, 'spawn echo', 'spawn echo EPERM (socketpair failed)'] },
  })
})

// spawnSync reads the child's output with recv(2) (recvfrom) and writes its input with send(2)
// (sendto), calls Node's own child_process does not make (it reads and writes), so a filter on
// them reaches only ours. A failure ends that pipe and is the result's error, the child still
// collected; EAGAIN is a shortage, retried, here until the timeout.
const EIO = 5
const EAGAIN = 11
const ENOTCONN = 107
const SYNC_RUN = `
const r = pidfd.spawnSync('sh', ['-c', process.env.PIDFD_T_SCRIPT], { input: process.env.PIDFD_T_INPUT || undefined, timeout: 1500 });
console.log(JSON.stringify({ error: r.error ? r.error.code : null, status: r.status, signal: r.signal, stdout: String(r.stdout) }));
`
for (const [rule, input, expected] of [
  [`recvfrom=${EIO}`, '', { error: 'EIO', status: 0, signal: null, stdout: '' }],
  [`recvfrom=${EAGAIN}`, '', { error: 'ETIMEDOUT', status: 0, signal: null, stdout: '' }],
  [`sendto=${EIO}`, 'abc', { error: 'EIO', status: 0, signal: null, stdout: 'out\n' }],
  [`sendto=${EAGAIN}`, 'abc', { error: 'ETIMEDOUT', status: 0, signal: null, stdout: 'out\n' }],
  // The end of the input is a shutdown(2) of our end, for writing.
  [`shutdown=${EIO}`, '', { error: 'EIO', status: 0, signal: null, stdout: 'out\n' }],
  // ENOTCONN: the child's end is gone already, and there is nobody to tell.
  [`shutdown=${ENOTCONN}`, '', { error: null, status: 0, signal: null, stdout: 'out\n' }],
] as const) {
  const what = { EIO: 'the pipe ends and EIO is the error, the child collected', ETIMEDOUT: 'retried until the timeout (ETIMEDOUT), not an error of its own', none: 'no error' }
  check(`spawnSync under ${rule}: ${what[expected.error ?? 'none']}`, async (t) => {
    // The child writes before the first read (the read follows its POLLIN) and never reads its
    // stdin, so it exits 0 whatever happens to our ends of its pipes.
    const run = await underFilter([rule], SYNC_RUN, { PIDFD_T_SCRIPT: 'echo out', PIDFD_T_INPUT: input })
    t.is(run.code, 0, run.stderr)
    t.deepEqual(JSON.parse(run.stdout), expected)
  })
}

// The matrix: each call the package makes (from Node, its threads or the spawn helper) refused
// with EPERM and with ENOSYS, under an app written for child_process and run with
// pidfd/register. Node's own child_process under the same filter is the oracle: where it works,
// the app works the same; where it fails, the app says so with an errno (or Node itself cannot
// start); it never hangs. One wait on the helper or the watcher that a refusal left unanswered
// would show here as the wrapper's timeout.
const CALLS = [
  'clone', 'clone/pidfd', 'clone/parent', 'clone3', 'pidfd_open', 'pidfd_send_signal', 'pidfd_getfd', 'waitid', 'wait4',
  'memfd_create', 'execveat', 'epoll_wait', 'epoll_ctl', 'epoll_pwait2', 'socketpair', 'sendmsg', 'recvmsg', 'prctl',
  'sched_getattr', 'sched_setattr', 'getpriority', 'setpriority', 'kill', 'tgkill', 'poll', 'ppoll', 'umask', 'dup3',
  'setsid', 'setpgid', 'close_range', 'prlimit64', 'fchdir', 'chdir', 'shutdown', 'getrlimit', 'vfork',
]
const matrix = built === null ? childProcessApp(dir) : null

interface AppRun {
  timedOut: boolean
  code: number | null
  seen: string[] | null
  stderr: string
}

function appUnder(rule: string, register: boolean): Promise<AppRun> {
  const args = [rule, '--', process.execPath, ...(register ? ['--require', join(root, 'lib', 'register.js')] : []), matrix!.app]
  return new Promise((resolve) => {
    execFile(wrapper, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; killed?: boolean }) | null
      let seen: string[] | null = null
      try {
        seen = JSON.parse(stdout) as string[]
      } catch {
        // no line: the app did not get to the end
      }
      resolve({ timedOut: e?.killed === true, code: e ? (typeof e.code === 'number' ? e.code : null) : 0, seen, stderr })
    })
  })
}

// One call at a time: 37 at once (each four Nodes) would make a loaded machine's slowness look
// like a hang.
const checkSerial = built === null ? test.serial : test.skip
for (const call of CALLS) {
  checkSerial(`seccomp matrix: ${call} refused with EPERM, then ENOSYS: an app under pidfd/register works where child_process does, else says an errno, and never hangs`, async (t) => {
    for (const errno of [EPERM, ENOSYS]) {
      const rule = `${call}=${errno}`
      const [node, ours] = await Promise.all([appUnder(rule, false), appUnder(rule, true)])
      t.false(ours.timedOut, `${rule}: the app hung (${ours.stderr.slice(0, 300)})`)
      t.notRegex(ours.stderr, /panicked/, `${rule}: a thread of the package panicked`)
      const WORKS = matrix!.works
      const nodeWorks = JSON.stringify(node.seen) === JSON.stringify(WORKS)
      if (nodeWorks) {
        t.deepEqual(ours.seen, WORKS, `${rule}: child_process works here: ${ours.stderr.slice(0, 300)}`)
      } else if (ours.seen) {
        // Each step either did its work or reported an errno, as a child_process app expects,
        // and what worked for child_process works here too.
        const odd = ours.seen.filter((s) => !WORKS.includes(s) && !/ (E[A-Z0-9]+|-\d+)$/.test(s))
        t.deepEqual(odd, [], `${rule}: ${JSON.stringify(ours.seen)}`)
        const lost = (node.seen ?? []).filter((s) => WORKS.includes(s) && !ours.seen!.includes(s))
        t.deepEqual(lost, [], `${rule}: child_process got ${JSON.stringify(node.seen)}, ours ${JSON.stringify(ours.seen)}`)
      } else {
        // Neither got to its end: Node itself needs the call (it aborts at start) or threw.
        t.true(node.seen === null && ours.code !== 0, `${rule}: node ${JSON.stringify(node.seen)}, ours exited ${ours.code}: ${ours.stderr.slice(0, 300)}`)
      }
      t.log(`${rule}: child_process ${nodeWorks ? 'works' : JSON.stringify(node.seen ?? `exit ${node.code}`)}; ours ${JSON.stringify(ours.seen ?? `exit ${ours.code}`)}`)
    }
  })
}

check("kill and pidfd_send_signal both refused (ENOSYS): the timeout option and an AbortSignal emit kill()'s error, as child_process's", async (t) => {
  // kill() throws ENOSYS there; the timer's and the signal's callbacks must turn that into
  // 'error' (ChildProcess's rule), not an uncaught exception. The child (cat) then ends when
  // its stdin does.
  const run = await underFilter(
    [`pidfd_send_signal=${ENOSYS}`, `kill=${ENOSYS}`],
    `
    const cp = require('node:child_process');
    const once = (child) => new Promise((resolve) => {
      const errors = [];
      child.on('error', (e) => { errors.push(e.code + ' ' + e.syscall); child.stdin.end() });
      child.on('exit', (code, signal) => resolve({ errors, code, signal, killed: child.killed }));
    });
    (async () => {
      const seen = {};
      for (const [name, spawn] of [['child_process', cp.spawn], ['pidfd', pidfd.spawn]]) {
        const timed = await once(spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'], timeout: 20 }));
        const controller = new AbortController();
        const aborted = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'], signal: controller.signal });
        aborted.once('spawn', () => controller.abort());
        seen[name] = { timed, aborted: await once(aborted) };
      }
      console.log(JSON.stringify(seen));
    })();
  `,
  )
  t.is(run.code, 0, run.stderr)
  const seen = JSON.parse(run.stdout)
  t.deepEqual(seen.pidfd, seen.child_process)
  t.deepEqual(seen.pidfd.timed, { errors: ['ENOSYS kill'], code: 0, signal: null, killed: false })
  t.deepEqual(seen.pidfd.aborted, { errors: ['ENOSYS kill'], code: 0, signal: null, killed: false })
})

check("kill and pidfd_send_signal refused: execFile's timeout calls back at once with kill()'s error, thrown (ENOSYS) or emitted (EPERM), while the child runs on, as child_process's", async (t) => {
  for (const errno of [ENOSYS, EPERM]) {
    const run = await underFilter(
      [`pidfd_send_signal=${errno}`, `kill=${errno}`],
      `
      const cp = require('node:child_process');
      const called = (lib) => new Promise((resolve) => {
        const child = lib.execFile('cat', [], { timeout: 20 }, (err) => {
          // The child has not exited: cat ends when its stdin does, after this.
          resolve({ code: err && err.code, syscall: err && err.syscall, running: child.exitCode === null && child.signalCode === null });
          child.stdin.end();
        });
      });
      (async () => {
        const seen = {};
        for (const [name, lib] of [['child_process', cp], ['pidfd', pidfd]]) seen[name] = await called(lib);
        console.log(JSON.stringify(seen));
      })();
    `,
    )
    t.is(run.code, 0, run.stderr)
    const seen = JSON.parse(run.stdout)
    const code = errno === ENOSYS ? 'ENOSYS' : 'EPERM'
    t.deepEqual(seen.child_process, { code, syscall: 'kill', running: true }, `child_process, as this test reads it (errno ${errno})`)
    t.deepEqual(seen.pidfd, seen.child_process, `errno ${errno}`)
  }
})

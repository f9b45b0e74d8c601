// spawn() when descriptors or processes run out, with sizes child_process takes, and in working
// directories child_process handles: side by side with child_process, in fresh Node processes.

import test from 'ava'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { entry, root, runNode, tempDir } from './helpers.js'

const binding = JSON.stringify(join(root, 'lib', 'native.js'))
const isRoot = process.getuid?.() === 0

/** Opens /dev/null until EMFILE, then frees `free` of them: `held` is what to close later. */
const EXHAUST = `
const fs = require('node:fs');
function exhaust(free) {
  const held = [];
  try { for (;;) held.push(fs.openSync('/dev/null', 'r')) } catch (e) { if (e.code !== 'EMFILE') throw e }
  for (let i = 0; i < free; i++) fs.closeSync(held.pop());
  return held;
}
const settle = (sub) => new Promise((resolve) => {
  const stdio = [typeof sub.stdio, typeof sub.stdin, typeof sub.stdout, typeof sub.stderr];
  sub.once('error', (e) => resolve({ error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path }, pid: sub.pid, stdio }));
  sub.once('exit', (code) => resolve({ code, pid: typeof sub.pid }));
});
`

for (const free of [0, 1, 8]) {
  test(`no descriptor to spare at the first spawn (${free} free): EMFILE through 'error', as child_process; then spawn works again, through the helper`, async (t) => {
    const run = await runNode(`${EXHAUST}
      const cp = require('node:child_process');
      const native = require(${binding}).binding;
      (async () => {
        let held = exhaust(${free});
        const ours = await settle(pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' }));
        for (const fd of held) fs.closeSync(fd);
        held = exhaust(${free});
        const theirs = await settle(cp.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' }));
        for (const fd of held) fs.closeSync(fd);
        const hold = Buffer.alloc(200 * 1024 * 1024, 1);
        const again = await pidfd.spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' }).exited;
        console.log(JSON.stringify({ ours, theirs, again: again.code, maxRSS: again.rusage.maxRSS, helper: native.spawnHelperPid(), pidfdOpen: pidfd.features().pidfdOpen, held: hold[9] }));
      })();
    `)
    t.is(run.code, 0, run.stderr)
    const r = JSON.parse(run.stdout)
    t.deepEqual(r.ours.error, { message: 'spawn sh EMFILE', code: 'EMFILE', errno: -24, syscall: 'spawn sh', path: 'sh' })
    t.is(r.ours.pid, undefined)
    t.deepEqual(r.ours.stdio, ['undefined', 'undefined', 'undefined', 'undefined'], 'no stdio at all, as child_process gives none')
    // The first spawn also starts the watcher thread and the helper, so it needs a few more
    // descriptors than child_process's; where both fail, they fail alike.
    if (r.theirs.error) t.deepEqual([r.ours.error, r.ours.stdio], [r.theirs.error, r.theirs.stdio])
    else t.log(`child_process managed with ${free} free`)
    t.is(r.again, 4)
    t.true(r.helper > 0, 'the helper runs')
    t.true(r.maxRSS < 10 * 1024, `maxRSS ${r.maxRSS} KiB: the child's own, so through the helper`)
    t.true(r.pidfdOpen, 'features() does not remember the shortage')
  })
}

test('with 0 to 11 descriptors free, each spawn runs its program once or reports EMFILE through \'error\'; no zombie, no descriptor lost', async (t) => {
  const run = await runNode(`${EXHAUST}
    const marker = require('node:path').join(require('node:os').tmpdir(), 'pidfd-k-' + process.pid);
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const zombies = () => fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).filter((d) => {
      try { const st = fs.readFileSync('/proc/' + d + '/stat', 'utf8'); const [s, pp] = st.slice(st.lastIndexOf(')') + 2).split(' '); return s === 'Z' && Number(pp) === process.pid } catch { return false }
    });
    (async () => {
      await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      // Its pidfd is closed by whichever thread drops the process last (the watcher's may hold
      // it a moment): counted before only once that is done (the one pidfd left is the spawn
      // helper's), up to 5 s, as each later row is.
      const pidfds = () => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[pidfd]' } catch { return false } }).length;
      for (let i = 0; i < 250 && pidfds() > 1; i++) await new Promise((res) => setTimeout(res, 20));
      const rows = [];
      for (let k = 0; k < 12; k++) {
        const before = count();
        const held = exhaust(k);
        const r = await settle(pidfd.spawn('sh', ['-c', 'echo ' + k + ' >> ' + marker], { stdio: ['ignore', 'ignore', 'inherit'] }));
        for (const fd of held) fs.closeSync(fd);
        // Until the count is back (the watcher may hold the pidfd a moment), up to 5 s: not a
        // fixed 30 ms a busy machine can outlast. A descriptor leaked stays, and shows in the row.
        for (let i = 0; i < 250 && count() !== before; i++) await new Promise((res) => setTimeout(res, 20));
        rows.push({ k, result: r.error ? r.error.code : 'exit ' + r.code, fds: count() - before, zombies: zombies().length });
      }
      let runs = [];
      try { runs = fs.readFileSync(marker, 'utf8').trim().split('\\n').map(Number); fs.unlinkSync(marker) } catch {}
      console.log(JSON.stringify({ rows, runs }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const { rows, runs } = JSON.parse(run.stdout) as { rows: Array<{ k: number; result: string; fds: number; zombies: number }>; runs: number[] }
  t.log(rows.map((r) => `${r.k}:${r.result}`).join(' '))
  for (const row of rows) {
    t.true(row.result === 'EMFILE' || row.result === 'exit 0', `k=${row.k}: ${row.result}`)
    t.is(row.fds, 0, `k=${row.k}: descriptors back where they were`)
    t.is(row.zombies, 0, `k=${row.k}: no zombie`)
  }
  // Every program that reported success ran exactly once; those that failed did not run (a
  // child whose pidfd found no room is adopted all the same, never killed after it ran).
  t.deepEqual(runs, rows.filter((r) => r.result === 'exit 0').map((r) => r.k))
  t.is(rows[0]!.result, 'EMFILE')
  t.is(rows[11]!.result, 'exit 0')
})

/**
 * A uid nobody else runs as: RLIMIT_NPROC counts every task of the uid, so another test run on
 * the machine (as 65534, say) must not share it. One per test process.
 */
const NPROC_UID = 3_000_000 + (process.pid % 1_000_000)

/** Runs a script as NPROC_UID with RLIMIT_NPROC at the number of that user's tasks + `extra`. */
function underNproc(extra: number, script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = `
    const pidfd = require(${JSON.stringify(entry)});
    const cp = require('node:child_process');
    const fs = require('node:fs');
    const hard = /^Max processes\\s+\\S+\\s+(\\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1];
    // Raises the limit again later without a fork (it execs prlimit), started while it can be.
    const raiser = cp.spawn('sh', ['-c', 'read x; exec prlimit --pid ' + process.pid + ' --nproc=' + hard + ':' + hard], { stdio: ['pipe', 'inherit', 'inherit'] });
    const raise = () => new Promise((r) => { raiser.on('exit', r); raiser.stdin.end('go\\n') });
    let tasks = 0;
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\\d+$/.test(d)) continue;
      try { const st = fs.readFileSync('/proc/' + d + '/status', 'utf8'); if (/^Uid:\\s+${NPROC_UID}\\s/m.test(st)) tasks += Number(/^Threads:\\s+(\\d+)/m.exec(st)[1]) } catch {}
    }
    cp.execFileSync('prlimit', ['--pid', String(process.pid), '--nproc=' + (tasks + ${extra}) + ':' + hard]);
    ${script}
  `
  return new Promise((resolve) => {
    execFile('setpriv', ['--reuid', String(NPROC_UID), '--regid', String(NPROC_UID), '--clear-groups', process.execPath, '-e', code], { timeout: 20_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })
    })
  })
}

for (const [extra, what] of [[0, 'the watcher thread'], [1, 'the spawn helper'], [2, "the helper's child"]] as const) {
  // Serial: each counts the processes of its uid, which the other's would upset.
  ;(isRoot ? test.serial : test.skip)(`no process to spare when ${what} would start (RLIMIT_NPROC as a uid of its own; needs root): EAGAIN through 'error', as child_process; then spawn works again, through the helper`, async (t) => {
    const run = await underNproc(
      extra,
      `
      const settle = (sub) => new Promise((resolve) => {
        sub.once('error', (e) => resolve({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall }));
        sub.once('exit', (code) => resolve({ code }));
      });
      (async () => {
        const ours = await settle(pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' }));
        const theirs = await settle(cp.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' }));
        await raise();
        const hold = Buffer.alloc(200 * 1024 * 1024, 1);
        const again = await pidfd.spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' }).exited;
        console.log(JSON.stringify({ ours, theirs, again: again.code, maxRSS: again.rusage.maxRSS, held: hold[1] }));
      })();
    `,
    )
    t.is(run.code, 0, run.stderr)
    const r = JSON.parse(run.stdout)
    t.deepEqual(r.ours, { message: 'spawn sh EAGAIN', code: 'EAGAIN', errno: -11, syscall: 'spawn sh' })
    t.deepEqual(r.ours, r.theirs)
    t.is(r.again, 4)
    t.true(r.maxRSS < 10 * 1024, `maxRSS ${r.maxRSS} KiB: the child's own, so through the helper`)
  })
}

// Without the event loop's reaping (PIDFD_LOOP_REAP=0; Bun and Deno have none), the watcher
// thread collects every exit, so it starts before the child does: a spawn that fails for want
// of a task has not run its program (a caller may try again). Without the helper, whose own
// start would start the thread first.
;(isRoot ? test.serial : test.skip)('room for one more task, no helper, and the watcher thread collects exits (PIDFD_SPAWN_HELPER=0 PIDFD_LOOP_REAP=0): the thread takes it, EAGAIN, and the program has not run (needs root)', async (t) => {
  const dir = tempDir('pidfd-nproc-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  chmodSync(dir, 0o777)
  const marker = join(dir, 'ran')
  const run = await underNproc(
    1,
    `
    const settle = (sub) => new Promise((resolve) => {
      sub.once('error', (e) => resolve({ code: e.code, syscall: e.syscall }));
      sub.once('exit', (code) => resolve({ exit: code }));
    });
    (async () => {
      const ours = await settle(pidfd.spawn('sh', ['-c', 'echo ran > ${marker}; exit 3'], { stdio: 'ignore' }));
      await raise();
      const again = await pidfd.spawn('sh', ['-c', 'exit 4'], { stdio: 'ignore' }).exited;
      console.log(JSON.stringify({ ours, again: again.code }));
    })();
  `,
    { PIDFD_SPAWN_HELPER: '0', PIDFD_LOOP_REAP: '0' },
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { ours: { code: 'EAGAIN', syscall: 'spawn sh' }, again: 4 })
  t.false(existsSync(marker), 'the program ran, though its spawn failed')
})

test('stdio of 250 to 600 entries: pipes give the child the descriptors child_process gives it; ignored ones stay closed', async (t) => {
  const run = await runNode(`
    const cp = require('node:child_process');
    const { text } = require('node:stream/consumers');
    async function fds(lib, n, kind) {
      const sub = lib.spawn('sh', ['-c', 'cd /proc/self/fd && echo *'], { stdio: ['ignore', 'pipe', 'inherit', ...Array(n - 3).fill(kind)] });
      const out = await text(sub.stdout);
      await new Promise((r) => sub.once('close', r));
      // Beyond the shell's own directory descriptor (3, the lowest free one, for the glob).
      return out.trim().split(' ').map(Number).filter((fd) => fd < n && fd !== 3).length;
    }
    (async () => {
      const rows = [];
      for (const n of [250, 251, 253, 254, 300, 600]) for (const kind of ['pipe', 'ignore']) {
        rows.push({ n, kind, ours: await fds(pidfd, n, kind), theirs: await fds(cp, n, kind) });
      }
      console.log(JSON.stringify(rows));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  for (const row of JSON.parse(run.stdout) as Array<{ n: number; kind: string; ours: number; theirs: number }>) {
    if (row.kind === 'pipe') {
      t.is(row.ours, row.theirs, `${row.n} × pipe`)
      t.is(row.ours, row.n - 1, `${row.n} × pipe: every descriptor open`)
    } else {
      // Only 0 to 2 (/dev/null and the pipe): 'ignore' beyond them leaves a descriptor closed.
      // (libuv leaves such a descriptor as it finds it, so a child_process child also gets any
      // descriptor its parent inherited without close-on-exec: not compared.)
      t.is(row.ours, 3, `${row.n} × ignore`)
    }
  }
})

test("70 MB of arguments: E2BIG through 'error' (child_process throws it), and the helper is not harmed", async (t) => {
  const run = await runNode(`
    const cp = require('node:child_process');
    const native = require(${binding}).binding;
    const big = 'x'.repeat(70 * 1024 * 1024);
    const shape = (f) => { try { f(); return null } catch (e) { return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall } } };
    (async () => {
      await pidfd.spawn('true').exited;
      const helper = native.spawnHelperPid();
      let emitted = null;
      const ours = shape(() => pidfd.spawn('true', [big]).on('error', (e) => (emitted = { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall })));
      await new Promise((r) => setImmediate(r));
      const theirs = shape(() => cp.spawn('true', [big]));
      const after = await pidfd.spawn('sh', ['-c', 'exit 5']).exited;
      console.log(JSON.stringify({ ours, emitted, theirs, same: native.spawnHelperPid() === helper, after: after.code }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.is(r.ours, null)
  t.deepEqual(r.emitted, { message: 'spawn true E2BIG', code: 'E2BIG', errno: -7, syscall: 'spawn true' })
  t.deepEqual(r.theirs, { message: 'spawn E2BIG', code: 'E2BIG', errno: -7, syscall: 'spawn' })
  t.true(r.same, 'the same helper serves the next spawn')
  t.is(r.after, 5)
})

test("the helper short of memory for a request (its address space capped): ENOMEM through 'error', the request still read to its end, and the same helper serves the next spawn", async (t) => {
  const run = await runNode(`
    const native = require(${binding}).binding;
    const { execFileSync } = require('node:child_process');
    (async () => {
      await pidfd.spawn('true').exited;
      const helper = native.spawnHelperPid();
      // 60 MB of address space for the helper: a request of 80 MB cannot be held there.
      execFileSync('prlimit', ['--pid', String(helper), '--as=60000000']);
      let emitted = null;
      const sub = pidfd.spawn('true', [], { env: { BIG: 'x'.repeat(80 * 1024 * 1024) } }).on('error', (e) => (emitted = { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall }));
      const failed = await sub.exited.then(() => null, (e) => e.code);
      await new Promise((r) => setImmediate(r));
      const after = await pidfd.spawn('sh', ['-c', 'exit 5']).exited;
      console.log(JSON.stringify({ emitted, failed, pid: sub.pid ?? null, same: native.spawnHelperPid() === helper, after: after.code }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout)
  t.deepEqual(r.emitted, { message: 'spawn true ENOMEM', code: 'ENOMEM', errno: -12, syscall: 'spawn true' })
  t.is(r.failed, 'ENOMEM')
  t.is(r.pid, null, 'no child')
  t.true(r.same, 'the same helper serves the next spawn')
  t.is(r.after, 5)
})

test('a deleted working directory and one whose path is not UTF-8: the child starts there, as a child_process child does', async (t) => {
  const dir = tempDir('pidfd-cwd-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const latin1 = Buffer.concat([Buffer.from(dir + '/caf'), Buffer.from([0xe9])])
  mkdirSync(latin1)
  mkdirSync(join(dir, 'gone'))
  const script = `
    const cp = require('node:child_process');
    const { text } = require('node:stream/consumers');
    (async () => {
      const out = {};
      for (const [name, lib] of [['ours', pidfd], ['theirs', cp]]) {
        const sub = lib.spawn('sh', ['-c', 'readlink /proc/self/cwd | od -An -c | tr -d " \\\\n"']);
        sub.on('error', (e) => { out[name] = e.message });
        out[name] = (await text(sub.stdout)).trim();
      }
      console.log(JSON.stringify(out));
    })();
  `
  // Enter each directory from a shell (Node cannot chdir to a path that is not a string), and
  // delete "gone" once the Node inside is standing in it.
  const shell = (setup: string) =>
    new Promise<{ ours: string; theirs: string }>((resolve, reject) => {
      execFile('sh', ['-c', `${setup} && exec "$NODE" -e "$SCRIPT"`], { env: { ...process.env, NODE: process.execPath, SCRIPT: `const pidfd = require(${JSON.stringify(entry)});` + script, DIR: dir } }, (err, stdout, stderr) => {
        if (err) reject(new Error(stderr))
        else resolve(JSON.parse(stdout))
      })
    })
  const notText = await shell(`cd "$(printf '%s/caf\\351' "$DIR")"`)
  t.regex(notText.ours, /caf351\\n$/)
  t.is(notText.ours, notText.theirs)
  const deleted = await shell('cd "$DIR/gone" && rmdir "$DIR/gone"')
  t.regex(deleted.ours, /gone\(deleted\)\\n$/)
  t.is(deleted.ours, deleted.theirs)
})

test("a cwd that does not exist: child_process's error (spawn <file> ENOENT), and the failing step as `step`", async (t) => {
  const run = await runNode(`
    const cp = require('node:child_process');
    const shape = (sub) => new Promise((r) => sub.once('error', (e) => r({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: e.step })));
    (async () => {
      const ours = await shape(pidfd.spawn('true', [], { cwd: '/nonexistent/dir' }));
      const theirs = await shape(cp.spawn('true', [], { cwd: '/nonexistent/dir' }));
      console.log(JSON.stringify({ ours, theirs }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const { ours, theirs } = JSON.parse(run.stdout)
  t.deepEqual({ ...ours, step: undefined }, { ...theirs, step: undefined })
  t.is(ours.message, 'spawn true ENOENT')
  t.is(ours.step, 'chdir')
})

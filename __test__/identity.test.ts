// A child starts as the process that asks for it is at that moment, as a child_process child
// does, although the spawn helper that makes it was started earlier: credentials dropped,
// priority changed, scheduling policy.

import test from 'ava'
import { execFile } from 'node:child_process'

import { mkdirSync, readFileSync, rmdirSync } from 'node:fs'
import { basename, join } from 'node:path'

import { cgroupSupport } from '../index.js'
import { entry, needsRoot, runNode, runsIf, until } from './helpers.js'

const isRoot = process.getuid?.() === 0

/** A probe for sideBySide: a child's /proc/self/stat field `n` past its command's name (0: its state; 16: nice; 38: policy). */
function statField(n: number): string {
  return `
      const stat = await text(spawn('cat', ['/proc/self/stat']).stdout);
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[${n}]);`
}

/** Prints, for child_process and then pidfd, what `probe` (an async function of spawn) returns. */
function sideBySide(setup: string, probe: string): string {
  return `
    const cp = require('node:child_process');
    const { text } = require('node:stream/consumers');
    const probe = async (spawn) => { ${probe} };
    (async () => {
      await pidfd.spawn('true').exited; // the helper starts now, as the process is now
      ${setup}
      const out = { child_process: await probe(cp.spawn), pidfd: await probe(pidfd.spawn) };
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1) });
  `
}

;(isRoot ? test : test.skip)('after a privilege drop, children run as the new user and cannot ask for root back (needs root)', async (t) => {
  const run = await runNode(
    sideBySide(
      `process.setgroups([]); process.setgid(65534); process.setuid(65534);`,
      `
      const id = (await text(spawn('sh', ['-c', 'echo $(id -u):$(id -g)']).stdout)).trim();
      let root;
      try {
        const sub = spawn('id', ['-u'], { uid: 0 });
        root = await new Promise((resolve) => { sub.on('error', (e) => resolve(e.code)); sub.on('exit', (code) => resolve('ran, exit ' + code)) });
      } catch (e) { root = e.code }
      const sleeper = spawn('sleep', ['5']);
      const killed = sleeper.kill();
      const signal = await new Promise((resolve) => sleeper.on('exit', (code, sig) => resolve(sig)));
      return { id, root, killed, signal };
    `,
    ),
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  t.deepEqual(out.pidfd, { id: '65534:65534', root: 'EPERM', killed: true, signal: 'SIGTERM' })
  t.deepEqual(out.pidfd, out.child_process)
})

runsIf(needsRoot, 'identity: the refused step')('options.uid and options.gid refused: child_process\'s EPERM (as \'error\'), and the step that refused it as `step` (setgid, setuid)', async (t) => {
  const run = await runNode(
    sideBySide(
      `process.setgroups([]); process.setgid(65534); process.setuid(65534);`,
      `
      const shape = (options) => new Promise((resolve) => {
        let sub;
        try { sub = spawn('true', [], options) } catch (e) { return resolve({ thrown: e.code }) }
        sub.on('error', (e) => resolve({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, step: e.step }));
        sub.on('exit', (code) => resolve({ exit: code }));
      });
      return { gid: await shape({ gid: 0 }), uid: await shape({ uid: 0 }), both: await shape({ uid: 0, gid: 0 }) };
    `,
    ),
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  // child_process throws EPERM; pidfd emits it as 'error' (docs/api.md), errno and all.
  for (const k of ['gid', 'uid', 'both']) {
    t.is(out.child_process[k].thrown, 'EPERM')
    t.like(out.pidfd[k], { code: 'EPERM', errno: -1, syscall: 'spawn true' })
  }
  // gid is set before uid, as libuv does: with both, the gid is the step refused.
  t.deepEqual([out.pidfd.gid.step, out.pidfd.uid.step, out.pidfd.both.step], ['setgid', 'setuid', 'setgid'])
})

;(isRoot ? test : test.skip)('after process.setgroups(), children get the new supplementary groups (needs root)', async (t) => {
  const run = await runNode(
    sideBySide(
      `process.setgroups([1234, 4321]);`,
      `
      const status = await text(spawn('cat', ['/proc/self/status']).stdout);
      const groups = /^Groups:(.*)$/m.exec(status)[1].trim().split(/\\s+/).map(Number).sort((a, b) => a - b);
      const id = (await text(spawn('id', ['-G']).stdout)).trim().split(' ').map(Number).sort((a, b) => a - b);
      return { groups, id };
    `,
    ),
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  t.deepEqual(out.pidfd.groups, [1234, 4321])
  t.true(out.pidfd.id.includes(1234) && out.pidfd.id.includes(4321), JSON.stringify(out.pidfd.id))
  t.deepEqual(out.pidfd, out.child_process)
})

runsIf(needsRoot, 'options.gid')('options.gid (as root): the child runs in that group with no supplementary groups, its uid unchanged, as child_process\'s', async (t) => {
  const run = await runNode(
    sideBySide(
      '',
      `
      const sub = spawn('sh', ['-c', 'echo $(id -u):$(id -g):$(id -G)'], { gid: 4321 });
      const out = text(sub.stdout);
      const code = await new Promise((resolve) => { sub.on('error', (e) => resolve(e.code)); sub.on('exit', resolve) });
      return { code, id: (await out).trim() };
    `,
    ),
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  t.deepEqual(out.pidfd, { code: 0, id: '0:4321:4321' })
  t.deepEqual(out.pidfd, out.child_process)
})

const cgroups = cgroupSupport()
runsIf(cgroups.reason, 'identity: a move to another cgroup')('after Node moves to another cgroup, children start in the new one, as child_process\'s', async (t) => {
  const dir = join(cgroups.parent!, `pidfd-identity-${process.pid}`)
  mkdirSync(dir)
  t.teardown(async () => {
    // Empty once that Node has exited.
    await until(() => {
      try {
        rmdirSync(dir)
        return true
      } catch {
        return false
      }
    })
  })
  const run = await runNode(
    sideBySide(
      `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'cgroup.procs'))}, String(process.pid));`,
      `
      const lines = await text(spawn('cat', ['/proc/self/cgroup']).stdout);
      return /^0::(.*)$/m.exec(lines)[1];
    `,
    ),
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  // The new cgroup is a child of this process's own (cgroupSupport's parent).
  const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))![1]!
  t.is(out.pidfd, `${own.replace(/\/$/, '')}/${basename(dir)}`)
  t.deepEqual(out.pidfd, out.child_process)
})

test('after os.setPriority(), children get the new nice value', async (t) => {
  const run = await runNode(
    sideBySide(
      `require('node:os').setPriority(7);`,
      statField(16),
    ),
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { child_process: 7, pidfd: 7 })
})

test('after Node\'s thread moves to SCHED_BATCH (chrt -p, once the helper runs), children are SCHED_BATCH, as child_process\'s', async (t) => {
  const run = await runNode(
    sideBySide(
      `require('node:child_process').execFileSync('chrt', ['--batch', '-p', '0', String(process.pid)]);`,
      statField(38),
    ),
  )
  t.is(run.code, 0, run.stderr)
  const SCHED_BATCH = 3
  t.deepEqual(JSON.parse(run.stdout), { child_process: SCHED_BATCH, pidfd: SCHED_BATCH })
})

test('under chrt --batch, children are SCHED_BATCH, and so are the helper and the watcher thread', async (t) => {
  const script = sideBySide(
    '',
    statField(38),
  ).replace(
    'console.log(JSON.stringify(out));',
    `const fs = require('node:fs');
     const policy = (path) => { const s = fs.readFileSync(path, 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[38]) };
     const native = require(${JSON.stringify(entry.replace(/index\.js$/, 'lib/native.js'))}).binding;
     const tids = fs.readdirSync('/proc/self/task').filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'pidfd-watch');
     out.helper = policy('/proc/' + native.spawnHelperPid() + '/stat');
     out.watcher = tids.map((t) => policy('/proc/self/task/' + t + '/stat'));
     console.log(JSON.stringify(out));`,
  )
  const code = `const pidfd = require(${JSON.stringify(entry)});\n${script}`
  const run = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
    execFile('chrt', ['--batch', '0', process.execPath, '-e', code], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
  )
  t.is(run.err, null, run.stderr)
  const SCHED_BATCH = 3
  t.deepEqual(JSON.parse(run.stdout), { child_process: SCHED_BATCH, pidfd: SCHED_BATCH, helper: SCHED_BATCH, watcher: [SCHED_BATCH] })
})

// Claims the README makes that no other test would see broken: each of these fails when its
// claim is broken on purpose (see CONTRIBUTING.md, the mutation run).

import test from 'ava'
import { execFile, spawn as cpSpawn } from 'node:child_process'
import { join } from 'node:path'

import { AsyncPidFd, PidFd, spawn } from '../index.js'
import { root, runNode } from './helpers.js'

const binding = JSON.stringify(join(root, 'lib', 'native.js'))
const isRoot = process.getuid?.() === 0

test('the spawn helper runs from a memfd by default (the file beside the .node is only the fallback)', async (t) => {
  const run = await runNode(`
    const native = require(${binding}).binding;
    pidfd.spawn('true').exited.then(() => console.log(require('node:fs').readlinkSync('/proc/' + native.spawnHelperPid() + '/exe')));
  `)
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^\/memfd:pidfd-helper \(deleted\)\n$/)
})

test('fromChild: where libuv reaps first and the kernel keeps no status (PIDFD_DISABLE=infoExit, as before 6.15), the status is the child\'s own', async (t) => {
  const run = await runNode(
    `const cp = require('node:child_process');
     const child = cp.spawn('sh', ['-c', 'sleep 0.2; kill -USR2 $$']);
     const handle = pidfd.AsyncPidFd.fromChild(child);
     child.on('exit', async () => {
       // libuv has reaped it: the handle's wait starts only now.
       const exit = await handle.wait();
       console.log(JSON.stringify({ status: exit.status, signal: exit.signal, rusage: exit.rusage }));
     });`,
    { env: { PIDFD_DISABLE: 'infoExit' } },
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { status: 'signaled', signal: 'SIGUSR2', rusage: null })
})

test('the exit record is frozen all the way down: the record, its rusage and its siginfo', async (t) => {
  const viaSpawn = await spawn('sh', ['-c', 'exit 2']).exited
  // Alive long enough to be opened by pid (the package reaps a child the moment it exits).
  const sub = spawn('sh', ['-c', 'sleep 0.2; exit 3'])
  const viaAsync = await AsyncPidFd.fromPid(sub.pid!).wait()
  const viaSync = PidFd.fromPid(spawn('sleep', ['0.2']).pid!, {}).wait()
  for (const exit of [viaSpawn, viaAsync, viaSync]) {
    t.true(Object.isFrozen(exit))
    t.truthy(exit.rusage)
    t.true(Object.isFrozen(exit.rusage))
    t.truthy(exit.siginfo)
    t.true(Object.isFrozen(exit.siginfo))
  }
})

test('unref() while a wait is pending lets Node exit (the process keeps running)', async (t) => {
  const run = await runNode(
    `const sub = pidfd.spawn('sleep', ['120'], { stdio: 'ignore' });
     const other = require('node:child_process').spawn('sleep', ['120'], { stdio: 'ignore', detached: true });
     other.unref();
     const handle = pidfd.AsyncPidFd.fromPid(other.pid);
     console.log(JSON.stringify([sub.pid, other.pid]));
     sub.exited.then(() => console.log('exited?'));
     handle.wait().then(() => console.log('waited?'));
     setTimeout(() => { sub.unref(); handle.unref() }, 50);`,
    // Well short of the children's 120 s, and long enough for a loaded machine.
    { timeoutMs: 30_000 },
  )
  const pids = JSON.parse(run.stdout.split('\n')[0]!) as number[]
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  t.is(run.code, 0, `Node did not exit by itself: ${run.signal ?? ''} ${run.stderr}`)
  t.is(run.stdout.split('\n').filter(Boolean).length, 1, 'nothing settled')
})

test('PIDFD_DISABLE=getInfo alone turns infoExit off too (it is read through PIDFD_GET_INFO)', async (t) => {
  const run = await runNode('console.log(JSON.stringify(pidfd.features()))', { env: { PIDFD_DISABLE: 'getInfo' } })
  t.like(JSON.parse(run.stdout), { getInfo: false, infoExit: false, pidfdOpen: true })
})

/** A process with distinct real, effective, saved and filesystem ids (made as root by python3). */
function withIds(fsuid: number): Promise<{ pid: number; done: () => void }> {
  const py = [
    'import os, ctypes',
    'libc = ctypes.CDLL(None)',
    'os.setgroups([])',
    'os.setresgid(2001, 2002, 2003)',
    'libc.setfsgid(2004)',
    'os.setresuid(1001, 1002, 1003)',
    `libc.setfsuid(${fsuid})`,
    "print('ready', flush=True)",
    // Not exec: exec would set the saved and filesystem ids to the effective ones.
    'import time',
    'time.sleep(10)',
  ].join('\n')
  const child = cpSpawn('python3', ['-c', py], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve) => child.stdout.once('data', () => resolve({ pid: child.pid!, done: () => child.kill('SIGKILL') })))
}

;(isRoot ? test : test.skip)('info(): each of the eight ids from its own field, through PIDFD_GET_INFO and through /proc alike (needs root)', async (t) => {
  for (const fsuid of [1001, 1003]) {
    const p = await withIds(fsuid)
    const expected = { ruid: 1001, euid: 1002, suid: 1003, fsuid, rgid: 2001, egid: 2002, sgid: 2003, fsgid: 2004 }
    const read = async (env: Record<string, string>) => {
      const run = await runNode(
        `const i = pidfd.PidFd.fromPid(${p.pid}).info();
         console.log(JSON.stringify({ ruid: i.ruid, euid: i.euid, suid: i.suid, fsuid: i.fsuid, rgid: i.rgid, egid: i.egid, sgid: i.sgid, fsgid: i.fsgid }))`,
        { env },
      )
      return JSON.parse(run.stdout)
    }
    t.deepEqual(await read({ PIDFD_DISABLE: 'getInfo' }), expected, '/proc')
    t.deepEqual(await read({}), expected, 'PIDFD_GET_INFO')
    p.done()
  }
})

test('the helper closes its copy of each child\'s pidfd: its descriptors stay as they were after 200 spawns', async (t) => {
  const run = await runNode(`
    const native = require(${binding}).binding;
    const fs = require('node:fs');
    (async () => {
      await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      const fds = () => fs.readdirSync('/proc/' + native.spawnHelperPid() + '/fd').length;
      // The exit can reach us before the helper has closed that request's copies: its count is
      // taken once it holds still (a CI run took it a moment early and saw one fewer after).
      let before = fds();
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const now = fds();
        if (now === before) break;
        before = now;
      }
      for (let i = 0; i < 200; i++) await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      // The helper closes the last request's copies after its reply: give it a moment (a copy
      // kept per spawn would leave 200 more, and no wait brings those back).
      // (Up to 20 s: a busy machine can keep the helper from running for seconds.)
      for (let i = 0; i < 1000 && fds() !== before; i++) await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ before, after: fds() }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const { before, after } = JSON.parse(run.stdout)
  t.is(after, before)
})

test('sub.resourceUsage() inside the \'exit\' listener (the README\'s example) has the usage', async (t) => {
  const sub = spawn('sh', ['-c', 'exit 0'])
  t.is(sub.resourceUsage(), undefined, 'undefined before the exit')
  const usage = await new Promise((resolve) => sub.on('exit', () => resolve(sub.resourceUsage())))
  t.truthy(usage)
  t.true((usage as { maxRSS: number }).maxRSS > 0)
})

test('pidfd time --max-cpu counts user plus system time (a command that burns mostly system time)', async (t) => {
  const bin = join(root, 'bin', 'pidfd.js')
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
    execFile(process.execPath, [bin, 'time', '--format', 'json', '--max-cpu', '1ms', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=500000'], (err, _out, stderr) =>
      resolve({ code: err ? (err.code as number) : 0, stderr }),
    ),
  )
  t.is(r.code, 123)
  const report = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')))
  const { userCPUTime, systemCPUTime } = report.rusage
  t.true(systemCPUTime > 0)
  t.is(report.breaches[0].actual, (userCPUTime + systemCPUTime) / 1000)
})

test('pidfd time passes SIGHUP on to the command, and still reports', async (t) => {
  const bin = join(root, 'bin', 'pidfd.js')
  const child = cpSpawn(process.execPath, [bin, 'time', '--', 'sh', '-c', 'echo ready; exec sleep 10'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  child.kill('SIGHUP')
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
  t.is(signal, 'SIGHUP', `exit ${code}`)
  t.regex(stderr, /killed by SIGHUP/)
})

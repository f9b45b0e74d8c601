// PID reuse, forced: inside a new pid namespace, a new process is put on a dead process's pid
// (ns_last_pid), and the old handles must not reach it while process.kill(pid) would.

import test from 'ava'
import { execFile } from 'node:child_process'

import { entry, runsIf, userNamespaces } from './helpers.js'

const script = `
const { spawn: cpSpawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { spawn, AsyncPidFd } = require(${JSON.stringify(entry)});
const exited = (child) => new Promise((r) => child.once('exit', r));
(async () => {
  const result = { rounds: 0, landed: 0, misdirected: 0, refusedByKernel: 0, subprocessFalse: 0, processKillWouldHit: 0 };
  for (let i = 0; i < 100; i++) {
    result.rounds++;
    // Two victims: a child_process child watched through a pidfd that never waits (the kernel
    // must refuse), and a package Subprocess (its kill() must return false).
    const cp = cpSpawn('sleep', ['10'], { stdio: 'ignore' });
    const stale = AsyncPidFd.fromChild(cp);
    const sub = spawn('sleep', ['10'], { stdio: 'ignore' });
    const pids = [cp.pid, sub.pid];
    cp.kill('SIGKILL'); await exited(cp);
    sub.kill('SIGKILL'); await sub.exited;
    for (const [which, pid] of pids.entries()) {
      let next = null;
      for (let attempt = 0; attempt < 20 && next === null; attempt++) {
        writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
        const candidate = spawn('sleep', ['10'], { stdio: 'ignore' });
        if (candidate.pid === pid) next = candidate;
        else { candidate.kill('SIGKILL'); await candidate.exited; }
      }
      if (next === null) continue;
      result.landed++;
      let hit = false;
      if (which === 0) {
        try { stale.kill('SIGKILL'); hit = true } catch (e) { if (e.code === 'ESRCH') result.refusedByKernel++; else hit = true }
      } else {
        if (sub.kill('SIGKILL')) hit = true; else result.subprocessFalse++;
      }
      await new Promise((r) => setTimeout(r, 5));
      if (hit || next.pidfd.tryWait() !== null) result.misdirected++;
      try { process.kill(pid, 0); result.processKillWouldHit++ } catch {}
      next.kill('SIGKILL'); await next.exited;
    }
    stale.close();
  }
  console.log(JSON.stringify(result));
})().catch((e) => { console.error(e); process.exit(1) });
`

runsIf(userNamespaces, 'PID reuse')('PID reuse: 100 rounds, the old pidfd and the old Subprocess never reach the process now on their pid', async (t) => {
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'unshare',
      ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', process.execPath, '-e', script],
      { timeout: 120_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    )
  })
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout) as Record<string, number>
  t.log(JSON.stringify(r))
  t.is(r.misdirected, 0)
  t.true(r.landed! >= 180, `a new process landed on the old pid in ${r.landed} of 200 cases`)
  t.is(r.refusedByKernel! + r.subprocessFalse!, r.landed!)
  t.is(r.processKillWouldHit, r.landed, 'process.kill(pid) would have hit the new process every time')
})

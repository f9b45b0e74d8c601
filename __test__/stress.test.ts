// Stress: 2,000 processes with random exits, random kills and random concurrent waits, from the
// main thread and from 4 worker threads; every process accounted for with the right status,
// none left as a zombie, no unhandled rejection.

import test from 'ava'

import { entry, runNode } from './helpers.js'

const perThread = 400

const body = `
const { spawn: cpSpawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { spawn, AsyncPidFd, PidFd } = require(${JSON.stringify(entry)});
const rand = (n) => Math.floor(Math.random() * n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function stress(count) {
  const bad = [];
  const pids = [];
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    await sleep(rand(200));
    const code = rand(100);
    const delay = (rand(50) / 1000).toFixed(3);
    const viaChildProcess = i % 4 === 3;
    const child = viaChildProcess
      ? cpSpawn('sh', ['-c', 'sleep ' + delay + '; exit ' + code], { stdio: 'ignore' })
      : spawn('sh', ['-c', 'sleep ' + delay + '; exit ' + code], { stdio: 'ignore' });
    pids.push(child.pid);
    const waits = [];
    const fd = viaChildProcess ? AsyncPidFd.fromChild(child) : child.pidfd;
    for (let w = rand(4); w >= 0; w--) waits.push(fd.wait());
    if (!viaChildProcess) waits.push(child.exited);
    if (rand(3) === 0) {
      // Right after the spawn; the package may have reaped a fast child already (ESRCH).
      try { waits.push(AsyncPidFd.fromPid(child.pid).wait()) } catch (e) { if (e.code !== 'ESRCH') throw e }
    }
    let killed = false;
    if (rand(2) === 0) { await sleep(rand(40)); killed = child.kill('SIGKILL'); }
    const results = (await Promise.all(waits)).filter((r) => r !== null);
    const own = await Promise.all([fd.wait(), fd.wait()]);
    if (own[0] !== own[1]) bad.push({ i, sameHandleDiffers: true });
    for (const r of results) {
      const natural = r.status === 'exited' && r.code === code;
      const byKill = r.status === 'signaled' && r.signal === 'SIGKILL';
      if (!(natural || (byKill && killed))) bad.push({ i, code, killed, r: { status: r.status, code: r.code, signal: r.signal } });
      // Handles agree on how it ended (a second handle on a child_process child may have lost
      // the race for its rusage to libuv; one handle's waiters share one record).
      const how = (x) => JSON.stringify([x.status, x.code, x.signal]);
      if (how(r) !== how(results[0])) bad.push({ i, mismatch: true });
    }
    if (!viaChildProcess && results[0] && results[0].rusage === null) bad.push({ i, noRusage: true });
    fd.close();
  }));
  // Until none is a zombie (reaped at the next SIGCHLD), up to 10 s: not a fixed 100 ms a busy
  // machine can outlast. One never reaped stays, and is reported.
  const zombieOf = () => pids.filter((pid) => { try { return / Z /.test(readFileSync('/proc/' + pid + '/stat', 'utf8')) } catch { return false } });
  for (let i = 0; i < 500 && zombieOf().length > 0; i++) await sleep(20);
  const zombies = zombieOf();
  return { count, bad, zombies };
}
`

test(`stress: ${perThread * 5} processes from the main thread and 4 workers`, async (t) => {
  const run = await runNode(
    `${body}
     const { Worker } = require('node:worker_threads');
     let unhandled = 0;
     process.on('unhandledRejection', () => unhandled++);
     (async () => {
       const workerCode = ${JSON.stringify(body)} + "stress(${perThread}).then((r) => require('node:worker_threads').parentPort.postMessage(r));";
       const workers = Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
         const w = new Worker(workerCode, { eval: true });
         w.on('message', resolve); w.on('error', reject);
       }));
       const all = await Promise.all([stress(${perThread}), ...workers]);
       console.log(JSON.stringify({ all, unhandled }));
     })().catch((e) => { console.error(e); process.exit(1) });`,
    { timeoutMs: 120_000 },
  )
  t.is(run.code, 0, run.stderr)
  const { all, unhandled } = JSON.parse(run.stdout) as { all: Array<{ count: number; bad: unknown[]; zombies: number[] }>; unhandled: number }
  t.is(all.reduce((s, r) => s + r.count, 0), perThread * 5)
  t.deepEqual(all.flatMap((r) => r.bad), [])
  t.deepEqual(all.flatMap((r) => r.zombies), [])
  t.is(unhandled, 0)
})

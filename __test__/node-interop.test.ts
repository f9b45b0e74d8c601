// Living beside child_process: libuv keeps reaping its own children, 'exit' still fires,
// and Node's event loop ends when nothing is pending.

import test from 'ava'

import { kernelAtLeast, runNode } from './helpers.js'

test("'exit' of child_process children still fires and Node exits while AsyncPidFds wait on them", async (t) => {
  const run = await runNode(`
    const { spawn } = require('node:child_process');
    const results = [];
    for (let i = 0; i < 20; i++) {
      const child = spawn('sh', ['-c', 'sleep 0.0' + (i % 10) + '; exit ' + i]);
      const fd = pidfd.AsyncPidFd.fromPid(child.pid);
      const r = { i };
      results.push(r);
      child.on('exit', (code, signal) => { r.event = code });
      fd.wait().then((e) => { r.wait = e.code; r.rusage = e.rusage !== null; fd.close() }, (e) => { r.error = e.code });
    }
    process.on('exit', () => console.log(JSON.stringify(results)));
  `)
  t.is(run.code, 0, run.stderr)
  const results = JSON.parse(run.stdout) as Array<{ i: number; event?: number; wait?: number; error?: string; rusage: boolean }>
  t.is(results.length, 20)
  for (const r of results) {
    t.is(r.event, r.i, `'exit' fired for child ${r.i}`)
    if (r.error === 'ECHILD' && !kernelAtLeast(6, 15)) {
      // libuv reaped first and this kernel keeps no exit status (PIDFD_INFO_EXIT needs 6.15).
      continue
    }
    t.is(r.wait, r.i, `wait resolved for child ${r.i}: ${JSON.stringify(r)}`)
  }
  const captured = results.filter((r) => r.rusage).length
  t.log(`rusage captured for ${captured}/20 (the rest lost the race to libuv's reap)`)
  t.true(captured >= 16, `rusage captured for only ${captured}/20`)
})

test('a pending wait keeps Node alive until the exit; nothing is left ref\'d afterwards', async (t) => {
  const run = await runNode(`
    const { spawn } = require('node:child_process');
    const child = spawn('sleep', ['0.3'], { stdio: 'ignore' });
    child.unref(); // only our wait can keep the loop alive now
    const fd = pidfd.AsyncPidFd.fromPid(child.pid);
    fd.wait().then((e) => console.log('cp', e.status, e.code));
    pidfd.spawn('sh', ['-c', 'sleep 0.2; exit 4'], { stdio: 'ignore' }).exited.then((e) => console.log('ours', e.code));
  `)
  t.is(run.code, 0, run.stderr)
  t.deepEqual(run.stdout.trim().split('\n').sort(), ['cp exited 0', 'ours 4'])
})

test('a spawned child whose exit nobody awaits still keeps Node alive, like a child_process child', async (t) => {
  const started = Date.now()
  const run = await runNode(`
    pidfd.spawn('sleep', ['0.3'], { stdio: 'ignore' });
    process.on('exit', () => console.log('exit'));
  `)
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'exit\n')
  t.true(Date.now() - started >= 300)
})

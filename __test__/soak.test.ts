// Soak: many spawn+wait cycles and pidfd open/close cycles, with the descriptor count stable and
// the RSS growth slope small after warm-up (judged by the least-squares slope of RSS after a
// forced GC, projected over the whole run). SOAK_CYCLES sets the count (CI: 5,000; `npm run
// soak`: 100,000, and it prints the figures).

import test from 'ava'

import { runNode } from './helpers.js'

const cycles = Number(process.env.SOAK_CYCLES ?? 5000)

const script = `
const { readdirSync } = require('node:fs');
const fds = () => readdirSync('/proc/self/fd').length;
const rssMiB = () => { globalThis.gc(); return process.memoryUsage().rss / 2 ** 20; };
(async () => {
  const n = ${cycles};
  const samples = [];
  let fdsAfterWarmup = 0;
  const warmup = Math.max(200, Math.floor(n / 10));
  for (let i = 0; i < n; i++) {
    const sub = pidfd.spawn('true', [], { stdio: 'ignore' });
    const exit = await sub.exited;
    if (exit.code !== 0 || exit.rusage === null) throw new Error('bad exit ' + JSON.stringify(exit));
    sub.pidfd.close();
    const a = pidfd.PidFd.fromPid(process.pid); a.close();
    const b = pidfd.AsyncPidFd.fromPid(process.pid); b.close();
    if (i === warmup) fdsAfterWarmup = fds();
    if (i >= warmup && (i - warmup) % Math.max(1, Math.floor((n - warmup) / 20)) === 0) samples.push([i, rssMiB()]);
  }
  // Until the descriptors are back (watchers close on their own thread), up to 20 s: not a fixed
  // 100 ms a busy machine can outlast. Leaked ones stay, and are reported.
  for (let i = 0; i < 1000 && fds() > fdsAfterWarmup; i++) await new Promise((r) => setTimeout(r, 20));
  // Least-squares slope of RSS over cycles after the warm-up, projected over the whole run.
  const mx = samples.reduce((s, [x]) => s + x, 0) / samples.length;
  const my = samples.reduce((s, [, y]) => s + y, 0) / samples.length;
  const slope = samples.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / samples.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  console.log(JSON.stringify({ cycles: n, fdsAfterWarmup, fdsAtEnd: fds(), rssFirstMiB: samples[0][1], rssLastMiB: samples.at(-1)[1], growthMiB: slope * n }));
})().catch((e) => { console.error(e); process.exit(1) });
`

test(`soak: ${cycles} spawn+wait cycles and ${2 * cycles} pidfd open/close cycles`, async (t) => {
  // A fixed young generation: V8 otherwise doubles it (to 32 MiB) under allocation pressure,
  // a step in RSS that is V8's sizing, not a leak (heapUsed stays flat either way).
  const run = await runNode(script, { nodeArgs: ['--expose-gc', '--max-semi-space-size=2'], timeoutMs: Math.max(120_000, cycles * 10) })
  t.is(run.code, 0, run.stderr)
  const r = JSON.parse(run.stdout) as { fdsAfterWarmup: number; fdsAtEnd: number; growthMiB: number; rssFirstMiB: number; rssLastMiB: number }
  t.log(JSON.stringify(r))
  t.true(r.fdsAtEnd <= r.fdsAfterWarmup, `descriptors ${r.fdsAfterWarmup} after warm-up, ${r.fdsAtEnd} at the end`)
  t.true(r.growthMiB < 20, `RSS grows ${r.growthMiB.toFixed(1)} MiB over the run by its slope`)
})

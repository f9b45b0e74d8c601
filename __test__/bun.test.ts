// The package under Bun, which runs N-API modules: its event loop is not libuv (its uv_*
// functions are stubs that abort the process), so the watcher thread alone must serve.

import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { entry, root } from './helpers.js'

// Bun comes from npm with the benchmark's tools (`npm ci` in bench/; .ci/run installs them).
const bun = join(root, 'bench', 'node_modules', '.bin', 'bun')
const available = existsSync(bun)
if (!available) console.log(`bun tests skipped: no Bun at ${bun} (run npm ci in bench/)`)

;(available ? test : test.skip)('under Bun: spawn, fromChild and a non-child\'s fromPid wait, without the loop peek that would abort', async (t) => {
  const script = `
    const pidfd = require(${JSON.stringify(entry)});
    const cp = require('node:child_process');
    (async () => {
      const spawned = await pidfd.spawn('sh', ['-c', 'exit 3']).exited;
      const child = cp.spawn('sh', ['-c', 'sleep 0.1; exit 4']);
      const fromChild = await pidfd.AsyncPidFd.fromChild(child).wait();
      const sh = cp.spawn('sh', ['-c', 'sleep 0.2 & echo $!; wait']);
      const pid = await new Promise((r) => sh.stdout.once('data', (d) => r(Number(String(d).trim()))));
      const fromPid = await pidfd.AsyncPidFd.fromPid(pid).wait();
      console.log(JSON.stringify({ spawned: [spawned.code, !!spawned.rusage], fromChild: fromChild.code, fromPid: fromPid.status }));
    })();
  `
  const run = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
    execFile(bun, ['-e', script], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
  )
  t.is(run.err, null, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { spawned: [3, true], fromChild: 4, fromPid: 'exited' })
})

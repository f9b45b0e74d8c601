// spawn() and kill() under real seccomp filters, as container runtimes install them: a small C
// wrapper (fixtures/seccomp-run.c, built here with the C compiler the build already needs)
// installs a raw BPF filter and execs Node.

import test from 'ava'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { entry, root } from './helpers.js'

const EPERM = 1
const ENOSYS = 38
const dir = mkdtempSync(join(tmpdir(), 'pidfd-seccomp-'))
const wrapper = join(dir, 'seccomp-run')
let built: string | null = null
try {
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Werror', '-o', wrapper, join(root, '__test__/fixtures/seccomp-run.c')], { stdio: 'pipe' })
} catch (err) {
  built = `no C compiler to build the seccomp wrapper: ${(err as Error).message.split('\n')[0]}`
}
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `script` (with `pidfd` and `native` loaded) in a Node under the filter `rules`. */
function underFilter(rules: string[], script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = `const pidfd = require(${JSON.stringify(entry)}); const native = require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding;\n${script}`
  return new Promise((resolve) => {
    execFile(wrapper, [...rules, '--', process.execPath, '-e', code], { timeout: 20_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })
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

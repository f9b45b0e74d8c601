// The spawn helper: maxRSS that is the child's own, Node as the parent and only reaper, and
// this process's state at the moment of each spawn.

import test from 'ava'
import { text } from 'node:stream/consumers'
import { readdirSync, readFileSync } from 'node:fs'

import { spawn } from '../index.js'
import { binding } from '../lib/native.js'
import { entry, installedCopy, kernelAtLeast, markIn, noStrace, root, runNode, runsIf, sliceOf, sliceShown, straceNode } from './helpers.js'

/** Runs /bin/true from a Node parent holding `mib` MiB and returns the maxRSS it reports (KiB). */
async function maxRssFromBigParent(mib: number, env: Record<string, string> = {}): Promise<number> {
  const run = await runNode(
    `const hold = Buffer.alloc(${mib} * 1024 * 1024, 1);
     pidfd.spawn('/bin/true', [], { stdio: 'ignore' }).exited.then((e) => {
       console.log(JSON.stringify({ maxRSS: e.rusage.maxRSS, parentKiB: Math.round(process.memoryUsage().rss / 1024), held: hold[7] }));
     });`,
    { env },
  )
  if (run.code !== 0) throw new Error(run.stderr)
  const { maxRSS, parentKiB } = JSON.parse(run.stdout) as { maxRSS: number; parentKiB: number }
  if (parentKiB < mib * 1024) throw new Error(`the parent held only ${parentKiB} KiB`)
  return maxRSS
}

test('/bin/true spawned from a parent holding 500 MB reports maxRSS under 10 MB', async (t) => {
  const maxRSS = await maxRssFromBigParent(500)
  t.true(maxRSS < 10 * 1024, `maxRSS ${maxRSS} KiB`)
  t.log(`maxRSS of /bin/true: ${maxRSS} KiB`)
})

test('where memfd exec is refused, the pidfd-helper file beside the .node runs instead', async (t) => {
  const maxRSS = await maxRssFromBigParent(500, { PIDFD_SPAWN_MEMFD: '0' })
  t.true(maxRSS < 10 * 1024, `maxRSS ${maxRSS} KiB`)
})

test('a package copy without the pidfd-helper file, memfd or not: every spawn runs in-process (no helper, no error), as where the helper is turned off', async (t) => {
  // The built package laid out as npm installs it, with its .node and without its helper program.
  const { app, done } = installedCopy(readdirSync(root).filter((f) => f.endsWith('.node')))
  t.teardown(done)
  for (const memfd of ['1', '0']) {
    const run = await runNode(
      `const pidfd = require('pidfd');
       const binding = require('./node_modules/pidfd/lib/native.js').binding;
       const hold = Buffer.alloc(300 * 1024 * 1024, 1);
       (async () => {
         const codes = [];
         for (let i = 0; i < 3; i++) codes.push((await pidfd.spawn('sh', ['-c', 'exit ' + i], { stdio: 'ignore' }).exited).code);
         const last = await pidfd.spawn('/bin/true', [], { stdio: 'ignore' }).exited;
         console.log(JSON.stringify({ codes, helper: binding.spawnHelperPid() ?? null, maxRSS: last.rusage.maxRSS, held: hold[5] }));
       })();`,
      { prelude: false, cwd: app, env: { PIDFD_SPAWN_MEMFD: memfd } },
    )
    t.is(run.code, 0, run.stderr)
    const got = JSON.parse(run.stdout) as { codes: number[]; helper: number | null; maxRSS: number }
    t.deepEqual(got.codes, [0, 1, 2], `memfd ${memfd}`)
    t.is(got.helper, null, `memfd ${memfd}`)
    // In-process, the child's maxRSS counts the parent's memory at its start.
    t.true(got.maxRSS >= 300 * 1024, `memfd ${memfd}: maxRSS ${got.maxRSS} KiB`)
  }
})

test('without the helper (PIDFD_SPAWN_HELPER=0) the kernel reports the parent\'s memory, as for fork and posix_spawn', async (t) => {
  const maxRSS = await maxRssFromBigParent(500, { PIDFD_SPAWN_HELPER: '0' })
  t.true(maxRSS >= 500 * 1024, `maxRSS ${maxRSS} KiB`)
})

test('a child touching 100 MiB reports at least that', async (t) => {
  const touch = 'const b = Buffer.alloc(100 * 1024 * 1024); b.fill(1); if (b[7] !== 1) process.exit(9)'
  const exit = await spawn(process.execPath, ['-e', touch]).exited
  t.is(exit.code, 0)
  t.true(exit.rusage!.maxRSS >= 100 * 1024, `maxRSS ${exit.rusage!.maxRSS} KiB`)
})

test('Node is the parent of the child, and the package its reaper', async (t) => {
  const sub = spawn('sh', ['-c', 'grep PPid /proc/$$/status'])
  t.is(await text(sub.stdout!), `PPid:\t${process.pid}\n`)
  const exit = await sub.exited
  t.is(exit.siginfo?.pid, sub.pid)
  t.truthy(exit.rusage)
})

test("each spawn gets this process's cwd, umask and limits of that moment", async (t) => {
  const run = await runNode(`
    const { text } = require('node:stream/consumers');
    const { execFileSync } = require('node:child_process');
    const show = async () => {
      const sub = pidfd.spawn('sh', ['-c', 'pwd; umask; ulimit -n'])
      const out = await text(sub.stdout); await sub.exited; return out.trim().split('\\n');
    };
    (async () => {
      const before = await show();          // starts the helper
      process.chdir('/tmp');
      process.umask(0o027);
      execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=1234:4321']);
      const after = await show();
      console.log(JSON.stringify({ before, after }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const { before, after } = JSON.parse(run.stdout) as { before: string[]; after: string[] }
  t.not(before[0], '/tmp')
  t.deepEqual(after, ['/tmp', '0027', '1234'])
})

test('a request larger than the helper\'s socket takes (1.6 MB of argv and env), to a helper stopped meanwhile: sent in parts as the helper reads, to the same helper; the child gets all of it, as from child_process, and is the helper\'s (its own maxRSS)', async (t) => {
  // The child says what it got: the env's PIDFD_BIG_* lengths and first digits, each argument's
  // length and first letter. Eight variables of 100 KiB (digits 0-7) and eight arguments
  // (a-h): 1.6 MB.
  const script = "let n = 0, sum = 0; for (const [k, v] of Object.entries(process.env)) if (k.startsWith('PIDFD_BIG_')) { n += v.length; sum += Number(v[0]) } console.log(JSON.stringify({ n, sum, args: process.argv.slice(1).map((a) => a.length + a[0]) }))"
  // From a parent holding 300 MB: a child spawned in-process (the fallback, should the request
  // fail) would report that as its maxRSS. The helper is stopped until this thread waits in
  // poll for room on the socket (so the socket is full, EAGAIN), then continued.
  const run = await runNode(
    `const hold = Buffer.alloc(300 * 1024 * 1024, 1);
     const binding = require(${JSON.stringify(new URL('../lib/native.js', import.meta.url).pathname)}).binding;
     const { text } = require('node:stream/consumers');
     const env = { PATH: process.env.PATH };
     for (let i = 0; i < 8; i++) env['PIDFD_BIG_' + i] = String(i % 10).repeat(100 * 1024);
     const args = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(100 * 1024));
     const script = ${JSON.stringify(script)};
     (async () => {
       await pidfd.spawn('true').exited;
       const helper = binding.spawnHelperPid();
       process.kill(helper, 'SIGSTOP');
       const polling = 'i=0; while [ $i -lt 1000 ] && ! grep -q poll /proc/' + process.pid + '/wchan; do sleep 0.01; i=$((i+1)); done; kill -CONT ' + helper;
       require('node:child_process').spawn('sh', ['-c', polling], { stdio: 'ignore' }).unref();
       const node = pidfd.spawn(process.execPath, ['-e', script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
       const [out, exit] = await Promise.all([text(node.stdout), node.exited]);
       const exited = await pidfd.spawn('/bin/true', args, { env, stdio: 'ignore' }).exited;
       const theirs = require('node:child_process').spawnSync(process.execPath, ['-e', script, ...args], { env, encoding: 'utf8' }).stdout;
       console.log(JSON.stringify({ out, theirs, code: exit.code, maxRSS: exited.rusage.maxRSS, sameHelper: binding.spawnHelperPid() === helper, held: hold[7] }));
     })();`,
  )
  t.is(run.code, 0, run.stderr)
  const got = JSON.parse(run.stdout) as { out: string; theirs: string; code: number; maxRSS: number; sameHelper: boolean }
  t.is(got.code, 0)
  t.is(got.out, got.theirs)
  t.deepEqual(JSON.parse(got.out), { n: 8 * 100 * 1024, sum: 28, args: [...'abcdefgh'].map((c) => `${100 * 1024}${c}`) })
  t.true(got.maxRSS < 10 * 1024, `maxRSS ${got.maxRSS} KiB`)
  t.true(got.sameHelper, 'the request waited for the stopped helper instead of giving it up')
})

test('a helper that was killed is replaced at the next spawn', async (t) => {
  const run = await runNode(`
    const binding = require(${JSON.stringify(new URL('../lib/native.js', import.meta.url).pathname)}).binding;
    (async () => {
      await pidfd.spawn('true').exited;
      const first = binding.spawnHelperPid();
      process.kill(first, 'SIGKILL');
      // Until it has died (a zombie, or reaped), up to 10 s: not a fixed wait.
      const dead = () => { try { return /^\\d+ \\(.*\\) [ZX]/.test(require('node:fs').readFileSync('/proc/' + first + '/stat', 'utf8')) } catch { return true } };
      for (const end = Date.now() + 10_000; !dead() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      const exit = await pidfd.spawn('sh', ['-c', 'exit 4']).exited;
      console.log(JSON.stringify({ first, second: binding.spawnHelperPid(), code: exit.code }));
    })();
  `)
  t.is(run.code, 0, run.stderr)
  const { first, second, code } = JSON.parse(run.stdout) as { first: number; second: number; code: number }
  t.is(code, 4)
  t.true(first > 0 && second > 0 && first !== second)
})

runsIf(sliceShown ? null : 'this kernel does not show the slice (no CONFIG_SCHED_DEBUG)', 'the default slice')("the helper's short scheduler slice is not passed on: a child has the default slice, as Node has", async (t) => {
  const sub = spawn('cat', ['/proc/self/sched'])
  const childSlice = sliceOf(await text(sub.stdout!))
  t.is(childSlice, sliceOf(readFileSync('/proc/self/sched', 'utf8')))
  t.not(childSlice, '100000')
})

runsIf(
  !sliceShown ? 'this kernel does not show the slice (no CONFIG_SCHED_DEBUG)' : kernelAtLeast(6, 12) ? null : 'a slice of its own needs Linux 6.12 (EEVDF)',
  "the helper's short slice",
)("the helper itself runs with a 100 µs scheduler slice (it wakes to hand over each child's pidfd)", async (t) => {
  await spawn('true', [], { stdio: 'ignore' }).exited
  const helper = binding.spawnHelperPid()
  t.truthy(helper, 'a helper runs')
  t.is(sliceOf(readFileSync(`/proc/${helper}/sched`, 'utf8')), '100000')
})

runsIf(noStrace, 'one spawn: one sendmsg to the helper, one read per /proc file')(
  'one spawn costs Node one sendmsg to the helper and one read for each /proc file of its identity check (strace)',
  async (t) => {
    // The first spawn starts the helper; the second one, after the mark, is the one counted.
    const script = `const pidfd = require(${JSON.stringify(entry)});
      (async () => {
        await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
        process.stderr.write('MARK\\n');
        await pidfd.spawn('true', [], { stdio: 'ignore' }).exited;
      })();`
    const lines = await straceNode(script, ['open', 'openat', 'read', 'sendmsg', 'write'])
    const mark = markIn(lines)
    t.true(mark > 0, 'the mark is in the trace')
    const after = lines.slice(mark)
    t.is(after.filter((l) => / sendmsg\(/.test(l)).length, 1, 'the request goes in one message')
    for (const file of ['/proc/thread-self/status', '/proc/self/cgroup']) {
      // glibc opens with openat, musl with open.
      const at = after.findIndex((l) => l.includes(`openat(AT_FDCWD, "${file}"`) || l.includes(` open("${file}"`))
      t.true(at >= 0, `${file} is read`)
      const fd = /= (\d+)$/.exec(after[at]!)?.[1]
      const next = after.findIndex((l, i) => i > at && / open(at)?\(/.test(l))
      const reads = after.slice(at + 1, next < 0 ? undefined : next).filter((l) => l.includes(` read(${fd},`))
      // One read with the file, one that finds its end.
      t.true(reads.length <= 2, `${file}: ${reads.length} reads`)
    }
  },
)

// The package under Bun, which runs N-API modules: its event loop is not libuv (its uv_*
// functions are stubs that abort the process), so the watcher thread alone must serve, and its
// net.Socket reads a pipe's descriptor only when given it by connect({ fd }) (lib/subprocess.ts).

import test, { type ExecutionContext } from 'ava'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { entry, root, tempDir } from './helpers.js'

const childProcess = join(root, 'lib', 'child_process.js')

// Bun comes from npm with the benchmark's tools (`npm ci` in bench/; .ci/run installs them).
const bun = join(root, 'bench', 'node_modules', '.bin', 'bun')
const available = existsSync(bun)
if (!available) console.log(`bun tests skipped: no Bun at ${bun} (run npm ci in bench/)`)

;(available ? test : test.skip)('under Bun: spawn, fromChild and a non-child\'s fromPid wait, without the loop peek that would abort', async (t) => {
  const dir = tempDir('pidfd-bun-')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const script = `
    const pidfd = require(${JSON.stringify(entry)});
    const cp = require('node:child_process');
    (async () => {
      const spawned = await pidfd.spawn('sh', ['-c', 'exit 3']).exited;
      const child = cp.spawn('sh', ['-c', 'sleep 0.1; exit 4']);
      const fromChild = await pidfd.AsyncPidFd.fromChild(child).wait();
      // The grandchild ends when told, by a line on a FIFO, once its pidfd is open.
      const sh = cp.spawn('sh', ['-c', 'sh -c "read line <\\"\\$0\\"" "$0" & echo $!; wait', ${JSON.stringify(fifo)}]);
      const pid = await new Promise((r) => sh.stdout.once('data', (d) => r(Number(String(d).trim()))));
      const waiting = pidfd.AsyncPidFd.fromPid(pid).wait();
      require('node:fs').writeFileSync(${JSON.stringify(fifo)}, 'go\\n');
      const fromPid = await waiting;
      console.log(JSON.stringify({ spawned: [spawned.code, !!spawned.rusage], fromChild: fromChild.code, fromPid: fromPid.status }));
    })();
  `
  const run = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
    execFile(bun, ['-e', script], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
  )
  t.is(run.err, null, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { spawned: [3, true], fromChild: 4, fromPid: 'exited' })
})

/**
 * Runs `script` (CommonJS, `pidfd` and `cp` in scope: the package and its child_process) with
 * Bun. A script prints one line of JSON once its events came; one whose events never come prints
 * nothing (Bun exits with nothing left to wait for, or the timeout ends it).
 */
function underBun(script: string): Promise<{ err: Error | null; stdout: string; stderr: string }> {
  const prelude = `const pidfd = require(${JSON.stringify(entry)}); const cp = require(${JSON.stringify(childProcess)});\n`
  return new Promise((resolve) =>
    execFile(bun, ['-e', prelude + script], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
  )
}

/** The script's line of JSON, or a failure that shows what Bun printed. */
function output(t: ExecutionContext, run: { err: Error | null; stdout: string; stderr: string }): unknown {
  t.is(run.err, null, `${run.stdout}\n${run.stderr}`)
  try {
    return JSON.parse(run.stdout)
  } catch {
    t.fail(`no JSON from Bun: ${JSON.stringify(run.stdout)}\n${run.stderr}`)
    return undefined
  }
}

;(available ? test : test.skip)('under Bun: piped stdout and stderr give their data, then the exit, then close with the code', async (t) => {
  const run = await underBun(`
    const child = pidfd.spawn('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    const seen = { stdout: '', stderr: '', events: [] };
    child.stdout.on('data', (d) => (seen.stdout += d));
    child.stderr.on('data', (d) => (seen.stderr += d));
    child.stdout.on('end', () => seen.events.push('stdout end'));
    child.stderr.on('end', () => seen.events.push('stderr end'));
    child.on('exit', (code, signal) => seen.events.push(['exit', code, signal]));
    child.on('close', (code, signal) => {
      seen.events.push(['close', code, signal]);
      seen.exitCode = child.exitCode;
      seen.pipesDestroyed = child.stdout.destroyed && child.stderr.destroyed;
      console.log(JSON.stringify(seen));
    });
  `)
  const seen = output(t, run) as { stdout: string; stderr: string; events: unknown[]; exitCode: number; pipesDestroyed: boolean }
  t.is(seen.stdout, 'out\n')
  t.is(seen.stderr, 'err\n')
  t.is(seen.exitCode, 3)
  // 'close' comes last, once the exit is known and both pipes ended and closed, as
  // child_process has it.
  t.deepEqual(seen.events.at(-1), ['close', 3, null])
  const before = seen.events.slice(0, -1).map((e) => JSON.stringify(e))
  t.deepEqual(before.sort(), [JSON.stringify(['exit', 3, null]), '"stderr end"', '"stdout end"'].sort())
  t.true(seen.pipesDestroyed)
})

;(available ? test : test.skip)('under Bun: what is written to stdin comes back from cat, past the socket buffer', async (t) => {
  // 1 MiB: more than the socket pair holds, so the writes must wait for cat to read.
  const run = await underBun(`
    const child = pidfd.spawn('cat');
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    const line = 'hello from Bun\\n';
    const block = Buffer.alloc(1 << 20, 'x');
    child.stdin.write(line);
    child.stdin.end(block);
    child.on('close', (code) => {
      const all = Buffer.concat(chunks);
      console.log(JSON.stringify({
        code,
        length: all.length,
        head: all.subarray(0, line.length).toString(),
        tailIsBlock: all.subarray(line.length).equals(block),
      }));
    });
  `)
  t.deepEqual(output(t, run), { code: 0, length: 15 + (1 << 20), head: 'hello from Bun\n', tailIsBlock: true })
})

;(available ? test : test.skip)("under Bun: execFile calls back with the child's output, and with its exit code as the error", async (t) => {
  const run = await underBun(`
    cp.execFile('sh', ['-c', 'echo out; echo err >&2'], (error, stdout, stderr) => {
      cp.execFile('sh', ['-c', 'echo partial; exit 2'], (failed, failedOut) => {
        console.log(JSON.stringify({ error, stdout, stderr, failed: [failed && failed.code, failedOut] }));
      });
    });
  `)
  t.deepEqual(output(t, run), { error: null, stdout: 'out\n', stderr: 'err\n', failed: [2, 'partial\n'] })
})

;(available ? test : test.skip)('under Bun: promisified exec resolves with stdout and stderr', async (t) => {
  const run = await underBun(`
    const { promisify } = require('node:util');
    promisify(cp.exec)('echo a; echo b >&2').then(
      ({ stdout, stderr }) => console.log(JSON.stringify({ stdout, stderr })),
      (err) => console.log(JSON.stringify({ rejected: String(err) })),
    );
  `)
  t.deepEqual(output(t, run), { stdout: 'a\n', stderr: 'b\n' })
})

;(available ? test : test.skip)("under Bun: spawnSync gives the output, the status and the child's usage", async (t) => {
  const run = await underBun(`
    const r = cp.spawnSync('sh', ['-c', 'cat; echo err >&2; exit 4'], { input: 'in' });
    console.log(JSON.stringify({
      status: r.status,
      signal: r.signal,
      stdout: String(r.stdout),
      stderr: String(r.stderr),
      maxRSS: r.resourceUsage && r.resourceUsage.maxRSS > 0,
    }));
  `)
  t.deepEqual(output(t, run), { status: 4, signal: null, stdout: 'in', stderr: 'err\n', maxRSS: true })
})

;(available ? test : test.skip)("under Bun: fork and an 'ipc' stdio entry throw ERR_FEATURE_UNAVAILABLE_ON_PLATFORM saying why", async (t) => {
  const run = await underBun(`
    const seen = [() => pidfd.fork(__filename), () => cp.fork(__filename), () => pidfd.spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] })].map((f) => {
      try { f(); return 'no error' } catch (err) { return [err.code, /Bun does not have/.test(err.message)] }
    });
    console.log(JSON.stringify({ seen }));
  `)
  t.deepEqual(output(t, run), { seen: [['ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', true], ['ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', true], ['ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', true]] })
})

// What an inherited environment can do to an app: nothing that stalls or crashes it. Every
// variable the package's sources read is in docs/environment.md's table (read here from the
// sources themselves), the spawn helper's test hooks are out of the environment's reach, and an
// app under pidfd/register, started with each variable set to hostile values, still sees every
// child it starts (spawn, execFile, spawnSync, fork with a message each way) and ends on its own.

import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { childProcessApp, entry, root, runNode, tempDir } from './helpers.js'

const dir = tempDir('pidfd-environment-')
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

function sources(folder: string, suffix: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix) && !f.endsWith('.d.ts') && !f.includes('node_modules'))
    .map((f) => readFileSync(join(root, folder, f), 'utf8'))
}

/** Every variable read: Rust's env::var and the switches' literals, TypeScript's process.env, C's getenv. */
function variablesRead(): Set<string> {
  const names = new Set<string>()
  const add = (texts: string[], patterns: RegExp[]) => {
    for (const text of texts) for (const p of patterns) for (const m of text.matchAll(p)) names.add(m[1]!)
  }
  const rust = [...sources('src', '.rs'), readFileSync(join(root, 'build.rs'), 'utf8')]
  add(rust, [/env::var(?:_os)?\(\s*"([A-Z0-9_]+)"/g, /"(PIDFD_[A-Z0-9_]+)"/g])
  const ts = [...sources('lib', '.ts'), ...sources('bin', '.ts'), readFileSync(join(root, 'index.ts'), 'utf8')]
  add(ts, [/process\.env\.([A-Z0-9_]+)/g, /process\.env\[['"]([A-Z0-9_]+)['"]\]/g, /Deno\.env\.get\(['"]([A-Z0-9_]+)['"]\)/g])
  add(sources('helper', '.c'), [/getenv\("([A-Z0-9_]+)"\)/g])
  // In a mutant run's sandbox (docs/mutants.md), StrykerJS's instrumented lib/ reads the mutant to
  // activate from __STRYKER_ACTIVE_MUTANT__; no file of the package does.
  names.delete('__STRYKER_ACTIVE_MUTANT__')
  return names
}

/** The first column of docs/environment.md's table, each name without its `=value`. */
function variablesDocumented(): Set<string> {
  const page = readFileSync(join(root, 'docs', 'environment.md'), 'utf8')
  return new Set([...page.matchAll(/^\| `([A-Z0-9_]+)[=`]/gm)].map((m) => m[1]!))
}

test('every variable the package reads is in the one table of docs/environment.md, and nothing else is', (t) => {
  const read = variablesRead()
  // The scan finds what it must: a variable of each kind of reader.
  for (const known of ['PIDFD_TRACE', 'PIDFD_DISABLE', 'PIDFD_SPAWN_HELPER', 'GITHUB_STEP_SUMMARY', 'PIDFD_HELPER_CC']) t.true(read.has(known), known)
  t.deepEqual([...read].sort(), [...variablesDocumented()].sort())
  t.false(read.has('PIDFD_HELPER_PAUSE'), 'the test hooks are not read from the environment')
  t.false(read.has('PIDFD_HELPER_DEADLINE'))
})

test("the test hooks are out of reach: not in the package's exports, and not through its subpaths", async (t) => {
  // The package refers to itself by name from its own folder, as an installed one is reached.
  const r = await runNode(
    `const seen = [];
     for (const path of ['pidfd/lib/native.js', 'pidfd/lib/native', 'pidfd/binding']) {
       try { require(path); seen.push(path + ' loaded') } catch (e) { seen.push(e.code) }
     }
     const exported = [require('pidfd'), require('pidfd/child_process')].flatMap((m) => Object.keys(m));
     seen.push(exported.filter((k) => /hook/i.test(k)).length);
     console.log(JSON.stringify(seen));`,
    { prelude: false, cwd: root },
  )
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), ['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 0])
})

for (const step of ['request', 'exec', 'reply']) {
  test(`PIDFD_HELPER_PAUSE=${step} and PIDFD_HELPER_DEADLINE=1 in the environment change nothing: every spawn runs, none waits`, async (t) => {
    // Read as hooks, the pause would stop the first helper for the 1 ms deadline (or 5 s), and
    // the deadline would fail spawns under the slightest load.
    const r = await runNode(
      `(async () => {
         const helper = [];
         const seen = [];
         for (let i = 0; i < 30; i++) {
           const sub = pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
           seen.push(await new Promise((resolve) => { sub.once('error', (e) => resolve(e.code)); sub.once('exit', (code) => resolve(code)) }));
           helper.push(require(${JSON.stringify(join(root, 'lib', 'native.js'))}).binding.spawnHelperPid());
         }
         console.log(JSON.stringify({ seen: [...new Set(seen)], helpers: new Set(helper).size }));
       })();`,
      { env: { PIDFD_HELPER_PAUSE: step, PIDFD_HELPER_DEADLINE: '1' } },
    )
    t.is(r.code, 0, r.stderr)
    t.deepEqual(JSON.parse(r.stdout), { seen: [7], helpers: 1 }, 'every child exited 7 through one helper, never killed')
  })
}

/** An app written for child_process: it handles 'error' where it may come, and prints what it saw. */
const { app: APP_FILE, works: EXPECTED } = childProcessApp(dir)
const APP = `require(${JSON.stringify(APP_FILE)})`

const FEATURES = ['pidfdOpen', 'waitidPidfd', 'pidfdNonblock', 'sendSignal', 'getFd', 'getInfo', 'infoExit', 'namespaces', 'reapWakeup']

const fifo = join(dir, 'unread.fifo')
execFileSync('mkfifo', [fifo])

/** Each variable with values an environment may hold, meant or not. */
const HOSTILE: Array<[string, string[]]> = [
  ['PIDFD_TRACE', ['', fifo, '/dev/full', '/nonexistent/dir/trace', dir, 'relative/\n/trace']],
  ['PIDFD_DISABLE', [...FEATURES, FEATURES.join(','), ',,garbage, pidfdOpen ,', '']],
  ['PIDFD_SPAWN_HELPER', ['0', '', 'no']],
  ['PIDFD_SPAWN_MEMFD', ['0', 'x']],
  ['PIDFD_LOOP_PEEK', ['0']],
  ['PIDFD_LOOP_REAP', ['0']],
  ['NODE_V8_COVERAGE', [join(dir, 'coverage')]],
]

for (const [name, values] of HOSTILE) {
  test(`${name} with hostile values: an app under pidfd/register sees every child and ends`, async (t) => {
    for (const value of values) {
      const r = await runNode(APP, { prelude: false, nodeArgs: ['--require', join(root, 'lib', 'register.js')], env: { [name]: value } })
      const what = `${name}=${JSON.stringify(value)}`
      t.is(r.signal, null, `${what}: ended by the test's timeout`)
      t.is(r.code, 0, `${what}: ${r.stderr}`)
      t.deepEqual(JSON.parse(r.stdout || 'null'), EXPECTED, what)
      // What is said of a sink that fails is said once (that it fails, then how many lines it
      // lost), not once per child: the app starts four.
      const lines = r.stderr.split('\n').filter(Boolean)
      t.true(lines.length <= 2 && lines.every((l) => l.startsWith(`pidfd: ${name}`)), `${what}: ${r.stderr}`)
    }
  })
}

test('GITHUB_STEP_SUMMARY naming a FIFO nobody reads: pidfd time ends, and says once that it could not write there', async (t) => {
  const cli = JSON.stringify(join(root, 'bin', 'pidfd.js'))
  const r = await runNode(`process.argv = [process.argv[0], ${cli}, 'time', '--', 'sh', '-c', 'exit 5']; require(${cli})`, {
    prelude: false,
    env: { GITHUB_STEP_SUMMARY: fifo },
  })
  t.is(r.signal, null, 'ended by the test timeout: the summary was waited on')
  t.is(r.code, 5, "the command's own status")
  t.is(r.stderr.split('\n').filter((l) => l.includes('GITHUB_STEP_SUMMARY')).length, 1, r.stderr)
})

/** What each of child_process and pidfd hands a child of `env` (the child's NODE_V8_COVERAGE
 * lines), from a Node whose own NODE_V8_COVERAGE is `coverage`; whether the env object given has
 * its own NODE_V8_COVERAGE after the spawn; and, under `worker`, the same from a worker thread
 * with no env given (a worker's environment is its own copy, which the package passes on). */
async function coverageSeen(coverage: string): Promise<Record<string, unknown>> {
  const script = join(dir, 'coverage-seen.js')
  writeFileSync(
    script,
    `const cp = require('node:child_process');
     const { isMainThread, parentPort, Worker } = require('node:worker_threads');
     const pidfd = require(${JSON.stringify(entry)});
     const envs = () => (isMainThread ? [undefined, {}, { NODE_V8_COVERAGE: 'its-own' }, Object.create({ NODE_V8_COVERAGE: 'inherited' })] : [undefined]);
     const seen = (lib, env) => new Promise((resolve) => {
       let out = '';
       const c = lib.spawn('/bin/sh', ['-c', "env | grep '^NODE_V8_COVERAGE=' || true"], { env, stdio: ['ignore', 'pipe', 'inherit'] });
       c.stdout.on('data', (d) => (out += d));
       c.on('close', () => resolve({ lines: out.split('\\n').filter(Boolean), own: env ? Object.hasOwn(env, 'NODE_V8_COVERAGE') : null }));
     });
     (async () => {
       const got = {};
       for (const [name, lib] of [['child_process', cp], ['pidfd', pidfd]]) got[name] = await Promise.all(envs().map((env) => seen(lib, env)));
       if (!isMainThread) return parentPort.postMessage(got);
       got.worker = await new Promise((resolve, reject) => new Worker(__filename).once('message', resolve).once('error', reject));
       console.log(JSON.stringify(got));
     })();`,
  )
  const r = await runNode(`require(${JSON.stringify(script)})`, { prelude: false, env: { NODE_V8_COVERAGE: coverage } })
  if (r.code !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

test('NODE_V8_COVERAGE reaches a child whose env is given, once, set on that env unless it has its own; an empty one does not (as child_process)', async (t) => {
  const coverage = join(dir, 'coverage-passed')
  const passed = `NODE_V8_COVERAGE=${coverage}`
  const set = await coverageSeen(coverage)
  t.deepEqual(
    set['child_process'],
    [
      { lines: [passed], own: null },
      { lines: [passed], own: true },
      { lines: ['NODE_V8_COVERAGE=its-own'], own: true },
      { lines: [passed], own: true },
    ],
    'child_process, as this test reads it',
  )
  t.deepEqual(set['pidfd'], set['child_process'])
  t.deepEqual(set['worker'], { child_process: [{ lines: [passed], own: null }], pidfd: [{ lines: [passed], own: null }] }, 'from a worker thread')
  const empty = await coverageSeen('')
  t.deepEqual(
    empty['child_process'],
    [
      { lines: ['NODE_V8_COVERAGE='], own: null },
      { lines: [], own: false },
      { lines: ['NODE_V8_COVERAGE=its-own'], own: true },
      { lines: ['NODE_V8_COVERAGE=inherited'], own: false },
    ],
    'child_process, as this test reads it',
  )
  t.deepEqual(empty['pidfd'], empty['child_process'])
  const none = [{ lines: ['NODE_V8_COVERAGE='], own: null }]
  t.deepEqual(empty['worker'], { child_process: none, pidfd: none }, 'from a worker thread')
})

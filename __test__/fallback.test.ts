// Where the package cannot serve, a library that depends on it still runs: pidfd/child_process
// and pidfd/register are Node's own child_process (a child's resourceUsage() is null), and
// pidfd itself says why it cannot load, or loads and says the kernel is too old. Three such
// places, each in fresh Node processes with real children: a foreign platform (process.platform
// redefined by a preload, before anything loads), Linux without the binary (a copy of the built
// package without its .node and without Cargo.toml, so the loader looks for the platform package),
// and Linux older than 5.4 (PIDFD_DISABLE=pidfdOpen: the package behaves as if pidfd_open were
// missing). Where the package serves, the same probe sees its functions (the last test), so the
// probe tells the two apart.

import { execFile } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import test, { type ExecutionContext } from 'ava'

import { root, tempDir } from './helpers.js'

const work = tempDir('pidfd-fallback-')
test.after.always(() => rmSync(work, { recursive: true, force: true }))
function file(name: string, source: string): string {
  const path = join(work, name)
  writeFileSync(path, source)
  return path
}

/** A preload that makes this process another platform's before anything else loads. */
const preload = (platform: string) =>
  file(`platform-${platform}.cjs`, `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)}, enumerable: true, configurable: true })\n`)

/** The built package without any .node file and without Cargo.toml: an install that lacks its platform package. */
const bare = join(work, 'bare')
cpSync(join(root, 'lib'), join(bare, 'lib'), { recursive: true, filter: (from) => !from.endsWith('.ts') && !from.endsWith('.node') })
cpSync(join(root, 'index.js'), join(bare, 'index.js'))
cpSync(join(root, 'package.json'), join(bare, 'package.json'))

interface Place {
  title: string
  /** The package's root there. */
  root: string
  /** Node's arguments before the script. */
  args: string[]
  env: Record<string, string>
  platform: string
}

const places: Place[] = [
  ...['darwin', 'win32', 'freebsd'].map((platform) => ({ title: `on ${platform}`, root, args: ['-r', preload(platform)], env: {}, platform })),
  { title: 'on Linux without the binary', root: bare, args: [], env: {}, platform: 'linux' },
  { title: 'on Linux older than 5.4 (PIDFD_DISABLE=pidfdOpen)', root, args: [], env: { PIDFD_DISABLE: 'pidfdOpen' }, platform: 'linux' },
]

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function node(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    // PIDFD_DISABLE only where a place sets it.
    const options = { cwd: work, env: { ...process.env, PIDFD_DISABLE: undefined, ...env }, timeout: 60_000 }
    execFile(process.execPath, args, options, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

/** The output of a run that must print one JSON line and nothing else. */
function json(t: ExecutionContext, run: Run): unknown {
  t.is(run.stderr, '', 'nothing on stderr')
  t.is(run.code, 0, 'exit code')
  return JSON.parse(run.stdout)
}

// A forked child: echoes one message with the platform it sees, and leaves (nothing listens on
// its channel any more). The parent does not disconnect: with Node's own fork, a disconnect in
// 'message' while the child leaves can lose 'close' (seen under Node 20 and 22).
file('echo.cjs', `process.once('message', (m) => process.send({ echo: m, platform: process.platform }))\n`)

// Runs children through the child_process module at argv[2], the way code written for the
// package would, and prints what it saw. A faked win32 makes Node itself look for cmd.exe as the
// shell, so exec and execSync name theirs.
const probe = file(
  'probe.cjs',
  `const cp = require(process.argv[2])
const node = require('node:child_process')
const { promisify } = require('node:util')
const sh = { shell: '/bin/sh' }
// null where the usage is not known, 'usage' where it is; anything else as it is.
const usage = (u) => (u === undefined ? 'undefined' : u !== null && typeof u.maxRSS === 'number' && u.maxRSS > 0 ? 'usage' : u)
const closed = (child) => new Promise((resolve) => {
  let stdout = ''
  child.stdout?.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.on('close', (code, signal) => resolve({ stdout, code, signal, usage: usage(child.resourceUsage()) }))
})
async function main() {
  const seen = {}
  seen.missing = Object.keys(node).filter((name) => !(name in cp))
  seen.nodes = ['ChildProcess', '_forkChild'].filter((name) => cp[name] === node[name])
  seen.subprocessIsNodes = cp.Subprocess === node.ChildProcess
  seen.signatures = Object.keys(node).filter((n) => typeof node[n] === 'function' && n !== 'ChildProcess')
    .filter((n) => cp[n].name !== node[n].name || cp[n].length !== node[n].length)

  const child = cp.spawn('sh', ['-c', 'echo hi; exit 3'])
  seen.spawn = { ...(await closed(child)), isChildProcess: child instanceof node.ChildProcess, keys: Object.keys(child).includes('resourceUsage') }

  seen.exec = await new Promise((resolve) => {
    const c = cp.exec('echo hi; exit 3', sh, (err, stdout) =>
      resolve({ stdout, code: err.code, errUsage: 'resourceUsage' in err ? usage(err.resourceUsage) : 'absent', usage: usage(c.resourceUsage()) }))
  })
  seen.execFile = await new Promise((resolve) => {
    const c = cp.execFile('sh', ['-c', 'echo hi'], (err, stdout) => resolve({ err, stdout, usage: usage(c.resourceUsage()) }))
  })
  const p = promisify(cp.exec)('echo hi', sh)
  seen.promisifiedExec = { ...(await p), child: usage(p.child.resourceUsage()) }
  seen.promisifiedExecFile = await promisify(cp.execFile)('sh', ['-c', 'echo hi; exit 3']).then(
    () => 'resolved',
    (err) => ({ code: err.code, stdout: err.stdout }),
  )

  const r = cp.spawnSync('sh', ['-c', 'echo hi; exit 3'], { encoding: 'utf8' })
  const keys = Object.keys(node.spawnSync('sh', ['-c', 'echo hi; exit 3'], { encoding: 'utf8' }))
  seen.spawnSync = { status: r.status, stdout: r.stdout, usage: usage(r.resourceUsage), nodesKeys: JSON.stringify(Object.keys(r)) === JSON.stringify(keys) }
  seen.execSync = cp.execSync('echo hi', { ...sh, encoding: 'utf8' })
  try {
    cp.execSync('exit 3', { ...sh, stdio: 'ignore' })
  } catch (err) {
    seen.execSyncError = { status: err.status, usage: usage(err.resourceUsage), enumerable: Object.keys(err).includes('resourceUsage') }
  }
  seen.execFileSync = cp.execFileSync('sh', ['-c', 'echo hi'], { encoding: 'utf8' })
  seen.withUsage = [
    cp.execSync.withUsage('echo hi', { ...sh, encoding: 'utf8' }),
    cp.execFileSync.withUsage('sh', ['-c', 'echo hi'], { encoding: 'utf8' }),
  ].map(({ stdout, resourceUsage }) => ({ stdout, usage: usage(resourceUsage) }))

  const forked = cp.fork(require('node:path').join(__dirname, 'echo.cjs'))
  const forkClosed = new Promise((resolve) => forked.on('close', resolve))
  const message = await new Promise((resolve) => {
    forked.once('message', resolve)
    forked.send('ping')
  })
  seen.fork = { message, code: await forkClosed, usage: usage(forked.resourceUsage()) }

  // The shapes around the usage, as Node's own: a property's flags, a function's length.
  const flags = (o, k) => { const d = Object.getOwnPropertyDescriptor(o, k); return d && [d.writable, d.enumerable, d.configurable, typeof d.value] }
  const thrown = (call) => { try { call() } catch (err) { return [err.code, 'resourceUsage' in err] } }
  seen.shapes = {
    withUsageLengths: [cp.execSync.withUsage.length, cp.execFileSync.withUsage.length],
    nodeLengths: [node.execSync.length, node.execFileSync.length],
    promisifyCustom: [flags(cp.exec, promisify.custom), flags(cp.execFile, promisify.custom)],
    nodePromisifyCustom: flags(node.exec, promisify.custom),
    spawnSyncUsage: flags(cp.spawnSync('true'), 'resourceUsage'),
    badArgument: [thrown(() => cp.execSync(123)), thrown(() => cp.execFileSync('sh', 5))],
  }
  console.log(JSON.stringify(seen))
}
main()
`,
)

/** What the probe sees where Node's own functions serve, on `platform`. */
const fallback = (platform: string) => ({
  missing: [],
  nodes: ['ChildProcess', '_forkChild'],
  subprocessIsNodes: true,
  signatures: [],
  spawn: { stdout: 'hi\n', code: 3, signal: null, usage: null, isChildProcess: true, keys: false },
  exec: { stdout: 'hi\n', code: 3, errUsage: 'absent', usage: null },
  execFile: { err: null, stdout: 'hi\n', usage: null },
  promisifiedExec: { stdout: 'hi\n', stderr: '', child: null },
  promisifiedExecFile: { code: 3, stdout: 'hi\n' },
  spawnSync: { status: 3, stdout: 'hi\n', usage: null, nodesKeys: true },
  execSync: 'hi\n',
  execSyncError: { status: 3, usage: null, enumerable: false },
  execFileSync: 'hi\n',
  withUsage: [
    { stdout: 'hi\n', usage: null },
    { stdout: 'hi\n', usage: null },
  ],
  fork: { message: { echo: 'ping', platform }, code: 0, usage: null },
  shapes,
})

/** The shapes the probe sees, the package's or Node's functions alike: `withUsage` has the length of
 * the plain form, util.promisify's form is fixed and hidden as Node's, a spawnSync result's
 * resourceUsage is a hidden plain property, and an error of a bad argument (no child ran) has none. */
const shapes = {
  withUsageLengths: [2, 3],
  nodeLengths: [2, 3],
  promisifyCustom: [
    [false, false, false, 'function'],
    [false, false, false, 'function'],
  ],
  nodePromisifyCustom: [false, false, false, 'function'],
  spawnSyncUsage: [true, false, true, 'object'],
  badArgument: [
    ['ERR_INVALID_ARG_TYPE', false],
    ['ERR_INVALID_ARG_TYPE', false],
  ],
}

/** An .mjs that imports every name of node:child_process, and Subprocess, from `root`'s pidfd/child_process by name. */
function esm(name: string, packageRoot: string): string {
  const names = [...Object.keys(createRequire(import.meta.url)('node:child_process') as object), 'Subprocess']
  const url = pathToFileURL(join(packageRoot, 'lib', 'child_process.js')).href
  return file(
    name,
    `import { ${names.join(', ')} } from ${JSON.stringify(url)}
import * as node from 'node:child_process'
const imported = { ${names.join(', ')} }
const child = spawn('sh', ['-c', 'echo hi; exit 3'])
let stdout = ''
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
const code = await new Promise((resolve) => child.on('close', resolve))
console.log(JSON.stringify({
  undefinedNames: Object.keys(imported).filter((n) => imported[n] === undefined),
  nodes: ['ChildProcess', '_forkChild'].filter((n) => imported[n] === node[n]),
  stdout, code, usage: child.resourceUsage() === null ? null : child.resourceUsage().maxRSS > 0 ? 'usage' : child.resourceUsage(),
  sync: spawnSync('sh', ['-c', 'exit 4']).status,
}))
`,
  )
}

// What code that runs with the register hook sees through node:child_process: Node's own child.
const registered = `const cp = require('node:child_process')
const child = cp.spawn('sh', ['-c', 'echo hi; exit 3'])
let stdout = ''
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
child.on('close', (code) => {
  cp.exec('echo there', { shell: '/bin/sh' }, (err, out) => {
    console.log(JSON.stringify({ stdout, code, exited: typeof child.exited, err, out, sync: cp.spawnSync('sh', ['-c', 'exit 4']).status }))
  })
})
`
const registeredEsm = `import { spawn, execFileSync } from 'node:child_process'
const child = spawn('sh', ['-c', 'echo hi; exit 3'])
let stdout = ''
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
const code = await new Promise((resolve) => child.on('close', resolve))
console.log(JSON.stringify({ stdout, code, exited: typeof child.exited, out: execFileSync('echo', ['there'], { encoding: 'utf8' }) }))
`

/** The loader's message where the platform package is missing (and its one line where there is none for this machine). */
const missingBinary = /^pidfd: the binary for linux-[a-z0-9]+-(gnu|musl) is missing: its package pidfd-linux-[a-z0-9]+-(gnu|musl) is not installed\.\n/

for (const [i, place] of places.entries()) {
  const childProcess = join(place.root, 'lib', 'child_process.js')

  test(`${place.title}: pidfd/child_process is Node's child_process, and a child's resourceUsage() is null`, async (t) => {
    t.deepEqual(json(t, await node([...place.args, probe, childProcess], place.env)), fallback(place.platform))
  })

  test(`${place.title}: every name of node:child_process, and Subprocess, imports from ESM by name`, async (t) => {
    const out = json(t, await node([...place.args, esm(`names-${i}.mjs`, place.root)], place.env))
    t.deepEqual(out, { undefinedNames: [], nodes: ['ChildProcess', '_forkChild'], stdout: 'hi\n', code: 3, usage: null, sync: 4 })
  })

  test(`${place.title}: with pidfd/register (-r, --import), node:child_process is Node's own, and nothing is printed`, async (t) => {
    const register = join(place.root, 'lib', 'register.js')
    const expected = { stdout: 'hi\n', code: 3, exited: 'undefined', err: null, out: 'there\n', sync: 4 }
    for (const flag of [['-r', register], ['--import', pathToFileURL(register).href]]) {
      const run = await node([...place.args, ...flag, '-e', registered], place.env)
      t.deepEqual(run, { code: 0, stdout: `${JSON.stringify(expected)}\n`, stderr: '' }, flag[0])
    }
    const esmRun = await node([...place.args, '--import', pathToFileURL(register).href, '--input-type=module', '-e', registeredEsm], place.env)
    t.deepEqual(esmRun, { code: 0, stdout: `${JSON.stringify({ stdout: 'hi\n', code: 3, exited: 'undefined', out: 'there\n' })}\n`, stderr: '' }, 'ESM')
  })
}

test("where Node's functions serve, a resourceUsage the result already has is kept: a wrapper of child_process loaded before pidfd", async (t) => {
  const script = `const node = require('node:child_process')
const own = node.spawnSync
node.spawnSync = function spawnSync(...args) { const r = own.apply(this, args); r.resourceUsage = 'the wrapper\\'s'; return r }
const cp = require(${JSON.stringify(join(root, 'lib', 'child_process.js'))})
const r = cp.spawnSync('sh', ['-c', 'exit 4'])
console.log(JSON.stringify({ status: r.status, usage: r.resourceUsage, enumerable: Object.keys(r).includes('resourceUsage') }))
`
  const out = json(t, await node(['-e', script], { PIDFD_DISABLE: 'pidfdOpen' }))
  t.deepEqual(out, { status: 4, usage: "the wrapper's", enumerable: true })
})

const loadIndex = (packageRoot: string) => `let out
try {
  const pidfd = require(${JSON.stringify(join(packageRoot, 'index.js'))})
  const calls = {
    spawn: () => pidfd.spawn('true'),
    fork: () => pidfd.fork('echo.cjs'),
    exec: () => pidfd.exec('true'),
    execFile: () => pidfd.execFile('true'),
    spawnSync: () => pidfd.spawnSync('true'),
    execSync: () => pidfd.execSync('true'),
    execFileSync: () => pidfd.execFileSync('true'),
    fromPid: () => pidfd.PidFd.fromPid(process.pid),
  }
  const errors = {}
  for (const [name, call] of Object.entries(calls)) {
    try { call(); errors[name] = 'no error' } catch (e) { errors[name] = e.code + ' ' + e.message }
  }
  out = { supported: pidfd.isSupported(), errors }
} catch (e) {
  out = { thrown: e.message }
}
console.log(JSON.stringify(out))
`

for (const platform of ['darwin', 'win32', 'freebsd']) {
  test(`on ${platform}: pidfd itself throws one sentence naming the platform`, async (t) => {
    const out = json(t, await node(['-r', preload(platform), '-e', loadIndex(root)]))
    t.deepEqual(out, { thrown: `The pidfd package works only on Linux (it is built on pidfd_open and waitid(P_PIDFD)); this is ${platform}.` })
  })
}

test("on Linux without the binary: pidfd itself throws the loader's short message, naming the missing package", async (t) => {
  t.false(existsSync(join(bare, 'Cargo.toml')))
  t.deepEqual(
    readdirSync(bare, { recursive: true }).filter((f) => String(f).endsWith('.node')),
    [],
  )
  const { thrown } = json(t, await node(['-e', loadIndex(bare)])) as { thrown: string }
  t.regex(thrown, missingBinary)
  t.true(thrown.split('\n').length <= 5, thrown)
})

test('on Linux older than 5.4 (PIDFD_DISABLE=pidfdOpen): pidfd loads, isSupported() is false, and its functions throw one sentence naming the kernel', async (t) => {
  const out = json(t, await node(['-e', loadIndex(root)], { PIDFD_DISABLE: 'pidfdOpen' })) as { supported: boolean; errors: Record<string, string> }
  t.false(out.supported)
  const needs54 = (what: string) =>
    `ERR_PIDFD_UNSUPPORTED ${what} needs Linux 5.4 (pidfdOpen), which this kernel does not offer (or a seccomp filter refuses)`
  t.deepEqual(out.errors, {
    spawn: needs54('spawn'),
    fork: needs54('spawn'),
    exec: needs54('spawn'),
    execFile: needs54('spawn'),
    spawnSync: needs54('spawnSync'),
    execSync: needs54('spawnSync'),
    execFileSync: needs54('spawnSync'),
    fromPid: 'ERR_PIDFD_UNSUPPORTED fromPid needs Linux 5.3 (pidfdOpen), which this kernel does not offer (or a seccomp filter refuses)',
  })
})

test("where the package serves, the same probe and ESM import see the package's functions: the child's usage, Subprocess", async (t) => {
  const out = json(t, await node([probe, join(root, 'lib', 'child_process.js')])) as Record<string, Record<string, unknown>> & {
    missing: string[]
    nodes: string[]
    subprocessIsNodes: boolean
  }
  t.deepEqual(out.missing, [])
  t.deepEqual(out.nodes, ['ChildProcess', '_forkChild'])
  t.false(out.subprocessIsNodes)
  t.like(out.spawn, { stdout: 'hi\n', code: 3, usage: 'usage', isChildProcess: true })
  t.like(out.exec, { code: 3, errUsage: 'usage', usage: 'usage' })
  t.like(out.spawnSync, { status: 3, usage: 'usage', nodesKeys: true })
  t.like(out.execSyncError, { status: 3, usage: 'usage', enumerable: false })
  t.like(out.fork, { code: 0, usage: 'usage' })
  t.deepEqual(out.shapes, shapes)
  const imported = json(t, await node([esm('names-served.mjs', root)]))
  t.deepEqual(imported, { undefinedNames: [], nodes: ['ChildProcess', '_forkChild'], stdout: 'hi\n', code: 3, usage: 'usage', sync: 4 })
})

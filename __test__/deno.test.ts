// The package under Deno 2, which runs N-API modules and npm packages: the README's examples
// (its TypeScript blocks, and its CLI block with the CLI run by Deno) in an app that has the
// package in node_modules as npm installs it, piped stdio, the error that names a permission
// Deno refused, and an import of the package by its file path.

import test, { type ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { root, runnableBlocks } from './helpers.js'

// Deno comes from npm with the benchmark's tools (`npm ci` in bench/), as Bun does.
const deno = join(root, 'bench', 'node_modules', '.bin', 'deno')
const available = existsSync(deno)
if (!available) console.log(`deno tests skipped: no Deno at ${deno} (run npm ci in bench/)`)
const denoTest = available ? test : test.skip

const work = join(root, '.tmp', 'deno-run')
/** An app with the package installed: node_modules/pidfd holds what npm would put there. */
const app = join(work, 'app')
const installed = join(app, 'node_modules', 'pidfd')
/** Deno's cache, out of the user's home. */
const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(work, 'cache') }

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: app, env, timeout: 60_000, maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

/** The files `npm pack` would publish, the native binary and helper the platform package adds. */
async function install(): Promise<void> {
  const pack = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, env: process.env })
  if (pack.code !== 0) throw new Error(`npm pack --dry-run failed: ${pack.stderr}`)
  const files = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path)
  const native = readdirSync(root).filter((f) => /^pidfd\..+\.node$/.test(f))
  if (native.length === 0) throw new Error('no pidfd.*.node at the root: npm run build first')
  for (const file of [...files, ...native, 'pidfd-helper']) {
    mkdirSync(dirname(join(installed, file)), { recursive: true })
    copyFileSync(join(root, file), join(installed, file))
  }
  chmodSync(join(installed, 'pidfd-helper'), 0o755)
  // Its dependencies (the CLI's), flat, as npm lays them out.
  const pending = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: object }).dependencies ?? {})
  const done = new Set<string>()
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (done.has(name)) continue
    done.add(name)
    copyTree(join(root, 'node_modules', name), join(app, 'node_modules', name))
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: object }
    pending.push(...Object.keys(manifest.dependencies ?? {}))
  }
  // A package.json: Deno then resolves bare names from node_modules.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyTree(join(from, entry.name), join(to, entry.name))
    else if (entry.isFile()) copyFileSync(join(from, entry.name), join(to, entry.name))
  }
}

test.before(async () => {
  if (!available) return
  rmSync(work, { recursive: true, force: true })
  mkdirSync(app, { recursive: true })
  await install()
})



/** What a block says it prints: `// → text` or `# → text` at the end of a line. */
function expectations(code: string): string[] {
  return [...code.matchAll(/(?:\/\/|#) → (.+)$/gm)].map((m) => m[1]!.trim())
}

/** Commands that run the installed CLI with Deno, where a user runs `npx pidfd` or `pidfd`. */
function cliShims(): string {
  const dir = join(work, 'bin')
  if (existsSync(dir)) return dir
  mkdirSync(dir, { recursive: true })
  const cli = join(installed, 'bin', 'pidfd.js')
  const runCli = `exec "${deno}" run -A "${cli}" "$@"`
  writeFileSync(join(dir, 'pidfd'), `#!/bin/sh\n${runCli}\n`)
  writeFileSync(join(dir, 'npx'), `#!/bin/sh\n[ "$1" = pidfd ] || { echo "npx shim: only pidfd" >&2; exit 1; }\nshift\n${runCli}\n`)
  chmodSync(join(dir, 'pidfd'), 0o755)
  chmodSync(join(dir, 'npx'), 0o755)
  return dir
}

const blocks = runnableBlocks('README.md')

test('the README has runnable TypeScript blocks for Deno to run', (t) => {
  t.true(blocks.filter((b) => b.lang === 'ts').length >= 2)
})

for (const b of blocks) {
  denoTest(`under Deno: README.md:${b.line} (${b.lang}) runs`, async (t) => {
    let r: Run
    if (b.lang === 'ts') {
      const file = join(app, `readme_${b.line}.ts`)
      writeFileSync(file, b.code)
      r = await run(deno, ['run', '-A', file])
    } else if (b.lang === 'sh') {
      const cwd = join(work, `readme_${b.line}`)
      mkdirSync(cwd, { recursive: true })
      const PATH = `${cliShims()}:${process.env.PATH ?? ''}`
      r = await run('bash', ['-e', '-o', 'pipefail', '-c', b.code], { cwd, env: { ...env, PATH, GITHUB_STEP_SUMMARY: '' } })
    } else {
      t.fail(`a runnable block in ${b.lang || 'no language'}: only ts and sh run`)
      return
    }
    t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
    for (const want of expectations(b.code)) t.true(r.stdout.includes(want), `prints ${JSON.stringify(want)}; got:\n${r.stdout}`)
  })
}

/** Runs `source` (an ES module in the app) with Deno and `flags`; its one line of JSON. */
async function script(t: ExecutionContext, name: string, source: string, flags: string[]): Promise<unknown> {
  const file = join(app, name)
  writeFileSync(file, source)
  const r = await run(deno, ['run', ...flags, file])
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
  try {
    return JSON.parse(r.stdout)
  } catch {
    t.fail(`no JSON from Deno: ${JSON.stringify(r.stdout)}\n${r.stderr}`)
    return undefined
  }
}

denoTest("under Deno: piped stdout and stderr, 'close' with the code, execFile and promisified exec", async (t) => {
  const out = await script(
    t,
    'piped.mjs',
    `
    import { spawn } from 'pidfd'
    import * as cp from 'pidfd/child_process'
    import { promisify } from 'node:util'
    const child = spawn('sh', ['-c', 'cat; echo err >&2; exit 3'])
    let stdout = '', stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.end('through cat\\n')
    const close = await new Promise((resolve) => child.on('close', (code, signal) => resolve([code, signal])))
    const execFile = await new Promise((resolve) => cp.execFile('sh', ['-c', 'echo out; exit 2'], (err, out) => resolve([err && err.code, out])))
    const exec = await promisify(cp.exec)('echo a; echo b >&2')
    console.log(JSON.stringify({ stdout, stderr, close, execFile, exec }))
  `,
    ['-A'],
  )
  t.deepEqual(out, {
    stdout: 'through cat\n',
    stderr: 'err\n',
    close: [3, null],
    execFile: [2, 'out\n'],
    exec: { stdout: 'a\n', stderr: 'b\n' },
  })
})

// Loading the package needs --allow-ffi (its binary's dlopen) and --allow-read (the loader's look
// for the C library, and the binary's file); without either, the error names it. A spawn reads
// the environment it passes on, as child_process's does: --allow-env.
for (const [missing, granted] of [
  ['--allow-ffi', ['--allow-env', '--allow-read']],
  ['--allow-read', ['--allow-env', '--allow-ffi']],
] as const) {
  denoTest(`under Deno: without ${missing}, the error says that permission is missing`, async (t) => {
    const out = (await script(
      t,
      `without${missing}.mjs`,
      `
      const seen = await Promise.all(['pidfd', 'pidfd/child_process'].map((name) =>
        import(name).then(() => ['loaded'], (err) => [err.message, err.cause instanceof Error && err.cause !== err])))
      console.log(JSON.stringify(seen))
    `,
      [...granted],
    )) as Array<[string, boolean?]>
    for (const [message, caused] of out) {
      t.true(message.startsWith(`The pidfd package cannot load without Deno's ${missing} permission (Requires `), message)
      // Then what the package needs, and the refusal itself as the cause.
      t.true(message.endsWith('). It needs --allow-ffi and --allow-read to load, and --allow-env to spawn (the environment a child gets), or -A.'), message)
      t.true(caused, message)
    }
  })
}

// An install whose platform package is missing (npm's --omit=optional): Deno gives every
// permission, so the load fails for a reason of the machine's, not Deno's. The package's own
// error comes unchanged (load.js looks through it and its causes and finds no refusal), and
// pidfd/child_process serves Node's functions, as under Node (serving.ts).
denoTest('under Deno: an install without its binary: pidfd throws the missing-package error unchanged; pidfd/child_process serves Node\'s functions', async (t) => {
  const bare = join(work, 'bare')
  rmSync(bare, { recursive: true, force: true })
  copyTree(app, bare)
  for (const f of readdirSync(join(bare, 'node_modules', 'pidfd'))) {
    if (/^pidfd\..+\.node$/.test(f)) rmSync(join(bare, 'node_modules', 'pidfd', f))
  }
  const file = join(bare, 'bare.mjs')
  writeFileSync(
    file,
    `
    const index = await import('pidfd').then(() => ['loaded'], (err) => [err.message, err.cause === undefined])
    const cp = await import('pidfd/child_process')
    const node = await import('node:child_process')
    const r = cp.spawnSync('sh', ['-c', 'exit 4'])
    console.log(JSON.stringify({ index, same: cp.ChildProcess === node.ChildProcess, status: r.status, usage: r.resourceUsage }))
  `,
  )
  const r = await run(deno, ['run', '-A', file], { cwd: bare })
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
  const out = JSON.parse(r.stdout) as { index: [string, boolean]; same: boolean; status: number; usage: unknown }
  const [message, uncaused] = out.index
  t.regex(message, /^pidfd: the binary for linux-(x64|arm64)-(gnu|musl) is missing: its package pidfd-linux-\S+ is not installed\.\n/)
  t.true(uncaused, 'not wrapped: no cause')
  t.deepEqual([out.same, out.status, out.usage], [true, 4, null])
})

denoTest('under Deno: --allow-ffi, --allow-read and --allow-env are enough to spawn and read the exit', async (t) => {
  const out = await script(
    t,
    'least.mjs',
    `
    import { spawn } from 'pidfd'
    const exit = await spawn('sh', ['-c', 'exit 6']).exited
    console.log(JSON.stringify([exit.code, exit.rusage.maxRSS > 0]))
  `,
    ['--allow-ffi', '--allow-read', '--allow-env'],
  )
  t.deepEqual(out, [6, true])
})

// Deno reads a .js file outside node_modules as CommonJS only where its package.json says
// `"type": "commonjs"`; the package's compiled files are CommonJS. Until package.json says so,
// this is a known failure.
const typed = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { type?: string }).type === 'commonjs'
;(available ? (typed ? test : test.failing) : test.skip)('under Deno: the package imported by its file path', async (t) => {
  const dir = join(work, 'by-path')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'by-path.mjs')
  writeFileSync(
    file,
    `
    import { spawn } from '../../../index.js'
    const exit = await spawn('sh', ['-c', 'exit 5']).exited
    console.log(JSON.stringify([exit.code, exit.rusage.maxRSS > 0]))
  `,
  )
  const r = await run(deno, ['run', '-A', file], { cwd: root })
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), '[5,true]')
})

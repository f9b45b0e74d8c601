// The package as a user gets it: `npm install pidfd` from a registry (release:check publishes the
// release to a local Verdaccio first), in an empty folder, with no cargo, rustc, gcc, cc or zig
// on PATH, under the Node that runs this script and its npm. Then it must have installed exactly
// the platform package of this machine, and require, import, a strict TypeScript consumer (under
// nodenext, bundler and node10 resolution) and `npx pidfd time -- true` must work.
//   node --import tsx scripts/release/install-check.ts --registry URL --platform linux-x64-gnu

import { execFileSync, spawnSync, type ExecFileSyncOptions } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { registry: { type: 'string' }, platform: { type: 'string' } } })
const registry = values.registry
const platform = values.platform
if (!registry || !platform) throw new Error('usage: install-check.ts --registry URL --platform linux-<arch>-<abi>')

const root = join(import.meta.dirname, '..', '..')
const work = mkdtempSync(join(tmpdir(), 'pidfd-install-'))

/** npm's CLI: the one beside this Node, or the one on PATH. */
function npmCli(file: 'npm-cli.js' | 'npx-cli.js'): string {
  const beside = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', file)
  if (existsSync(beside)) return beside
  const onPath = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'npm')).find((f) => existsSync(f))
  if (!onPath) throw new Error('no npm beside this Node or on PATH')
  return join(dirname(realpathSync(onPath)), file)
}

// A PATH of its own: this Node, npm, npx and the few programs a shell and npx need, nothing else.
const bin = join(work, 'bin')
mkdirSync(bin)
symlinkSync(process.execPath, join(bin, 'node'))
for (const [name, cli] of [['npm', npmCli('npm-cli.js')], ['npx', npmCli('npx-cli.js')]] as const) {
  writeFileSync(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 })
}
for (const tool of ['sh', 'true', 'env', 'cat', 'ls', 'uname', 'sleep', 'rm', 'mkdir']) {
  const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((f) => existsSync(f))
  if (found) symlinkSync(found, join(bin, tool))
}
const home = join(work, 'home')
mkdirSync(home)
const env = {
  PATH: bin,
  HOME: home,
  npm_config_registry: registry,
  npm_config_cache: join(work, 'npm-cache'),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
}

let failures = 0
function check(name: string, fn: () => string | void): void {
  try {
    const detail = fn()
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`)
  } catch (err) {
    failures++
    const e = err as { stdout?: Buffer | string; stderr?: Buffer | string; message: string }
    console.log(`FAIL ${name}\n${e.stderr?.toString() || e.stdout?.toString() || e.message}`)
  }
}

const app = join(work, 'app')
function run(file: string, args: string[], options: ExecFileSyncOptions = {}): string {
  return execFileSync(file, args, { cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options }) as string
}

try {
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  check('no cargo, rustc, gcc, cc or zig on PATH', () => {
    const found = run('sh', ['-c', 'for t in cargo rustc gcc cc zig; do command -v $t; done; true']).trim()
    if (found) throw new Error(`on PATH: ${found}`)
  })
  const started = Date.now()
  const install = spawnSync(join(bin, 'npm'), ['install', 'pidfd'], { cwd: app, env, encoding: 'utf8' })
  const installMs = Date.now() - started
  check(`npm install pidfd from ${registry}`, () => {
    if (install.status !== 0) throw new Error(install.stderr + install.stdout)
    return `${installMs} ms`
  })
  const modules = join(app, 'node_modules')
  const pkgDir = join(modules, 'pidfd')
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version

  check(`exactly one platform package, pidfd-${platform}`, () => {
    const platforms = readdirSync(modules).filter((d) => d.startsWith('pidfd-'))
    if (platforms.join() !== `pidfd-${platform}`) throw new Error(`installed: ${platforms.join(', ') || 'none'}`)
    const files = readdirSync(join(modules, `pidfd-${platform}`)).sort()
    const want = ['README.md', 'package.json', `pidfd.${platform}.node`, 'pidfd-helper']
    if (want.some((f) => !files.includes(f))) throw new Error(`it holds ${files.join(', ')}`)
    const sizes = ['node', 'helper'].map((k) => statSync(join(modules, `pidfd-${platform}`, k === 'node' ? `pidfd.${platform}.node` : 'pidfd-helper')).size)
    return `.node ${sizes[0]} B, helper ${sizes[1]} B`
  })

  check('pidfd ships its built JS, typings, LICENSE and README once each, and no TypeScript source', () => {
    const files = (readdirSync(pkgDir, { recursive: true }) as string[]).filter((f) => statSync(join(pkgDir, f)).isFile())
    for (const f of ['index.js', 'index.d.ts', 'lib/native.js', 'lib/child_process.d.ts', 'README.md', 'LICENSE', 'bin/pidfd.js']) {
      if (!files.includes(f)) throw new Error(`missing ${f}`)
    }
    const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    if (sources.length) throw new Error(`ships sources: ${sources.join(', ')}`)
    const natives = files.filter((f) => f.endsWith('.node') || f.endsWith('pidfd-helper'))
    if (natives.length) throw new Error(`pidfd itself ships ${natives.join(', ')}: they belong in the platform package`)
    return `${files.length} files`
  })

  check("require('pidfd') spawns and reports rusage", () => {
    const out = run('node', ['-e', `
      const { spawn, isSupported, PidFd, AsyncPidFd } = require('pidfd');
      if (!isSupported()) throw new Error('not supported');
      spawn('sh', ['-c', 'exit 3']).exited.then((e) => console.log(e.code, e.rusage.userCPUTime >= 0, typeof PidFd, typeof AsyncPidFd));
    `])
    if (out.trim() !== '3 true function function') throw new Error(out)
  })

  check("children report their own maxRSS, from a memfd copy of the helper and from the file", () => {
    const seen = []
    for (const memfd of ['1', '0']) {
      const out = run('node', ['-e', `
        const hold = Buffer.alloc(300 * 1024 * 1024, 1);
        require('pidfd').spawn('true').exited.then((e) => console.log(e.rusage.maxRSS, hold[1]));
      `], { env: { ...env, PIDFD_SPAWN_MEMFD: memfd } })
      const [maxRSS, held] = out.trim().split(' ').map(Number)
      if (!(maxRSS! < 10240) || held !== 1) throw new Error(`PIDFD_SPAWN_MEMFD=${memfd}: ${out}`)
      seen.push(`${maxRSS} KiB`)
    }
    return seen.join(', ')
  })

  check("import { spawn } from 'pidfd', and pidfd/child_process from require and import", () => {
    const esm = run('node', ['--input-type=module', '-e', `
      import { spawn, PidFd } from 'pidfd';
      import pidfd from 'pidfd';
      import * as cp from 'pidfd/child_process';
      import { promisify } from 'node:util';
      const exit = await spawn('true').exited;
      const { stdout } = await promisify(cp.exec)('echo esm');
      console.log(exit.status, typeof PidFd.fromPid, typeof pidfd.spawn, stdout.trim(), cp.spawn('true') instanceof cp.ChildProcess);
    `])
    if (esm.trim() !== 'exited function function esm true') throw new Error(esm)
    const cjs = run('node', ['-e', `
      const cp = require('pidfd/child_process');
      cp.execFile('sh', ['-c', 'echo $0'], (err, stdout) => console.log(err, stdout.trim(), cp.spawn === require('pidfd').spawn));
    `])
    if (cjs.trim() !== 'null sh true') throw new Error(cjs)
  })

  check('npx pidfd time -- true, and its report', () => {
    const output = join(app, 'report.json')
    const r = spawnSync(join(bin, 'npx'), ['--no-install', 'pidfd', 'time', '--format', 'json', '--output', output, '--', 'sh', '-c', 'exit 3'], { cwd: app, env, encoding: 'utf8' })
    const report = JSON.parse(readFileSync(output, 'utf8')) as { code: number; rusage: { maxRSS: number } }
    if (r.status !== 3 || report.code !== 3 || !(report.rusage.maxRSS > 0)) throw new Error(`status ${r.status}: ${r.stderr}`)
    const plain = spawnSync(join(bin, 'npx'), ['--no-install', 'pidfd', 'time', '--', 'true'], { cwd: app, env, encoding: 'utf8' })
    if (plain.status !== 0 || !plain.stderr.includes('maxRSS')) throw new Error(`status ${plain.status}: ${plain.stderr}`)
  })

  // One consumer, three module resolutions: what a TypeScript user of any setting type-checks.
  writeFileSync(join(app, 'consumer.ts'), `
    import { spawn, PidFd, AsyncPidFd, isSupported, features, type ExitInfo, type ResourceUsage, type Subprocess, type Features } from 'pidfd'
    import type * as NodeChildProcess from 'node:child_process'
    import * as swapped from 'pidfd/child_process'
    const asNode: typeof NodeChildProcess = swapped
    swapped.execFile('ls', (error, stdout: string) => console.log(error?.resourceUsage?.maxRSS, stdout.length, asNode.spawn))
    const piped = swapped.spawn('cat')
    piped.stdout.on('data', () => {})
    const sub: Subprocess = spawn('true', [], { cwd: '/', env: { A: 'b' }, stdio: ['ignore', 'pipe', 'inherit'] })
    const exit: Promise<ExitInfo> = sub.exited
    exit.then((e) => {
      const usage: ResourceUsage | null = e.rusage
      console.log((usage?.userCPUTime ?? 0) + (usage?.maxRSS ?? 0), e.signal, e.status)
    })
    const fd: PidFd = PidFd.fromPid(process.pid, { reap: false })
    const a: AsyncPidFd = AsyncPidFd.self()
    const ok: boolean = isSupported()
    const f: Features = features()
    console.log(fd.pid, a.pid, ok, f.infoExit, sub.resourceUsage()?.maxRSS)
    // @ts-expect-error: unknown signal names are rejected at compile time
    a.kill('SIGNOPE')
  `)
  const resolutions = {
    nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { module: 'esnext', moduleResolution: 'bundler' },
    node10: { module: 'commonjs', moduleResolution: 'node10' },
  }
  for (const [name, options] of Object.entries(resolutions)) {
    check(`a strict TypeScript consumer type-checks under ${name} resolution`, () => {
      writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, target: 'es2022', esModuleInterop: true,
          lib: ['es2022', 'esnext.disposable'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
          skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, ...options,
        },
        files: ['consumer.ts'],
      }))
      run('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${name}.json`])
    })
  }
  // Elsewhere, npm installs pidfd alone (its optional platform packages all skipped), as npm
  // decides it for a machine of that kind (--os, --cpu).
  for (const [os, cpu] of [['darwin', 'arm64'], ['win32', 'x64'], ['freebsd', 'x64'], ['linux', 'ia32']]) {
    check(`npm install pidfd for ${os}-${cpu}: pidfd alone`, () => {
      const other = join(work, `app-${os}-${cpu}`)
      mkdirSync(other)
      writeFileSync(join(other, 'package.json'), JSON.stringify({ name: 'app', private: true }))
      const r = spawnSync(join(bin, 'npm'), ['install', 'pidfd', `--os=${os}`, `--cpu=${cpu}`], { cwd: other, env, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(r.stderr + r.stdout)
      const names = readdirSync(join(other, 'node_modules')).filter((d) => d.startsWith('pidfd'))
      if (names.join() !== 'pidfd') throw new Error(`installed: ${names.join(', ')}`)
    })
  }
  console.log(`installed pidfd@${version} with pidfd-${platform} in ${installMs} ms`)
} finally {
  rmSync(work, { recursive: true, force: true })
}

console.log(failures === 0 ? 'install check: all passed' : `install check: ${failures} failed`)
process.exitCode = failures === 0 ? 0 : 1

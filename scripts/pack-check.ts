// The package as users get it: pack pidfd and its linux-x64-gnu binary package, install both
// into an empty folder with no Rust toolchain on PATH, then require it, import it, type-check a
// strict TypeScript consumer against the shipped typings and run a child through it.
//   npm run test:pack

import { execFileSync, spawnSync, type ExecFileSyncOptions } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'pidfd-pack-'))
const binary = 'pidfd.linux-x64-gnu.node'
const binaryPackage = join(root, 'npm', 'linux-x64-gnu')
// No cargo, rustc or rustup: nothing may build from source at install time.
const PATH = (process.env.PATH ?? '').split(delimiter).filter((dir) => !/\.cargo|rustup/.test(dir)).join(delimiter)
const env = { ...process.env, PATH }

let failures = 0
function check(name: string, fn: () => void): void {
  try {
    fn()
    console.log(`ok   ${name}`)
  } catch (err) {
    failures++
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string }
    console.log(`FAIL ${name}\n${e.stderr?.toString() || e.stdout?.toString() || e.message}`)
  }
}

function run(file: string, args: string[], options: ExecFileSyncOptions = {}): string {
  return execFileSync(file, args, { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options }) as string
}

try {
  run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root })
  copyFileSync(join(root, binary), join(binaryPackage, binary))
  copyFileSync(join(root, 'pidfd-helper'), join(binaryPackage, 'pidfd-helper'))
  try {
    run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: binaryPackage })
  } finally {
    rmSync(join(binaryPackage, binary))
    rmSync(join(binaryPackage, 'pidfd-helper'))
  }
  const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'))
  console.log(`packed ${tarballs.join(', ')}`)

  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  check('no cargo on PATH', () => {
    let found = true
    try {
      run('sh', ['-c', 'command -v cargo'])
    } catch {
      found = false
    }
    if (found) throw new Error('cargo is still on PATH')
  })
  run('npm', ['install', '--silent', '--no-audit', '--no-fund', ...tarballs.map((t) => join(work, t))], { cwd: app })

  check('the tarball ships the built JS, typings and loader, and no TypeScript sources', () => {
    const files = run('tar', ['-tzf', join(work, tarballs.find((t) => t.startsWith('pidfd-0'))!)]).split('\n')
    for (const f of ['package/index.js', 'package/index.d.ts', 'package/binding.js', 'package/lib/pidfd.js', 'package/README.md']) {
      if (!files.includes(f)) throw new Error(`missing ${f}`)
    }
    const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    if (sources.length) throw new Error(`ships sources: ${sources.join(', ')}`)
  })

  check("require('pidfd') spawns and reports rusage", () => {
    const out = run(process.execPath, ['-e', `
      const { spawn, isSupported, PidFd, AsyncPidFd } = require('pidfd');
      if (!isSupported()) throw new Error('not supported');
      spawn('sh', ['-c', 'exit 3']).exited.then((e) => console.log(e.code, e.rusage.userCPUTime >= 0, typeof PidFd, typeof AsyncPidFd));
    `], { cwd: app })
    if (out.trim() !== '3 true function function') throw new Error(out)
  })

  check('the binary package ships the .node and the spawn helper', () => {
    const files = run('tar', ['-tzf', join(work, tarballs.find((t) => t.startsWith('pidfd-linux'))!)]).split('\n')
    for (const f of [`package/${binary}`, 'package/pidfd-helper']) {
      if (!files.includes(f)) throw new Error(`missing ${f}`)
    }
  })

  check('children report their own maxRSS, from the memfd helper and from the shipped file', () => {
    for (const memfd of ['1', '0']) {
      const out = run(process.execPath, ['-e', `
        const hold = Buffer.alloc(300 * 1024 * 1024, 1);
        require('pidfd').spawn('true').exited.then((e) => console.log(e.rusage.maxRSS < 10240, hold[1]));
      `], { cwd: app, env: { ...env, PIDFD_SPAWN_MEMFD: memfd } })
      if (out.trim() !== 'true 1') throw new Error(`PIDFD_SPAWN_MEMFD=${memfd}: ${out}`)
    }
  })

  check('npx pidfd time -- true, from the installed package', () => {
    const output = join(app, 'report.json')
    const r = spawnSync('npx', ['--no-install', 'pidfd', 'time', '--format', 'json', '--output', output, '--', 'sh', '-c', 'exit 3'], { cwd: app, env, encoding: 'utf8' })
    const report = JSON.parse(readFileSync(output, 'utf8')) as { code: number; rusage: { maxRSS: number } }
    if (r.status !== 3 || report.code !== 3 || !(report.rusage.maxRSS > 0)) throw new Error(`status ${r.status}: ${r.stderr}`)
  })

  check("import { spawn } from 'pidfd'", () => {
    const out = run(process.execPath, ['--input-type=module', '-e', `
      import { spawn, PidFd } from 'pidfd';
      import pidfd from 'pidfd';
      const exit = await spawn('true').exited;
      console.log(exit.status, typeof PidFd.fromPid, typeof pidfd.spawn);
    `], { cwd: app })
    if (out.trim() !== 'exited function function') throw new Error(out)
  })

  check('pidfd/child_process, from require and from import', () => {
    const out = run(process.execPath, ['-e', `
      const cp = require('pidfd/child_process');
      cp.execFile('sh', ['-c', 'echo $0'], (err, stdout) => console.log(err, stdout.trim(), typeof cp.fork, cp.spawn === require('pidfd').spawn));
    `], { cwd: app })
    if (out.trim() !== 'null sh function true') throw new Error(out)
    const esm = run(process.execPath, ['--input-type=module', '-e', `
      import * as cp from 'pidfd/child_process';
      import { promisify } from 'node:util';
      const { stdout } = await promisify(cp.exec)('echo esm');
      console.log(stdout.trim(), cp.spawn('true') instanceof cp.ChildProcess);
    `], { cwd: app })
    if (esm.trim() !== 'esm true') throw new Error(esm)
  })

  check('a strict TypeScript consumer type-checks against index.d.ts', () => {
    writeFileSync(join(app, 'consumer.ts'), `
      import { spawn, PidFd, AsyncPidFd, isSupported, features, type ExitInfo, type ResourceUsage, type Subprocess, type ProcessInfo, type Features } from 'pidfd'
      import { spawn as cpSpawn } from 'node:child_process'
      import type * as NodeChildProcess from 'node:child_process'
      import * as swapped from 'pidfd/child_process'
      const asNode: typeof NodeChildProcess = swapped
      swapped.execFile('ls', (error, stdout: string) => console.log(error?.resourceUsage?.maxRSS, stdout.length, asNode.spawn))
      const piped = swapped.spawn('cat')
      piped.stdout.on('data', () => {}) // not null: Node's typing of the default stdio
      const sub: Subprocess = spawn('true', [], { cwd: '/', env: { A: 'b', B: undefined }, stdio: ['ignore', 'pipe', 'inherit', 3] })
      const kept: boolean = sub.kill('SIGTERM') || sub.kill(9)
      const exit: Promise<ExitInfo> = sub.exited
      exit.then((e) => {
        const usage: ResourceUsage | null = e.rusage
        const cpu: number = (usage?.userCPUTime ?? 0) + (usage?.maxRSS ?? 0)
        const signal: NodeJS.Signals | null = e.signal
        const status: 'exited' | 'signaled' | 'unknown' = e.status
        console.log(cpu, signal, status, kept, e.siginfo?.siCode)
      })
      const fd: PidFd = PidFd.fromPid(process.pid, { reap: false })
      const n: number = fd.fd + fd.pid
      const now: ExitInfo | null = fd.tryWait()
      fd[Symbol.dispose]()
      if (sub.pid === undefined) throw new Error('not spawned')
      const a: AsyncPidFd = AsyncPidFd.fromPid(sub.pid).unref().ref()
      a.wait({ signal: AbortSignal.timeout(1000), timeout: 5 }).then((e: ExitInfo) => e.code)
      sub.on('exit', (code: number | null, signal: NodeJS.Signals | null) => console.log(code, signal, sub.resourceUsage()?.maxRSS))
      const child = cpSpawn('true')
      const watched: AsyncPidFd = AsyncPidFd.fromChild(child)
      const blocking: PidFd = PidFd.fromChild(child)
      console.log(watched.fd, blocking.fd, sub.exitCode, sub.signalCode, sub.killed, sub.spawnargs.length)
      spawn('echo hi', { shell: true, timeout: 10, killSignal: 'SIGKILL', detached: false, argv0: 'x', signal: new AbortController().signal })
      const ok: boolean = isSupported()
      const f: Features = features()
      const me: ProcessInfo = PidFd.self().info()
      const cg: bigint | null = me.cgroupId
      const ns: number = AsyncPidFd.self().namespace('uts') + PidFd.self().getFd(0)
      // @ts-expect-error: not a namespace kind
      PidFd.self().namespace('mount')
      console.log(f.infoExit, me.exit?.status, cg, ns)
      // @ts-expect-error: unknown signal names are rejected at compile time
      a.kill('SIGNOPE')
      console.log(n, now, ok, sub.stdout?.readable)
    `)
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
        lib: ['es2022', 'esnext.disposable'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
        skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true,
      },
      files: ['consumer.ts'],
    }))
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app })
  })
} finally {
  rmSync(work, { recursive: true, force: true })
}

console.log(failures === 0 ? 'pack check: all passed' : `pack check: ${failures} failed`)
process.exitCode = failures === 0 ? 0 : 1

// Where the native binary is missing or cannot load, the package says so in a few lines: the
// platform, the package that should be there, the likely cause and the fix. Each case is a copy
// of the built package laid out as npm installs it, loaded in a child process.

import test from 'ava'
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { installedCopy, root, tempDir } from './helpers.js'

const platform = `linux-${process.arch}-${(process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime ? 'gnu' : 'musl'}`
const version = (JSON.parse(execFileSync(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(join(root, 'package.json'))}))`], { encoding: 'utf8' })) as { version: string }).version

/** The package as npm installs it: its JS, no binary (installedCopy in helpers.ts). */
const installed = () => installedCopy()

function load(app: string, preload?: string): Promise<{ code: number | null; stderr: string }> {
  const args = [...(preload ? ['--require', preload] : []), '-e', "require('pidfd')"]
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd: app }, (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr })),
  )
}

/** The message of the error that ended the child: its lines between the source excerpt and the stack. */
function message(stderr: string): string[] {
  const lines = stderr.split('\n')
  const start = lines.findIndex((l) => l.startsWith('Error: '))
  const end = lines.findIndex((l, i) => i > start && /^\s+at /.test(l))
  return lines.slice(start, end)
}

test('no platform package: at most 5 lines naming the platform, the package, the likely cause and the fix', async (t) => {
  const { app, done } = installed()
  try {
    const r = await load(app)
    t.is(r.code, 1)
    const lines = message(r.stderr)
    t.true(lines.length >= 3 && lines.length <= 5, lines.join('\n'))
    const text = lines.join('\n')
    t.true(text.includes(platform), text)
    t.true(text.includes(`pidfd-${platform} is not installed`), text)
    t.regex(text, /--omit=optional/)
    t.regex(text, /lockfile made on another platform/)
    t.true(text.includes(`npm install pidfd-${platform}@${version}`), text)
    t.notRegex(r.stderr, /wasm|cargo/i)
  } finally {
    done()
  }
})

test("no platform package, the package's package.json unreadable and the C library known only from Node's report: the fix names @latest and the report's libc", async (t) => {
  const { app, pkg, done } = installed()
  try {
    rmSync(join(pkg, 'package.json'))
    // Neither /proc/self/maps nor /usr/bin/ldd can be read (as in a sandbox that hides /proc
    // and has no ldd): the report's glibc version decides, here this process's own.
    const preload = join(app, 'hide.cjs')
    writeFileSync(
      preload,
      `const fs = require('fs'); const read = fs.readFileSync;
       fs.readFileSync = function (path, ...rest) {
         if (path === '/proc/self/maps' || path === '/usr/bin/ldd') throw Object.assign(new Error('ENOENT: ' + path), { code: 'ENOENT' });
         return read.call(this, path, ...rest);
       };`,
    )
    const r = await load(app, preload)
    t.is(r.code, 1)
    const text = message(r.stderr).join('\n')
    t.true(text.includes(`pidfd-${platform} is not installed`), text)
    t.true(text.includes(`Fix: npm install pidfd-${platform}@latest, or delete`), text)
  } finally {
    done()
  }
})

test('a platform package whose binary does not load: one line that names it and the loader\'s reason', async (t) => {
  const { app, done } = installed()
  try {
    const dir = join(app, 'node_modules', `pidfd-${platform}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `pidfd-${platform}`, version, main: `pidfd.${platform}.node` }))
    writeFileSync(join(dir, `pidfd.${platform}.node`), 'not an ELF file')
    const r = await load(app)
    t.is(r.code, 1)
    const lines = message(r.stderr)
    t.is(lines.length, 1, lines.join('\n'))
    t.true(lines[0]!.startsWith(`Error: pidfd: pidfd-${platform} is installed but its binary does not load here: `), lines[0])
  } finally {
    done()
  }
})

test("a platform package that throws a message of several lines: the first is the reason, the error itself the cause", async (t) => {
  const { app, done } = installed()
  try {
    const dir = join(app, 'node_modules', `pidfd-${platform}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `pidfd-${platform}`, version, main: 'index.js' }))
    writeFileSync(join(dir, 'index.js'), "throw Object.assign(new Error('first line of the reason\\nsecond line\\nthird'), { code: 'ERR_DLOPEN_FAILED' })\n")
    const r = await new Promise<{ err: Error | null; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        ['-e', "try { require('pidfd') } catch (e) { console.log(JSON.stringify({ message: e.message, cause: e.cause && e.cause.message, code: e.cause && e.cause.code })) }"],
        { cwd: app },
        (err, stdout) => resolve({ err, stdout }),
      ),
    )
    t.is(r.err, null)
    t.deepEqual(JSON.parse(r.stdout), {
      message: `pidfd: pidfd-${platform} is installed but its binary does not load here: first line of the reason`,
      cause: 'first line of the reason\nsecond line\nthird',
      code: 'ERR_DLOPEN_FAILED',
    })
  } finally {
    done()
  }
})

test('an architecture with no published binary: one line with what is published', async (t) => {
  const { app, done } = installed()
  try {
    const preload = join(app, 'arch.cjs')
    writeFileSync(preload, "Object.defineProperty(process, 'arch', { value: 'riscv64' })")
    const r = await load(app, preload)
    t.is(r.code, 1)
    const lines = message(r.stderr)
    t.is(lines.length, 1, lines.join('\n'))
    t.regex(lines[0]!, /^Error: pidfd has no binary for linux-riscv64-(gnu|musl): it is published for linux-x64-gnu, linux-x64-musl, linux-arm64-gnu, linux-arm64-musl/)
  } finally {
    done()
  }
})

test('a clone with no build says to build, and that it needs Rust', async (t) => {
  const { app, pkg, done } = installed()
  try {
    writeFileSync(join(pkg, 'Cargo.toml'), '')
    const r = await load(app)
    const lines = message(r.stderr)
    t.true(lines.length <= 2, lines.join('\n'))
    t.regex(lines.join('\n'), /no native build for linux-.*\nFix: npm run build \(it needs Rust, from https:\/\/rustup\.rs, and a C compiler\)/)
  } finally {
    done()
  }
})

test('npm run build without cargo on PATH: says Rust is needed and where it comes from, before any build', (t) => {
  const bin = tempDir('pidfd-nocargo-')
  try {
    for (const tool of ['sh', 'sed', 'gcc', 'cc', 'printf']) {
      try {
        const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim()
        if (found.startsWith('/')) cpSync(found, join(bin, tool))
      } catch {
        // not here
      }
    }
    let stderr = ''
    let code = 0
    try {
      execFileSync('/bin/bash', [join(root, 'scripts', 'need-rust.sh')], { env: { PATH: bin }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      stderr = String((err as { stderr: string }).stderr)
      code = (err as { status: number }).status
    }
    t.is(code, 1)
    t.regex(stderr, /^Building pidfd from source needs Rust \(cargo\): https:\/\/rustup\.rs; install it, then run npm run build again\.\n/)
    t.true(stderr.trim().split('\n').length <= 2, stderr)
  } finally {
    rmSync(bin, { recursive: true, force: true })
  }
})

// Deno's refusal may sit in the message of the error a load throws, in one of its causes, or in
// an AggregateError's list; load.ts looks through them all, each once, and stops on a cycle.
test("load.ts finds Deno's refusal anywhere in an error's causes and lists, each looked at once; a chain without one is null", async (t) => {
  const script = `
    const { refusal } = require(${JSON.stringify(join(root, 'lib', 'load.js'))})
    const said = 'Requires ffi access to "/x.node", run again with the --allow-ffi flag'
    const cycle = new Error('a'); cycle.cause = new Error('b', { cause: cycle })
    const self = new Error('self'); self.cause = self
    const nested = new Error('outer', { cause: new Error('middle', { cause: new Error(said) }) })
    const listed = new Error('outer', { cause: new AggregateError([new Error('one'), new Error(said)], 'all failed') })
    const late = new Error('outer', { cause: cycle }); late.errors = [new Error(said)]
    const odd = new Error('outer', { cause: null }); odd.errors = ['text', 42, undefined, { message: said }]
    const none = new Error('plain')
    console.log(JSON.stringify({
      nested: refusal(nested), listed: refusal(listed), late: refusal(late), odd: refusal(odd),
      cycle: refusal(cycle), self: refusal(self), none: refusal(none), text: refusal(said), nul: refusal(null),
    }))
  `
  const r = await new Promise<{ stdout: string; stderr: string; err: Error | null }>((resolve) =>
    execFile(process.execPath, ['-e', script], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ stdout, stderr, err })),
  )
  t.is(r.err, null, `${r.err?.message} ${r.stderr}`)
  const found = { sentence: 'Requires ffi access to "/x.node", run again with the --allow-ffi flag', flag: '--allow-ffi' }
  t.deepEqual(JSON.parse(r.stdout), { nested: found, listed: found, late: found, odd: found, cycle: null, self: null, none: null, text: null, nul: null })
})

// Which binary to load follows the C library the process runs on. libcFrom is fed the files of
// other systems: /proc/self/maps as Alpine, Debian's musl and glibc systems map their C library,
// /usr/bin/ldd's text where the maps cannot be read, Node's report last.
test('the C library: from the maps (Alpine, Debian musl, glibc old and new), else ldd, else the report; Deno\'s refusal is thrown', async (t) => {
  const { libcFrom } = await import('../lib/native.js')
  const own = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime
  t.is(`linux-${process.arch}-${libcFrom((p) => readFileSync(p, 'latin1'), () => own)}`, platform, 'this process')

  const line = (path: string) => `7f3c8a000000-7f3c8a028000 r-xp 00000000 fe:01 1234                       ${path}`
  const maps = (...paths: string[]) => ['55d0c0a00000-55d0c0c00000 r--p 00000000 fe:01 99   /usr/bin/node', ...paths.map(line), '7ffc1a000000-7ffc1a021000 rw-p 00000000 00:00 0                          [stack]', ''].join('\n')
  /** libcFrom over the given files (a missing one throws ENOENT, as readFileSync does); what it read, and whether it asked the report. */
  const run = (files: Record<string, string | Error>, report: string | undefined) => {
    const read: string[] = []
    let asked = false
    const libc = libcFrom(
      (path) => {
        read.push(path)
        const file = files[path]
        if (file instanceof Error) throw file
        if (file === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
        return file
      },
      () => ((asked = true), report),
    )
    return { libc, read, asked }
  }
  const mapsOnly = ['/proc/self/maps']
  const glibcLdd = 'ldd (Debian GLIBC 2.36-9+deb12u9) 2.36\nCopyright (C) 2022 Free Software Foundation, Inc.\n'
  const muslLdd = '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n'

  // The maps decide where they name a C library; the report (which says the other) is not asked.
  for (const [name, paths, libc, report] of [
    ['Alpine', ['/usr/lib/libstdc++.so.6.0.33', '/lib/ld-musl-x86_64.so.1'], 'musl', '2.36'],
    ['Alpine, arm64', ['/lib/ld-musl-aarch64.so.1'], 'musl', '2.36'],
    ["musl's other name for its loader", ['/usr/lib/libc.musl-x86_64.so.1'], 'musl', '2.36'],
    ["Debian's musl (the musl Node of the release tests)", ['/var/tmp/n/libgcc_s-0cd532bd.so.1', '/usr/lib/x86_64-linux-musl/libc.so'], 'musl', '2.36'],
    ['glibc', ['/usr/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'], 'gnu', undefined],
    ['glibc 2.17 (CentOS 7)', ['/usr/lib64/libc-2.17.so'], 'gnu', undefined],
    // A name that only contains a C library's, in a folder or before a suffix, is not one.
    ['glibc, with files that only look like musl', ['/opt/ld-musl-x86_64.so.1.d/notes', '/srv/x86_64-linux-musl/libc.so.d/x', '/usr/lib/x86_64-linux-gnu/libc.so.6'], 'gnu', undefined],
  ] as const) {
    t.deepEqual(run({ '/proc/self/maps': maps(...paths), '/usr/bin/ldd': name.includes('glibc') ? muslLdd : glibcLdd }, report), { libc, read: mapsOnly, asked: false }, name)
  }
  // Maps that name no C library (a static or unusual build): the report decides, not ldd.
  const bare = maps('/opt/libc.so.6.bak', '/opt/libc-2.17.so/x', '/opt/musl/libc.a')
  t.deepEqual(run({ '/proc/self/maps': bare, '/usr/bin/ldd': muslLdd }, '2.36'), { libc: 'gnu', read: mapsOnly, asked: true })
  t.deepEqual(run({ '/proc/self/maps': bare, '/usr/bin/ldd': glibcLdd }, undefined), { libc: 'musl', read: mapsOnly, asked: true })
  t.deepEqual(run({ '/proc/self/maps': bare }, ''), { libc: 'musl', read: mapsOnly, asked: true }, 'an empty version is none')

  // Maps that cannot be read (Deno without -A refuses them): ldd's text decides, and the report is not asked.
  const refused = Object.assign(new Error('Requires read access to "/proc/self/maps", run again with the --allow-read flag'), { name: 'NotCapable' })
  const both = ['/proc/self/maps', '/usr/bin/ldd']
  for (const mapsError of [refused, Object.assign(new Error('EACCES'), { code: 'EACCES' })]) {
    t.deepEqual(run({ '/proc/self/maps': mapsError, '/usr/bin/ldd': muslLdd }, '2.36'), { libc: 'musl', read: both, asked: false })
    t.deepEqual(run({ '/proc/self/maps': mapsError, '/usr/bin/ldd': glibcLdd }, undefined), { libc: 'gnu', read: both, asked: false })
  }
  // Neither file: the report.
  t.deepEqual(run({}, '2.17'), { libc: 'gnu', read: both, asked: true })
  t.deepEqual(run({}, undefined), { libc: 'musl', read: both, asked: true })
  // Deno's refusal of ldd too is thrown as it came, for the user to read; no other error is.
  t.is(t.throws(() => run({ '/proc/self/maps': refused, '/usr/bin/ldd': refused }, '2.36')), refused)
  t.deepEqual(run({ '/proc/self/maps': refused, '/usr/bin/ldd': Object.assign(new Error('EPERM'), { name: 'PermissionDenied' }) }, '2.36'), { libc: 'gnu', read: both, asked: true })
})

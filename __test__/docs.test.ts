// The documentation runs: every code block marked `runnable` in README.md, docs/ and
// CONTRIBUTING.md, and every file in examples/, is run (and the TypeScript type-checked) as a
// user would run it, against the built package (`import … from 'pidfd'` resolves to this
// repository). docs/api.md names every export, spawn option, public member and error code, and
// the relative links lead somewhere.

import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import test from 'ava'

import { root, runnableBlocks, type RunnableBlock } from './helpers.js'

const require = createRequire(import.meta.url)

type Block = RunnableBlock

const pages = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

const blocks = runnableBlocks

const runnable = pages.flatMap(blocks)
// Where the extracted blocks are written: inside the package, so `pidfd` resolves to it by
// self-reference, and out of git (.tmp is ignored).
const work = join(root, '.tmp', 'docs-run')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, timeout: 60_000, maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

/** What a block says it prints: `// → text` or `# → text` at the end of a line. */
function expectations(code: string): string[] {
  return [...code.matchAll(/(?:\/\/|#) → (.+)$/gm)].map((m) => m[1]!.trim())
}

function blockName(b: Block, ext: string): string {
  return `${b.file.replace(/[/.]/g, '_')}_${b.line}${ext}`
}

// A PATH where `pidfd` and `npx pidfd` run this repository's CLI, as they would after
// `npm install pidfd`.
let bin: string | undefined
function binDir(): string {
  // Written once: rewriting a script while another test runs it fails with ETXTBSY.
  if (bin) return bin
  const dir = (bin = join(work, 'bin'))
  mkdirSync(dir, { recursive: true })
  const cli = join(root, 'bin', 'pidfd.js')
  writeFileSync(join(dir, 'pidfd'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`)
  writeFileSync(join(dir, 'npx'), `#!/bin/sh\n[ "$1" = pidfd ] || { echo "npx shim: only pidfd" >&2; exit 1; }\nshift\nexec "${process.execPath}" "${cli}" "$@"\n`)
  chmodSync(join(dir, 'pidfd'), 0o755)
  chmodSync(join(dir, 'npx'), 0o755)
  return dir
}

test.before(() => {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
})

test('the README is short, and its examples and the CLI are marked runnable', (t) => {
  const size = statSync(join(root, 'README.md')).size
  t.true(size <= 8192, `README.md is ${size} bytes`)
  const readme = runnable.filter((b) => b.file === 'README.md')
  t.true(readme.filter((b) => b.lang === 'ts').length >= 2, 'spawn and fromChild examples')
  t.true(readme.some((b) => b.lang === 'sh' && b.code.includes('pidfd time')), 'the CLI example')
  // The two commands a newcomer runs, as .ci/run runs them.
  const readmeText = readFileSync(join(root, 'README.md'), 'utf8')
  t.regex(readmeText, /npm ci && npm run demo/)
  t.regex(readmeText, /npm ci && npm test/)
})

test('every runnable TypeScript block type-checks against the shipped typings', async (t) => {
  const ts = runnable.filter((b) => b.lang === 'ts')
  t.true(ts.length >= 8, `${ts.length} blocks`)
  const dir = join(work, 'typecheck')
  mkdirSync(dir, { recursive: true })
  for (const b of ts) writeFileSync(join(dir, blockName(b, '.mts')), b.code)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: relative(dir, join(root, 'tsconfig.json')), include: ['*.mts'], compilerOptions: { noEmit: true } }),
  )
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { timeout: 120_000 })
  t.is(r.code, 0, r.stdout + r.stderr)
})

for (const b of runnable) {
  test(`${b.file}:${b.line} (${b.lang}) runs`, async (t) => {
    let r: Run
    if (b.lang === 'ts') {
      const file = join(work, blockName(b, '.mts'))
      writeFileSync(file, b.code)
      r = await run(process.execPath, ['--import', 'tsx', file])
    } else if (b.lang === 'sh') {
      const cwd = join(work, blockName(b, ''))
      mkdirSync(cwd, { recursive: true })
      const PATH = `${binDir()}:${process.env.PATH ?? ''}`
      r = await run('bash', ['-e', '-o', 'pipefail', '-c', b.code], { cwd, env: { ...process.env, PATH, GITHUB_STEP_SUMMARY: '' } })
    } else {
      t.fail(`a runnable block in ${b.lang || 'no language'}: only ts and sh run`)
      return
    }
    t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
    for (const want of expectations(b.code)) t.true(r.stdout.includes(want), `prints ${JSON.stringify(want)}; got:\n${r.stdout}`)
  })
}

// Each example, with what it must print. A new file in examples/ must be added here.
const examples: Record<string, RegExp> = {
  'demo.ts': /exited with code 3[\s\S]*peak RSS[\s\S]*SIGTERM \(rusage captured\)/,
  'drop-in.mts': /^spawned \d+\nexit code=0 signal=null\ncpu [\d.]+ ms, peak \d+ KiB\nclose 0: "compiling…\\n200000\\n"\n$/,
  'ci-budget.mts': /peak RSS [\d.]+ MiB\n {2}within budget/,
  'watch-any.mts': /watching \d+: ppid \d+[\s\S]*gone: status signaled, signal SIGTERM, rusage captured/,
  'rusage-report.mts': /cpu ms +peak KiB +command\n(.+\n){4}most memory: /,
}

test('every file in examples/ is run here', (t) => {
  t.deepEqual(readdirSync(join(root, 'examples')).sort(), Object.keys(examples).sort())
})

for (const [name, want] of Object.entries(examples)) {
  test(`examples/${name} runs`, async (t) => {
    const r = await run(process.execPath, ['--import', 'tsx', join(root, 'examples', name)])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, want)
  })
}

test('an example fails its run when what it shows breaks (the budget example goes over)', async (t) => {
  // The CI budget example's verdict is real: a command over its CPU budget fails it.
  const r = await run(process.execPath, ['--import', 'tsx', join(root, 'examples', 'ci-budget.mts'), 'sh', '-c', 'exit 4'])
  t.is(r.code, 1)
  t.regex(r.stdout, /failed: exit code 4/)
})

// The API page names everything a user can reach.
const api = readFileSync(join(root, 'docs', 'api.md'), 'utf8')
const named = (name: string) => api.includes(`\`${name}\``) || api.includes(`\`${name}(`) || new RegExp(`\`[^\`]*\\b${name}\\b[^\`]*\``).test(api)

test('docs/api.md names every export of the package', (t) => {
  const runtime = Object.keys(require(join(root, 'index.js'))).filter((k) => k !== '__esModule' && k !== 'default')
  const exported = [...readFileSync(join(root, 'index.ts'), 'utf8').matchAll(/^export (?:type )?\{([^}]*)\}/gm)]
  const types = exported.flatMap((m) => m[1]!.split(',').map((n) => n.trim().replace(/^type /, ''))).filter((n) => n && !runtime.includes(n))
  t.true(runtime.length >= 5 && types.length >= 10)
  t.deepEqual([...runtime, ...types].filter((n) => !named(n)), [])
})

test('docs/api.md names every spawn option and every public member of the classes', (t) => {
  const source = readFileSync(join(root, 'lib', 'subprocess.ts'), 'utf8')
  const declared = (name: string) => source.slice(source.indexOf(`export interface ${name}`), source.indexOf('\n}', source.indexOf(`export interface ${name}`)))
  const body = declared('SpawnOptions') + declared('SpawnExtras')
  const options = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]!)
  t.true(options.length >= 14, `${options.length} options`)
  t.deepEqual(options.filter((o) => !named(o)), [], 'options')

  const { Subprocess, AsyncPidFd, PidFd } = require(join(root, 'index.js'))
  const members = new Set<string>()
  for (const cls of [Subprocess, AsyncPidFd, PidFd]) {
    for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      if (proto.constructor?.name === 'ChildProcess' || proto.constructor?.name === 'EventEmitter') break
      for (const k of Object.getOwnPropertyNames(proto)) if (k !== 'constructor' && !k.startsWith('_')) members.add(k)
    }
    for (const k of Object.getOwnPropertyNames(cls)) if (!['length', 'name', 'prototype'].includes(k)) members.add(k)
  }
  // Public: declared in the shipped typings, and neither protected nor private there.
  const typings = ['pidfd.d.ts', 'subprocess.d.ts']
    .flatMap((f) => [...readFileSync(join(root, 'lib', f), 'utf8').matchAll(/^(?:export )?declare (?:abstract )?class [\s\S]*?^\}/gm)].map((m) => m[0]))
    .join('\n')
  const isPublic = (m: string) =>
    new RegExp(`^ +(?:static |readonly )*(?:get |set )?(?:${m}|\\[Symbol\\.${m.replace(/^Symbol\(Symbol\.|\)$/g, '')}\\])[?(:<]`, 'm').test(typings)
  for (const m of members) if (!isPublic(m)) members.delete(m)
  t.true(members.size >= 15, [...members].join(' '))
  t.deepEqual([...members].filter((m) => !named(m)), [], 'members')
})

test('docs/api.md names every error code the package throws', (t) => {
  const codes = new Set<string>()
  for (const dir of ['src', 'lib', 'lib/cli']) {
    for (const f of readdirSync(join(root, dir))) {
      if (!/\.(rs|ts)$/.test(f) || f.endsWith('.d.ts')) continue
      for (const m of readFileSync(join(root, dir, f), 'utf8').matchAll(/\b(ERR_[A-Z_]+[A-Z]|ABORT_ERR)\b/g)) codes.add(m[1]!)
    }
  }
  t.true(codes.size >= 8, [...codes].join(' '))
  t.deepEqual([...codes].filter((c) => !named(c)), [])
})

/** The anchors GitHub makes for a page's headings. */
function anchors(page: string): Set<string> {
  const text = readFileSync(join(root, page), 'utf8').replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '')
  return new Set(
    [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  )
}

test('relative links in README.md, docs/ and CONTRIBUTING.md lead to files and headings that exist', (t) => {
  const broken: string[] = []
  let checked = 0
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8')
    for (const m of text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
      const [, target = '', anchor] = m
      if (/^[a-z]+:/.test(target)) continue
      const path = target === '' ? page : relative(root, join(root, dirname(page), target))
      checked++
      if (!existsSync(join(root, path))) broken.push(`${page}: ${target}`)
      else if (anchor && path.endsWith('.md') && !anchors(path).has(anchor)) broken.push(`${page}: ${target}#${anchor}`)
    }
  }
  t.true(checked >= 20, `${checked} links`)
  t.deepEqual(broken, [])
})

// Thrown versus emitted: argument errors are thrown; everything the OS, the spawn helper or a
// deadline says comes as 'error' (and rejects `exited`), never thrown from spawn(), so an app
// written for child_process, which handles 'error' alone, never crashes on it. Each errno path
// of spawn that a test can provoke here, side by side with what child_process does.

import * as cp from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { spawn } from '../index.js'
import { runNode, tempDir, testHooks } from './helpers.js'

const dir = tempDir('pidfd-emitted-')
const notExecutable = join(dir, 'script.sh')
writeFileSync(notExecutable, '#!/bin/sh\necho no\n')
chmodSync(notExecutable, 0o644)

type Outcome = { thrown: string } | { emitted: string; rejected: string; pid: undefined }

async function outcome(run: () => ReturnType<typeof spawn>): Promise<Outcome> {
  let sub
  try {
    sub = run()
  } catch (err) {
    return { thrown: (err as { code: string }).code }
  }
  const emitted = await new Promise<string>((resolve) => sub.once('error', (e: { code: string }) => resolve(e.code)))
  const rejected = await sub.exited.then(() => 'resolved', (e: { code: string }) => e.code)
  return { emitted, rejected, pid: sub.pid as undefined }
}

const cases: Array<[string, string, () => ReturnType<typeof spawn>]> = [
  ['ENOENT', 'a program that does not exist', () => spawn('pidfd-no-such-program')],
  ['EACCES', 'a file without the execute bit', () => spawn(notExecutable)],
  ['E2BIG', 'arguments past the kernel limit', () => spawn('true', ['x'.repeat(3 * 2 ** 20)])],
  ['ENOTDIR', 'a cwd that is a file', () => spawn('true', [], { cwd: notExecutable })],
  ['ENOENT', 'a cwd that does not exist', () => spawn('true', [], { cwd: join(dir, 'gone') })],
]

for (const [code, what, run] of cases) {
  test(`${what}: ${code} through 'error' and exited's rejection, never thrown`, async (t) => {
    t.deepEqual(await outcome(run), { emitted: code, rejected: code, pid: undefined })
  })
}

test("child_process throws E2BIG and ENOTDIR where the package emits them (the difference, as docs/api.md says it)", (t) => {
  t.is((t.throws(() => cp.spawn('true', ['x'.repeat(3 * 2 ** 20)])) as unknown as { code: string }).code, 'E2BIG')
  t.is((t.throws(() => cp.spawn('true', [], { cwd: notExecutable })) as unknown as { code: string }).code, 'ENOTDIR')
})

test('a stdio entry naming no descriptor is the argument that is wrong: EBADF thrown, as child_process throws it', (t) => {
  t.is((t.throws(() => cp.spawn('true', [], { stdio: ['ignore', 987654] })) as unknown as { code: string }).code, 'EBADF')
  t.is((t.throws(() => spawn('true', [], { stdio: ['ignore', 987654] })) as unknown as { code: string }).code, 'EBADF')
})

test("a spawn helper past its deadline: ETIMEDOUT through 'error', never thrown, and the next spawn works", async (t) => {
  // The helper's second child stops before its exec (a test hook), so that spawn outlives a
  // 300 ms deadline. Only that spawn has it: the first (which starts the helper) and the third
  // (which starts another) have the usual 5 s, which a loaded machine needs.
  const r = await runNode(
    `${testHooks({ pause: 'exec:2' })}(async () => {
       const seen = [];
       for (let i = 0; i < 3; i++) {
         if (i === 1) ${testHooks({ deadlineMs: 300 })}
         if (i === 2) ${testHooks({})}
         let sub;
         try { sub = pidfd.spawn('true', [], { stdio: 'ignore' }) } catch (e) { seen.push('thrown ' + e.code); continue }
         seen.push(await new Promise((resolve) => { sub.once('error', (e) => resolve('emitted ' + e.code)); sub.once('exit', (code) => resolve('exit ' + code)) }));
       }
       console.log(JSON.stringify(seen));
     })();`,
    { timeoutMs: 30_000 },
  )
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), ['exit 0', 'emitted ETIMEDOUT', 'exit 0'])
})

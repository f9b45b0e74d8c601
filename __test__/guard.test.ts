// Guards: what a Node process leaves when it dies without cleaning up (SIGKILL here) is ended by
// a guard process that outlives it. Each case is a Node of its own that starts something
// guarded, says the pids to watch, and SIGKILLs itself; this test then waits for those pids to
// be gone (or, where the guard was released, checks they still run), and for a guarded cgroup to
// be removed. The controls (no guard) show that the processes would otherwise run on.

import { spawn as cpSpawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import test, { type ExecutionContext } from 'ava'

import { cgroupSupport, spawn } from '../index.js'
import { cgroupV1Mounts, entry, killPid, needsRoot, procState, root, runNode, runsIf, until, within } from './helpers.js'

const alive = (pid: number) => {
  const state = procState(pid)
  return state !== null && state !== 'Z'
}

/**
 * Runs `script` in a Node that is SIGKILLed after it prints a line: a JSON array whose numbers
 * are pids (any other fact goes in a string or an object: a teardown SIGKILLs every number that
 * is a live process, and a count of 2 is pid 2, in a PID namespace the test runner itself);
 * that array. `beforeDeath` runs between the line and the SIGKILL.
 */
async function diesAfter(t: ExecutionContext, script: string, args: string[] = [], beforeDeath?: (pids: number[]) => Promise<void>): Promise<number[]> {
  // Kept alive until the SIGKILL: a Node whose script is done would otherwise exit on its own, at
  // a moment a loaded machine decides (and the kill would find nothing, ESRCH).
  const keepAlive = 'setInterval(() => {}, 1 << 30);'
  const node = cpSpawn(process.execPath, [...args, '-e', `const pidfd = require(${JSON.stringify(entry)});\n${keepAlive}\n${script}`], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  node.stderr.on('data', (d) => (stderr += d))
  const lines = createInterface({ input: node.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error(`no line of pids: ${stderr}`)
  const pids = JSON.parse(first.value) as number[]
  t.teardown(() => {
    for (const pid of pids) if (alive(pid)) killPid(pid)
  })
  await beforeDeath?.(pids)
  process.kill(node.pid!, 'SIGKILL')
  await new Promise((resolve) => node.once('close', resolve))
  return pids
}

const gone = async (pids: number[]) => until(() => pids.every((pid) => !alive(pid)), 5000)

/** The guard `parent` has running (its child whose command line is the guard's), if any. */
function guardOf(parent: number): number | undefined {
  const pid = readdirSync('/proc').find((name) => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      return ppid === parent && readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('pidfd-helper\0guard\0')
    } catch {
      return false
    }
  })
  return pid === undefined ? undefined : Number(pid)
}

const hasGuard = (parent: number) => guardOf(parent) !== undefined

test('spawn({ guard: true }): the child gets SIGKILL when this Node is SIGKILLed; unguarded, it runs on', async (t) => {
  const [guarded, plain, flags] = (await diesAfter(
    t,
    `const a = pidfd.spawn('sleep', ['30'], { stdio: 'ignore', guard: true });
     const b = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
     console.log(JSON.stringify([a.pid, b.pid, { a: a.guarded, b: b.guarded }]));`,
  )) as [number, number, unknown]
  t.deepEqual(flags, { a: true, b: false }, 'guarded says which is')
  t.true(await gone([guarded!]), 'the guarded child is gone')
  t.true(alive(plain!), 'the unguarded one runs on')
})

test('spawn({ guard: true, processGroup: true }): the group the child leads gets SIGKILL too, a grandchild included', async (t) => {
  const [grandchild] = await diesAfter(
    t,
    `const sub = pidfd.spawn('sh', ['-c', 'sleep 30 >/dev/null & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], guard: true, processGroup: true });
     sub.stdout.once('data', (d) => console.log(JSON.stringify([Number(String(d).trim()), sub.pid])));`,
  )
  t.true(await gone([grandchild!]))
})

test("a guard is released at the child's exit: what its group left running is not ended when Node dies later", async (t) => {
  // The child leads a group, starts a sleep in it and exits; its exit releases the guard, so
  // Node's death later does not reach the sleep (a kill of the group would).
  const [grandchild] = await diesAfter(
    t,
    `const sub = pidfd.spawn('sh', ['-c', 'sleep 30 >/dev/null & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'], guard: true, processGroup: true });
     let pid;
     sub.stdout.once('data', (d) => (pid = Number(String(d).trim())));
     sub.once('close', () => console.log(JSON.stringify([pid])));`,
  )
  // Give a set-off guard the time it would take, then look: released, the sleep still runs.
  t.false(await until(() => !alive(grandchild!), 1000), 'the sleep was ended: the guard was not released')
})

test('options.guard is read as the boolean flags are: anything else is ERR_INVALID_ARG_TYPE', (t) => {
  const err = t.throws(() => spawn('true', [], { guard: 'yes' as unknown as boolean })) as NodeJS.ErrnoException
  t.is(err.code, 'ERR_INVALID_ARG_TYPE')
  t.regex(err.message, /"options\.guard" property must be of type boolean/)
})

const writable = cgroupSupport().reason

runsIf(writable, 'a guarded cgroup')('Cgroup.create({ guard: true }): when Node is SIGKILLed, everything in the cgroup gets SIGKILL and the cgroup is removed', async (t) => {
  const [guarded, path] = (await diesAfter(
    t,
    `const cg = pidfd.Cgroup.create({ guard: true });
     const sub = pidfd.spawn('sh', ['-c', 'setsid sleep 30 >/dev/null & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], cgroup: cg });
     sub.stdout.once('data', (d) => console.log(JSON.stringify([Number(String(d).trim()), cg.guarded ? cg.path : null])));`,
  )) as unknown as [number, string | null]
  t.truthy(path, 'guarded')
  t.true(await gone([guarded]), 'the setsid sleep in the cgroup is gone')
  t.true(await until(() => !existsSync(path!), 5000), `${path} is removed`)
})

runsIf(writable, 'a guarded cgroup with cgroups made inside')('Cgroup.create({ guard: true }): when Node is SIGKILLed, the cgroups the command made inside go too, deepest first, and what runs in them', async (t) => {
  const [guarded, path] = (await diesAfter(
    t,
    `const cg = pidfd.Cgroup.create({ guard: true });
     const sub = pidfd.spawn('sh', ['-c', 'mkdir "$0/a" "$0/a/b" "$0/c" || exit 1; sh -c \\'echo $$ > "$0"; exec setsid sleep 30\\' "$0/a/b/cgroup.procs" >/dev/null & echo $!; wait', cg.path], { stdio: ['ignore', 'pipe', 'ignore'], cgroup: cg });
     sub.stdout.once('data', (d) => {
       const pid = Number(String(d).trim());
       const inner = cg.path + '/a/b/cgroup.procs';
       // Once the sleep is in a/b (it moved itself before its exec), 10 s at most.
       const end = Date.now() + 10000;
       (function check() { if (require('node:fs').readFileSync(inner, 'utf8').includes(String(pid)) || Date.now() > end) console.log(JSON.stringify([pid, cg.guarded ? cg.path : null])); else setTimeout(check, 10) })();
     });`,
  )) as unknown as [number, string | null]
  t.truthy(path, 'guarded')
  t.true(await gone([guarded]), 'the setsid sleep in a/b is gone')
  t.true(await until(() => !existsSync(path!), 5000), `${path} is removed, with a, a/b and c`)
})

runsIf(writable, 'a guarded cgroup removed')("Cgroup.remove() releases its guard: the guard process ends then, not when Node does (one guard process per cgroup ever made would pile up)", async (t) => {
  const run = await runNode(
    `const { readdirSync, readFileSync } = require('node:fs');
     const guards = () => readdirSync('/proc').filter((n) => { try { const s = readFileSync('/proc/' + n + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && readFileSync('/proc/' + n + '/cmdline', 'utf8').startsWith('pidfd-helper\\0guard\\0') } catch { return false } }).length;
     // Each count is waited for (up to 10 s), not read once: the guard execs a moment after create().
     const until = (want, then) => { const end = Date.now() + 10000; (function check() { const n = guards(); if (n === want || Date.now() > end) then(n); else setTimeout(check, 10) })() };
     const cg = pidfd.Cgroup.create({ guard: true });
     const guarded = cg.guarded;
     until(1, (before) => { cg.remove(); until(0, (after) => console.log(JSON.stringify({ guarded, before, after }))) });`,
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { guarded: true, before: 1, after: 0 })
})

runsIf(writable, 'a collected guarded cgroup')('a guarded Cgroup collected unreleased still guards: its end of the socket stays open and what is in it runs on, until Node dies', async (t) => {
  // The Cgroup object is dropped and collected (--expose-gc); the native guard it held is
  // dropped with it, unreleased. That must not set the guard off (only this process's death
  // does): our end of its socket stays open, so the guard sees no EOF.
  let lived = false
  const [sleeper, facts] = (await diesAfter(
    t,
    `const fs = require('node:fs');
     const sockets = () => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith('socket:') } catch { return false } }).length;
     let collected = false;
     const registry = new FinalizationRegistry(() => (collected = true));
     const path = (() => { const cg = pidfd.Cgroup.create({ guard: true }); registry.register(cg, 0); return cg.guarded ? cg.path : null })();
     const sleeper = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' });
     fs.writeFileSync(path + '/cgroup.procs', String(sleeper.pid));
     const held = sockets();
     (async () => {
       const turn = () => new Promise((resolve) => setImmediate(resolve));
       for (let i = 0; i < 500 && !collected; i++) { global.gc(); await turn() }
       // The native finalizers run in turns of the loop of their own.
       for (let i = 0; i < 5; i++) { global.gc(); await turn() }
       console.log(JSON.stringify([sleeper.pid, { path, held, after: collected ? sockets() : 'not collected' }]));
     })();`,
    ['--expose-gc'],
    // Give a set-off guard the time it would take, then look: the sleep still runs.
    async ([pid]) => void (lived = !(await until(() => !alive(pid!), 500))),
  )) as unknown as [number, { path: string | null; held: number; after: number | string }]
  t.truthy(facts.path, 'guarded')
  t.is(facts.after, facts.held, 'the socket to the guard is still open after the collection')
  t.true(lived, 'the sleep in the cgroup was ended before Node died')
  t.true(await gone([sleeper]), 'Node died: the sleep is gone')
  t.true(await until(() => !existsSync(facts.path!), 5000), `${facts.path} is removed`)
})

runsIf(writable, 'a guarded cgroup removed by someone else')('a guarded cgroup someone else removed: when Node is SIGKILLed, the guard finds nothing to wait for and ends at once (not after its 10 s bound)', async (t) => {
  // Neither cgroup.events nor cgroup.procs can be read in a removed cgroup: nothing is in it,
  // so the guard has nothing to kill, nothing to wait for and nothing to remove.
  let guard: number | undefined
  const [facts] = (await diesAfter(
    t,
    `const cg = pidfd.Cgroup.create({ guard: true });
     require('node:fs').rmdirSync(cg.path);
     console.log(JSON.stringify([{ node: process.pid, guarded: cg.guarded }]));`,
    [],
    async ([facts]) => {
      // The guard execs a moment after create(): waited for, not looked for once.
      const node = (facts as unknown as { node: number }).node
      await until(() => (guard = guardOf(node)) !== undefined, 10_000)
      t.teardown(() => {
        if (guard !== undefined && alive(guard)) process.kill(guard, 'SIGKILL')
      })
    },
  )) as unknown as [{ node: number; guarded: boolean }]
  t.true(facts.guarded)
  t.truthy(guard, 'the guard ran')
  t.true(await until(() => !alive(guard!), 5000), 'the guard still runs 5 s after Node died')
})

runsIf(writable, 'pidfd time with a cgroup')('pidfd time --cgroup required, SIGKILLed: the command\'s tree is ended and its cgroup removed', async (t) => {
  const cli = cpSpawn(process.execPath, [`${root}/bin/pidfd.js`, 'time', '--cgroup', 'required', '--', 'sh', '-c', 'setsid sleep 31 >/dev/null & echo $!; wait'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = createInterface({ input: cli.stdout })[Symbol.asyncIterator]()
  const sleepPid = Number((await lines.next()).value)
  const own = /^0::(.*)$/m.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${sleepPid}/cgroup`, 'utf8')))![1]!
  process.kill(cli.pid!, 'SIGKILL')
  t.teardown(() => {
    if (alive(sleepPid)) process.kill(sleepPid, 'SIGKILL')
  })
  t.true(await gone([sleepPid]), 'the setsid sleep is gone')
  const dir = `${cgroupSupport().mount}${own}`
  t.true(await until(() => !existsSync(dir), 5000), `${dir} is removed`)
})

test('pidfd time --cgroup off --timeout, SIGKILLed: the command and the group it leads are ended', async (t) => {
  const cli = cpSpawn(process.execPath, [`${root}/bin/pidfd.js`, 'time', '--cgroup', 'off', '--timeout', '1h', '--', 'sh', '-c', 'sleep 32 >/dev/null & echo $!; wait'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = createInterface({ input: cli.stdout })[Symbol.asyncIterator]()
  const sleepPid = Number((await lines.next()).value)
  t.teardown(() => {
    if (alive(sleepPid)) process.kill(sleepPid, 'SIGKILL')
  })
  // The command's guard starts right after the command does: a SIGKILL in between (a
  // millisecond or so) would leave it unguarded, as docs/cli.md says.
  t.true(await until(() => hasGuard(cli.pid!), 5000), 'the guard runs')
  process.kill(cli.pid!, 'SIGKILL')
  t.true(await gone([sleepPid]))
})

/** A writable cgroup v1 hierarchy's mount point, or null. A v1 cgroup has neither `cgroup.kill`
 * nor `cgroup.events`: the shape the guard's fallbacks are for (cgroup v2 has no `cgroup.kill`
 * before Linux 5.14). */
const v1Mount = ((): string | null => {
  for (const { point } of cgroupV1Mounts()) {
    try {
      accessSync(point, constants.W_OK)
      return point
    } catch {
      // not ours to write
    }
  }
  return null
})()

/** Runs the helper program's guard mode with `args` after `guard` and `fds` as its 3, 4, …, as
 * src/guard.rs starts it; its fd 0 is a pipe, ended or written to by `then`. Its exit code. */
async function guardProgram(args: string[], fds: number[], then: (stdin: NodeJS.WritableStream) => void): Promise<number | null> {
  const guard = cpSpawn(join(root, 'pidfd-helper'), ['guard', ...args], { argv0: 'pidfd-helper', stdio: ['pipe', 'ignore', 'ignore', ...fds] })
  then(guard.stdin!)
  // Its own bound for a cgroup that does not empty is 10 s: past that, something is wrong.
  const [code] = (await within(once(guard, 'exit'), 15_000, 'the guard program exits')) as [number | null]
  return code
}

/** The guard program on the cgroup `dir` (fd 3, its parent fd 4). */
async function guardCgroup(dir: string, then: (stdin: NodeJS.WritableStream) => void): Promise<number | null> {
  const fds = [openSync(dir, 'r'), openSync(join(dir, '..'), 'r')]
  try {
    return await guardProgram(['cgroup', basename(dir)], fds, then)
  } finally {
    for (const fd of fds) closeSync(fd)
  }
}

runsIf(v1Mount === null ? 'no writable cgroup v1 hierarchy' : needsRoot, 'the guard program on a cgroup v1 directory')(
  "the guard program on a cgroup with no cgroup.kill or cgroup.events (a v1 one): released, it leaves all; at EOF, each process cgroup.procs lists gets SIGKILL, and once it is empty the cgroup goes, the 17 levels made inside first",
  async (t) => {
    const dir = join(v1Mount!, `pidfd-guard-${process.pid}`)
    // Cgroups made inside, 17 levels deep: as deep as the guard goes (its recursion is bounded).
    const levels = ['inner', ...Array.from({ length: 16 }, (_, i) => String(i + 2))]
    const nested = levels.map((_, i) => join(dir, ...levels.slice(0, i + 1)))
    mkdirSync(nested.at(-1)!, { recursive: true })
    // The shell joins the cgroup before it starts the two sleeps, which are then in it too.
    const sh = cpSpawn('sh', ['-c', 'read go; sleep 1000 & sleep 1000 & echo ready; wait'], { stdio: ['pipe', 'pipe', 'ignore'] })
    let listed: number[] = []
    t.teardown(async () => {
      for (const pid of listed) killPid(pid)
      killPid(sh.pid)
      const removed = (d: string) => {
        try {
          rmdirSync(d)
        } catch {}
        return !existsSync(d)
      }
      for (const d of [...nested].reverse().concat(dir)) await until(() => removed(d), 5000)
    })
    writeFileSync(join(dir, 'cgroup.procs'), String(sh.pid))
    sh.stdin!.write('go\n')
    const lines = createInterface({ input: sh.stdout! })[Symbol.asyncIterator]()
    t.is((await within(lines.next(), 10_000, 'the shell starts its sleeps')).value, 'ready')
    listed = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number)
    t.is(listed.length, 3, 'the shell and its two sleeps are in the cgroup')

    // Released (a byte before EOF): nothing is ended, nothing removed.
    t.is(await guardCgroup(dir, (stdin) => stdin.end('x')), 0)
    t.true(listed.every(alive), 'a released guard ended nothing')
    t.true(existsSync(nested.at(-1)!), 'a released guard removed nothing')

    // EOF: Node is gone.
    t.is(await guardCgroup(dir, (stdin) => stdin.end()), 0)
    t.deepEqual(listed.filter(alive), [], 'every process the cgroup listed is ended')
    t.false(existsSync(dir), `${dir} is removed, with the 17 levels inside`)
  },
)

test('the guard program does nothing in a mode it does not know, at EOF as when released', async (t) => {
  // A process group of its own, which the process mode would end (with fd 3's process).
  const sleep = cpSpawn('sleep', ['1000'], { stdio: 'ignore', detached: true })
  t.teardown(() => killPid(sleep.pid))
  t.is(await guardProgram(['processes', String(sleep.pid)], [], (stdin) => stdin.end()), 0)
  t.true(alive(sleep.pid!), 'the process group was left alone')
})

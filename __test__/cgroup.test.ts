// cgroup v2: a child spawned into a cgroup of its own (CLONE_INTO_CGROUP, or cgroup.procs before
// exec), the tree's figures from the kernel's files with the method of each, cgroup.kill at the
// timeout, cgroup.events for the end, the cgroup removed. Real cgroups and real process trees;
// where this machine cannot make a cgroup (not root, no delegation), or a controller is missing,
// the test says why and is skipped.

import { execFile, execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { text } from 'node:stream/consumers'
import test from 'ava'

import { Cgroup, cgroupSupport, features, spawn, spawnSync } from '../index.js'
import { entry, escapeRegExp, isError, killPid, procState, root, runNode, runsIf, shUntil, sleep, startLeftovers, tempDir, until, within } from './helpers.js'

const support = cgroupSupport()
const writable = support.reason
const memory =
  writable ??
  (support.controllers.includes('memory')
    ? null
    : `no memory.peak here: the memory controller is not ${readFileSync(join(support.parent!, 'cgroup.controllers'), 'utf8').includes('memory') ? `enabled in ${support.parent}/cgroup.subtree_control` : `available in ${support.parent} (a hybrid host keeps it in cgroup v1)`}; the kernel matrix checks it in a VM`)
const tmp = () => tempDir('pidfd-cgroup-')
const bin = join(root, 'bin', 'pidfd.js')

/** What /proc/<pid>/cgroup says of a process in `cg`: our own v2 path and its name. */
function expectedLine(cg: Cgroup): string {
  const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))![1]!
  return `0::${own.replace(/\/$/, '')}/${basename(cg.path)}`
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The CLIs run here: whatever a failing one left in the hierarchy is ended and removed at the end. */
const clis: number[] = []
test.after.always(() => {
  if (!support.parent) return
  for (const pid of clis) {
    for (const name of readdirSync(support.parent).filter((n) => n.startsWith(`pidfd-${pid}-`))) {
      const dir = join(support.parent, name)
      try {
        writeFileSync(join(dir, 'cgroup.kill'), '1')
        for (let i = 0; i < 200 && readFileSync(join(dir, 'cgroup.procs'), 'utf8') !== ''; i++) execFileSync('sleep', ['0.01'])
        rmdirSync(dir)
      } catch {
        // gone meanwhile
      }
    }
  }
})

function pidfd(args: string[], env: Record<string, string | undefined> = {}, uid?: number): Promise<Run> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, GITHUB_ACTIONS: undefined, ...env }, timeout: 30_000, ...(uid !== undefined && { uid, gid: uid }) }
    const cli = execFile(process.execPath, [bin, ...args], options, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
    if (cli.pid !== undefined) clis.push(cli.pid)
  })
}

interface JsonReport {
  code: number | null
  rusage: { userCPUTime: number; systemCPUTime: number; maxRSS: number }
  tree: { processes: number; rusage: { userCPUTime: number; systemCPUTime: number; maxRSS: number } }
  leftovers: Array<{ pid: number }>
  cgroup: {
    path: string | null
    via: string | null
    why: string | null
    removed: boolean
    movedOut: { to: string; pids: number[] } | null
    stats: { memoryPeakKiB: number | null; cpu: { usageUs: number; userUs: number; systemUs: number } | null; pidsPeak: number | null; missing: Record<string, string> } | null
  }
  methods: { peakMemory: string; cpu: string; processes: string; end: string; timeout?: string }
}

async function report(args: string[], command: string): Promise<{ run: Run; json: JsonReport }> {
  const out = join(tmp(), 'report.json')
  const run = await pidfd(['time', '--format', 'json', '--output', out, ...args, '--', 'sh', '-c', command])
  return { run, json: JSON.parse(readFileSync(out, 'utf8')) as JsonReport }
}

runsIf(writable, 'spawn into a cgroup')('spawn({ cgroup }): the program is in the cgroup from its first act, made there by CLONE_INTO_CGROUP; spawnSync too', async (t) => {
  const cg = Cgroup.create()
  // Made without a guard, it has none (and no guard process was started for it).
  t.false(cg.guarded)
  try {
    const child = spawn('cat', ['/proc/self/cgroup'], { cgroup: cg, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += String(d)))
    const exit = await child.exited
    await until(() => out.includes('0::'), 1000)
    t.is(exit.code, 0)
    t.is(child.cgroupVia, features().cloneIntoCgroup ? 'CLONE_INTO_CGROUP' : 'cgroup.procs')
    t.is(/^0::.*$/m.exec(out)?.[0], expectedLine(cg))
    // spawnSync takes it too.
    const sync = spawnSync('cat', ['/proc/self/cgroup'], { cgroup: cg, encoding: 'utf8' })
    t.is(sync.status, 0)
    t.is(/^0::.*$/m.exec(sync.stdout)?.[0], expectedLine(cg))
    t.true(await cg.waitEmpty(2000))
  } finally {
    t.true(cg.remove())
  }
  t.false(existsSync(cg.path))
})

runsIf(writable, 'spawn into a cgroup')('spawn({ cgroup }) with detached, processGroup, uid or gid: each child is made in the cgroup the same way (the flags do not turn clone3 off)', async (t) => {
  const cg = Cgroup.create()
  try {
    const own = { uid: process.getuid!(), gid: process.getgid!() }
    for (const extra of [{}, { detached: true }, { processGroup: true }, { uid: own.uid }, { gid: own.gid }]) {
      const child = spawn('cat', ['/proc/self/cgroup'], { cgroup: cg, stdio: ['ignore', 'pipe', 'inherit'], ...extra })
      const [out, exit] = await Promise.all([text(child.stdout!), child.exited])
      const what = JSON.stringify(extra)
      t.is(exit.code, 0, what)
      t.is(child.cgroupVia, features().cloneIntoCgroup ? 'CLONE_INTO_CGROUP' : 'cgroup.procs', what)
      t.is(/^0::.*$/m.exec(out)?.[0], expectedLine(cg), what)
    }
  } finally {
    await cg.waitEmpty(2000)
    t.true(cg.remove())
  }
})

runsIf(writable, 'cgroup.procs before exec')('without CLONE_INTO_CGROUP the child writes itself into cgroup.procs before its exec', async (t) => {
  const r = await runNode(
    `const cg = pidfd.Cgroup.create()
     const child = pidfd.spawn('cat', ['/proc/self/cgroup'], { cgroup: cg, stdio: ['ignore', 'pipe', 'inherit'] })
     let out = ''
     child.stdout.on('data', (d) => (out += d))
     child.on('close', () => { console.log(JSON.stringify({ via: child.cgroupVia, out, path: cg.path, feature: pidfd.features().cloneIntoCgroup })); cg.remove() })`,
    { env: { PIDFD_DISABLE: 'cloneIntoCgroup' } },
  )
  t.is(r.code, 0, r.stderr)
  const got = JSON.parse(r.stdout) as { via: string; out: string; path: string; feature: boolean }
  t.false(got.feature)
  t.is(got.via, 'cgroup.procs')
  t.regex(got.out, new RegExp(`^0::/?(.*/)?${basename(got.path)}$`, 'm'))
  t.false(existsSync(got.path))
})

runsIf(writable, 'a cgroup that takes no process')("a cgroup no process may enter ('domain invalid'): ENOTSUP, as Node names errno 95, the program never runs, and `step` is 'cgroup.procs' where the child wrote itself there", async (t) => {
  // A threaded child makes its parent a threaded domain; the parent's other children, domains,
  // become 'domain invalid': cgroup.procs refuses a process (EOPNOTSUPP), and so does
  // CLONE_INTO_CGROUP.
  const script = `
    const fs = require('node:fs'), path = require('node:path');
    const cg = pidfd.Cgroup.create();
    const threaded = path.join(cg.path, 'threaded'), invalid = path.join(cg.path, 'invalid');
    fs.mkdirSync(threaded);
    fs.writeFileSync(path.join(threaded, 'cgroup.type'), 'threaded');
    fs.mkdirSync(invalid);
    const type = fs.readFileSync(path.join(invalid, 'cgroup.type'), 'utf8').trim();
    const marker = process.env.MARKER;
    const child = pidfd.spawn('sh', ['-c', 'touch "$0"', marker], { cgroup: invalid });
    let error = null;
    child.on('error', (e) => (error = { code: e.code, errno: e.errno, message: e.message, step: e.step ?? null }));
    child.on('close', (code) => {
      const sync = pidfd.spawnSync('sh', ['-c', 'touch "$0"', marker], { cgroup: invalid });
      console.log(JSON.stringify({ type, error, code, via: child.cgroupVia, sync: { status: sync.status, code: sync.error?.code, errno: sync.error?.errno }, ran: fs.existsSync(marker) }));
      fs.rmdirSync(invalid); fs.rmdirSync(threaded); cg.remove();
    });`
  for (const clone3 of [false, true]) {
    const marker = join(tmp(), 'ran')
    const r = await runNode(script, { env: { MARKER: marker, ...(!clone3 && { PIDFD_DISABLE: 'cloneIntoCgroup' }) } })
    t.is(r.code, 0, r.stderr)
    const got = JSON.parse(r.stdout)
    t.is(got.type, 'domain invalid')
    t.like(got, { error: { code: 'ENOTSUP', errno: -95 }, code: -95, via: null, sync: { status: null, code: 'ENOTSUP', errno: -95 }, ran: false }, r.stdout)
    const viaProcs = !clone3 || !features().cloneIntoCgroup
    t.is(got.error.step, viaProcs ? 'cgroup.procs' : null, r.stdout)
    t.is(got.error.message, `spawn sh ENOTSUP${viaProcs ? ' (cgroup.procs failed in the child)' : ''}`)
  }
})

runsIf(writable, 'in-process refusal')("in-process (no spawn helper) a cgroup is refused with ENOSYS through 'error', and the program never runs", async (t) => {
  const marker = join(tmp(), 'ran')
  const r = await runNode(
    `const cg = pidfd.Cgroup.create()
     pidfd.spawn('sh', ['-c', 'touch ${marker}'], { cgroup: cg })
       .on('error', (err) => { console.log(err.code + ' ' + err.message); cg.remove() })
       .on('spawn', () => { console.log('spawned'); cg.remove() })`,
    { env: { PIDFD_SPAWN_HELPER: '0' } },
  )
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /^ENOSYS .*the cgroup option needs the spawn helper/)
  // A negative claim, so a window: no later event would show a program that ran anyway (its
  // parent, that Node, is gone). A slow machine only makes it a weaker check, never a failure.
  await sleep(200)
  t.false(existsSync(marker), 'the program did not run')
})

test('bad cgroup options: Node-style errors, own properties only, no descriptor left open', async (t) => {
  isError(t, t.throws(() => spawn('true', [], { cgroup: 42 as unknown as string })), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  isError(t, t.throws(() => spawn('true', [], { cgroup: { path: 5 } as unknown as string })), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  const notPath = 'must be a cgroup directory path, not empty and without null bytes'
  for (const [cgroup, received] of [['', "''"], ['a\0b', "'a\\x00b'"]]) {
    const err = t.throws(() => spawn('true', [], { cgroup }))
    isError(t, err, { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.is(err!.message, `The property 'options.cgroup' ${notPath}. Received ${received}`)
  }
  const notV2 = t.throws(() => spawn('true', [], { cgroup: tmpdir() }))
  isError(t, notV2, { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(notV2!.message, `The property 'options.cgroup' must be a cgroup v2 directory (it has no cgroup.controllers). Received '${tmpdir()}'`)
  // Inherited, not own: not read (a polluted prototype cannot move children).
  const child = spawn('true', [], Object.create({ cgroup: 42 }) as object)
  await child.exited
  t.is(child.cgroupVia, null)
  // Descriptors, in a process of its own (this file's other tests spawn meanwhile), once the
  // helper runs: refused options leave nothing open.
  const r = await runNode(
    `const { readdirSync } = require('node:fs')
     const fds = () => readdirSync('/proc/self/fd').length
     pidfd.spawn('true').exited.then(() => {
       const before = fds()
       for (const bad of [42, '', '/tmp']) try { pidfd.spawn('true', [], { cgroup: bad }) } catch {}
       console.log(before, fds())
     })`,
  )
  t.is(r.code, 0, r.stderr)
  const [before, after] = r.stdout.trim().split(' ').map(Number)
  t.is(after, before)
})

runsIf(writable, 'names left behind')("Cgroup.create() passes over a name a run that died with the same pid left behind, instead of failing with EEXIST", async (t) => {
  // In a fresh Node, create() counts from 1: the next two names are taken here first, as a dead
  // run's leftovers would be (pids repeat in containers and PID namespaces).
  const r = await runNode(
    `const { mkdirSync, rmdirSync } = require('node:fs');
    const { join } = require('node:path');
    const first = pidfd.Cgroup.create();
    const taken = [2, 3].map((n) => join(first.parent, 'pidfd-' + process.pid + '-' + n));
    for (const dir of taken) mkdirSync(dir);
    try {
      const next = pidfd.Cgroup.create();
      console.log(JSON.stringify({ pid: process.pid, names: [first.path, next.path].map((p) => p.slice(first.parent.length + 1)) }));
      next.remove();
    } finally {
      first.remove();
      for (const dir of taken) rmdirSync(dir);
    }`,
  )
  t.is(r.code, 0, r.stderr)
  const { pid, names } = JSON.parse(r.stdout) as { pid: number; names: string[] }
  t.deepEqual(names, [`pidfd-${pid}-1`, `pidfd-${pid}-4`])
})

runsIf(writable, 'names all taken, mkdir refused')("Cgroup.create(): 1,000 taken names are passed over, then EEXIST; a mkdir refused for another reason (EAGAIN at cgroup.max.descendants) is thrown at once", async (t) => {
  const r = await runNode(
    `const { mkdirSync, rmdirSync } = require('node:fs');
    const { join } = require('node:path');
    const parent = pidfd.cgroupSupport().parent;
    const taken = Array.from({ length: 1001 }, (_, i) => join(parent, 'pidfd-' + process.pid + '-' + (i + 1)));
    for (const dir of taken) mkdirSync(dir);
    let got;
    try {
      const cg = pidfd.Cgroup.create();
      got = 'made ' + cg.path.slice(parent.length + 1);
      cg.remove();
    } catch (e) {
      got = e.code;
    } finally {
      for (const dir of taken) rmdirSync(dir);
    }
    console.log(got);`,
    { timeoutMs: 60_000 },
  )
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'EEXIST')

  // A Node in a cgroup that may have no descendants: its create() meets EAGAIN.
  const outer = Cgroup.create()
  try {
    writeFileSync(join(outer.path, 'cgroup.max.descendants'), '0')
    const child = spawn(process.execPath, ['-e', `const pidfd = require(${JSON.stringify(entry)}); try { pidfd.Cgroup.create(); console.log('made') } catch (e) { console.log(e.code + ' ' + e.syscall) }`], { cgroup: outer, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += String(d)))
    const ended = await within(child.exited, 30_000, 'create() in the limited cgroup').then(() => true, () => false)
    if (!ended) child.kill('SIGKILL')
    t.true(ended, 'create() returned (a refusal taken for a taken name would loop forever)')
    t.is(out.trim(), 'EAGAIN mkdir')
    // pidfd time there: required refuses (125) with the refusal's errno; auto runs without.
    const runIn = async (args: string[]) => {
      const cli = spawn(process.execPath, [bin, ...args], { cgroup: outer, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, GITHUB_ACTIONS: undefined } })
      const [stderr, exit] = await within(Promise.all([text(cli.stderr!), cli.exited]), 30_000, args.join(' '))
      return { code: exit.code, stderr }
    }
    const required = await runIn(['time', '--cgroup', 'required', '--', 'true'])
    t.deepEqual(required, { code: 125, stderr: 'pidfd: --cgroup required: cannot make a cgroup (EAGAIN)\n' })
    const auto = await runIn(['time', '--format', 'json', '--', 'true'])
    t.is(auto.code, 0, auto.stderr)
    t.is((JSON.parse(auto.stderr) as JsonReport).cgroup.why, 'cannot make a cgroup (EAGAIN)')
    await outer.waitEmpty(5000)
  } finally {
    outer.remove()
  }
})

runsIf(writable, 'a cgroup for a command not found')('pidfd time --cgroup required, a command not found: 127, and its cgroup is removed before pidfd exits', async (t) => {
  const r = await pidfd(['time', '--cgroup', 'required', '--', 'pidfd-no-such-command'])
  const cli = clis.at(-1)!
  t.deepEqual(r, { code: 127, stdout: '', stderr: 'pidfd: pidfd-no-such-command: command not found\n' })
  t.deepEqual(readdirSync(support.parent!).filter((n) => n.startsWith(`pidfd-${cli}-`)), [])
})

runsIf(writable, 'cgroup.kill')('Cgroup: kill() ends a tree that keeps forking at once (cgroup.kill), populated() turns false, remove() takes it away', async (t) => {
  const cg = Cgroup.create()
  // Forking while it is killed (a bounded number of times, should the kill fail).
  const child = spawn('sh', ['-c', 'i=0; while [ $i -lt 3000 ]; do sleep 100 & i=$((i+1)); done; wait'], { cgroup: cg, stdio: 'ignore' })
  try {
    await until(() => cg.pids().length > 20, 3000)
    t.true(cg.populated())
    t.is(cg.kill(), 'cgroup.kill')
    t.true(await cg.waitEmpty(5000), `still in it: ${cg.pids().length} processes`)
    t.is((await child.exited).signal, 'SIGKILL')
    t.deepEqual(cg.pids(), [])
    t.true(cg.remove())
    t.false(existsSync(cg.path))
  } finally {
    // Broken (a test that failed): the shell first, then everything it started, by signals.
    child.kill('SIGKILL')
    for (let i = 0; i < 3 && cg.signal('SIGKILL') > 0; i++) await sleep(50)
    await cg.waitEmpty(2000)
    cg.remove()
  }
})

runsIf(writable, 'Cgroup.signal()')('Cgroup.signal(): returns how many processes it reached, each through a pidfd it closes again; none once they are gone', async (t) => {
  const cg = Cgroup.create()
  const child = spawn('sh', ['-c', 'sleep 100 & sleep 100 & wait'], { cgroup: cg, stdio: 'ignore' })
  try {
    await until(() => cg.pids().length === 3, 5000)
    const fds = () => readdirSync('/proc/self/fd').length
    const before = fds()
    t.is(cg.signal(0), 3, 'signal 0 reaches each without ending it')
    t.is(fds(), before, 'no pidfd left open')
    t.is(cg.signal('SIGKILL'), 3)
    t.true(await cg.waitEmpty(5000))
    t.is(cg.signal('SIGKILL'), 0)
    t.is((await child.exited).signal, 'SIGKILL')
  } finally {
    child.kill('SIGKILL')
    for (let i = 0; i < 3 && cg.signal('SIGKILL') > 0; i++) await sleep(50)
    await cg.waitEmpty(2000)
    cg.remove()
  }
})

runsIf(writable, 'setsid escapee')('pidfd time --timeout: a setsid escapee that ignores SIGTERM is ended by cgroup.kill, and the cgroup removed', async (t) => {
  const dir = tmp()
  const { run, json } = await report(
    // The command waits until the escapee's trap is set (its pid written after it); the timeout,
    // which nothing here can hold back, is a bound long enough for that on a busy machine.
    ['--timeout', '2s', '--kill-after', '300ms'],
    `setsid sh -c 'trap "" TERM; echo $$ > ${dir}/escapee; while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &
     until [ -s ${dir}/escapee ]; do sleep 0.01; done; sleep 30`,
  )
  t.is(run.code, 124, run.stderr)
  const pid = Number(readFileSync(join(dir, 'escapee'), 'utf8'))
  t.true(procState(pid) === null || procState(pid) === 'Z', `escapee ${pid} ended`)
  t.truthy(json.cgroup.path)
  t.is(json.cgroup.removed, true)
  t.false(existsSync(json.cgroup.path!))
  t.regex(json.methods.timeout ?? '', /cgroup\.kill/)
  t.is(json.methods.end, 'cgroup.events (populated 0)')
})

runsIf(writable, 'leftovers moved out')('pidfd time --leftovers report: a leftover runs on, moved to pidfd\'s own cgroup, and the command\'s cgroup removed', async (t) => {
  const dir = tmp()
  const { run, json } = await report([], startLeftovers([join(dir, 'pid')]))
  t.is(run.code, 0, run.stderr)
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'))
  try {
    t.not(procState(pid), null, 'still running')
    t.deepEqual(json.cgroup.movedOut?.pids, [pid])
    t.is(json.cgroup.movedOut?.to, support.parent ?? undefined)
    t.is(json.cgroup.removed, true)
    t.false(existsSync(json.cgroup.path!))
    t.is(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'))
  } finally {
    killPid(pid)
  }
})

runsIf(writable, 'cgroups the command made')('Cgroup: a process in a cgroup made inside it keeps it populated and not removable; moveOut() moves it out too, and remove() takes the empty ones made inside first', async (t) => {
  const cg = Cgroup.create()
  // The shell makes a/b and c inside, moves itself into a/b, and becomes sleep there.
  const child = spawn('sh', ['-c', 'mkdir "$0/a" "$0/a/b" "$0/c" && echo $$ > "$0/a/b/cgroup.procs" && exec sleep 30', cg.path], { cgroup: cg, stdio: 'ignore' })
  const inner = join(cg.path, 'a', 'b')
  try {
    await until(() => existsSync(inner) && readFileSync(join(inner, 'cgroup.procs'), 'utf8') === `${child.pid}\n` && procState(child.pid!) !== null && readFileSync(`/proc/${child.pid}/comm`, 'utf8') === 'sleep\n', 5000)
    t.deepEqual(cg.pids(), [], 'pids() is its own cgroup.procs')
    t.true(cg.populated())
    t.false(cg.remove(), 'a process in a/b')
    t.true(existsSync(inner))
    t.deepEqual(cg.moveOut(), [child.pid])
    t.is(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'))
    t.is(procState(child.pid!) !== null, true, 'it runs on')
    t.true(cg.remove())
    for (const dir of [cg.path, join(cg.path, 'a'), inner, join(cg.path, 'c')]) t.false(existsSync(dir), dir)
  } finally {
    child.kill('SIGKILL')
    await child.exited
    cg.kill()
    await cg.waitEmpty(2000)
    cg.remove()
  }
})

/** The shell's words for the cgroup it runs in, where the command's cgroup is. */
const ownCgroup = () => `"${support.mount}$(sed -n 's/^0:://p' /proc/self/cgroup)"`

runsIf(writable, 'cgroups the command made, CLI')('pidfd time: cgroups the command made inside its own are removed with it; a leftover in one is moved out (--leftovers report)', async (t) => {
  const dir = tmp()
  const made = await report([], `cg=${ownCgroup()}; mkdir "$cg/sub" "$cg/sub/deeper" "$cg/other" && echo "$cg" > ${dir}/cg`)
  t.is(made.run.code, 0, made.run.stderr)
  t.is(readFileSync(join(dir, 'cg'), 'utf8'), `${made.json.cgroup.path}\n`)
  t.is(made.json.cgroup.removed, true)
  t.false(existsSync(made.json.cgroup.path!))
  t.is(made.json.cgroup.movedOut, null)

  const { run, json } = await report(
    [],
    `cg=${ownCgroup()}; mkdir "$cg/sub" "$cg/sub/deeper" && (sh -c 'echo $$ > "$0/cgroup.procs" && echo $$ > ${dir}/pid && exec sleep 30' "$cg/sub/deeper" </dev/null >/dev/null 2>&1 &); ${shUntil(`[ -s ${dir}/pid ]`)}`,
  )
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'))
  try {
    t.is(run.code, 0, run.stderr)
    t.deepEqual(json.cgroup.movedOut, { to: support.parent, pids: [pid] })
    t.is(json.cgroup.removed, true)
    t.false(existsSync(json.cgroup.path!))
    t.not(procState(pid), null, 'still running')
  } finally {
    killPid(pid)
  }
})

const unshare = process.getuid?.() === 0 ? null : 'unshare --mount needs root'

/** pidfd in a mount namespace of its own (unshare execs it: the same pid). */
function pidfdUnshared(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, GITHUB_ACTIONS: undefined }, timeout: 30_000 }
    const cli = execFile('unshare', ['--mount', '--propagation', 'private', process.execPath, bin, ...args], options, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
    if (cli.pid !== undefined) clis.push(cli.pid)
  })
}

runsIf(writable ?? unshare, 'a cgroup that cannot be removed')("pidfd time: a cgroup it cannot remove (a mount on one the command made inside) is 'NOT removed' in the text, markdown and JSON reports, and pidfd still exits with the command's status", async (t) => {
  const dir = tmp()
  // A mount namespace of pidfd's own: the bind mount ends with it, and the test removes the rest.
  const command = `cg=${ownCgroup()}; mkdir "$cg/sub" && mount --bind ${dir} "$cg/sub" && echo "$cg" > ${dir}/cg-$1; exit 3`
  const json = join(dir, 'r.json')
  const md = join(dir, 'r.md')
  const runs = [
    await pidfdUnshared(['time', '--', 'sh', '-c', command, 'sh', 'text']),
    await pidfdUnshared(['time', '--format', 'markdown', '--output', md, '--', 'sh', '-c', command, 'sh', 'md']),
    await pidfdUnshared(['time', '--format', 'json', '--output', json, '--', 'sh', '-c', command, 'sh', 'json']),
  ]
  const cgroups = ['text', 'md', 'json'].map((k) => (existsSync(join(dir, `cg-${k}`)) ? readFileSync(join(dir, `cg-${k}`), 'utf8').trim() : null))
  try {
    for (const r of runs) t.is(r.code, 3, r.stderr)
    t.regex(runs[0]!.stderr, new RegExp(`^ {2}cgroup ${escapeRegExp(cgroups[0]!)} \\(entered by \\S+; NOT removed\\)$`, 'm'))
    t.regex(readFileSync(md, 'utf8'), new RegExp(`^\\| cgroup \\| \`${escapeRegExp(cgroups[1]!)}\` \\(entered by \\S+; NOT removed\\) \\|$`, 'm'))
    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport
    t.is(report.cgroup.path, cgroups[2] ?? null)
    t.is(report.cgroup.removed, false)
    for (const cg of cgroups) t.true(cg !== null && existsSync(cg), `${cg} left`)
  } finally {
    for (const cg of cgroups) {
      if (cg === null) continue
      try {
        rmdirSync(join(cg, 'sub'))
        rmdirSync(cg)
      } catch {
        // the after hook's turn
      }
    }
  }
})

runsIf(writable, 'the cgroup in the text report')("the text report's cgroup lines: the cgroup, how it was entered, removed; its figures by file; the leftovers moved out (one, two); the method of each figure, the timeout's only with --timeout; with --cgroup off, why none", async (t) => {
  const dir = tmp()
  const parent = escapeRegExp(support.parent!)
  const via = features().cloneIntoCgroup ? 'CLONE_INTO_CGROUP' : 'cgroup\\.procs'
  for (const [n, timeout, moved] of [[1, [], '1 leftover'], [2, ['--timeout', '20s'], '2 leftovers']] as const) {
    const files = Array.from({ length: n }, (_, i) => join(dir, `t${n}-${i}`))
    const r = await pidfd(['time', ...timeout, '--', 'sh', '-c', startLeftovers(files)])
    const pids = files.map((f) => Number(readFileSync(f, 'utf8')))
    try {
      t.is(r.code, 0, r.stderr)
      const figures = '    tree CPU user \\S+ · system \\S+ \\(cpu\\.stat\\) · (tree peak memory \\S+ \\S+ \\(memory\\.peak\\)|tree peak memory not measured \\(no memory\\.peak\\)) · (most processes at once [\\d,]+ \\(pids\\.peak\\)|most processes at once not measured \\(no pids\\.peak\\))'
      const methods = ['peak memory', 'CPU', 'processes', 'end of the tree', ...(timeout.length ? ['timeout'] : [])].map((m) => `\\n {4}${m}: \\S.*`).join('')
      const m = new RegExp(`^ {2}cgroup ${parent}/pidfd-\\d+-\\d+ \\(entered by ${via}; removed\\)\\n${figures}\\n {4}${moved} moved to ${parent}: ([\\d ]+)\\n {2}measured by:${methods}\\n {2}\\(rusage covers`, 'm').exec(r.stderr)
      t.truthy(m, r.stderr)
      t.deepEqual(m![3]!.split(' ').map(Number).sort(), [...pids].sort())
    } finally {
      pids.forEach(killPid)
    }
  }
  const off = await pidfd(['time', '--cgroup', 'off', '--', 'true'])
  t.regex(off.stderr, /^ {2}no cgroup: --cgroup off\n {2}measured by:\n/m)
})

runsIf(writable, 'the cgroup in the markdown report')("the markdown report's cgroup rows: the cgroup in code, how it was entered, removed; its figures; the leftovers moved out; each method, the timeout's only with --timeout; with --cgroup off, none and why, and no figures", async (t) => {
  const dir = tmp()
  const via = features().cloneIntoCgroup ? 'CLONE_INTO_CGROUP' : 'cgroup\\.procs'
  const files = [join(dir, 'pid1'), join(dir, 'pid2')]
  const out = join(dir, 'report.md')
  const r = await pidfd(['time', '--format', 'markdown', '--output', out, '--timeout', '20s', '--', 'sh', '-c', startLeftovers(files)])
  const pids = files.map((f) => Number(readFileSync(f, 'utf8')))
  try {
    t.is(r.code, 0, r.stderr)
    const md = readFileSync(out, 'utf8')
    const rows = [
      `\\| cgroup \\| \`${escapeRegExp(support.parent!)}/pidfd-\\d+-\\d+\` \\(entered by ${via}; removed\\) \\|`,
      '\\| cgroup figures \\| tree CPU user \\S+ · system \\S+ \\(cpu\\.stat\\) · tree peak memory .* · most processes at once .* \\|',
      `\\| leftovers moved out \\| (\\d+ \\d+) to \`${escapeRegExp(support.parent!)}\` \\|`,
      '\\| peak memory measured by \\| \\S.* \\|',
      '\\| CPU measured by \\| cgroup cpu\\.stat .* \\|',
      '\\| processes measured by \\| \\S.* \\|',
      '\\| end of the tree known by \\| cgroup\\.events \\(populated 0\\) \\|',
      '\\| timeout ends the tree by \\| \\S.* \\|',
    ]
    const m = new RegExp(`^${rows.join('\\n')}\\n`, 'm').exec(md)
    t.truthy(m, md)
    t.deepEqual(m![1]!.split(' ').map(Number).sort(), [...pids].sort(), 'the two leftovers, a space between')
  } finally {
    pids.forEach(killPid)
  }
  const offOut = join(dir, 'off.md')
  const off = await pidfd(['time', '--format', 'markdown', '--output', offOut, '--cgroup', 'off', '--', 'true'])
  t.is(off.code, 0, off.stderr)
  const md = readFileSync(offOut, 'utf8')
  t.regex(md, /^\| cgroup \| none: --cgroup off \|\n\| peak memory measured by \| .* \|\n\| CPU measured by \| .* \|\n\| processes measured by \| .* \|\n\| end of the tree known by \| .* \|\n\n_rusage covers/m)
})

runsIf(writable, 'methods')('the report names the method of each figure: cpu.stat counts a daemon nobody reaped; peak memory from memory.peak only where it exists, else why not', async (t) => {
  const dir = tmp()
  // The daemon burns CPU, then sleeps on: no rusage holds its CPU (nobody reaps it here). It
  // writes its pid after the loop, and the command exits once it has (a fixed 0.6 s was
  // outlasted by the loop on a busy machine).
  const { run, json } = await report(
    ['--leftovers', 'report'],
    `(sh -c 'i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; echo $$ > ${dir}/pid; exec sleep 30' </dev/null >/dev/null 2>&1 &) ; ${shUntil(`[ -s ${dir}/pid ]`)}`,
  )
  t.is(run.code, 0, run.stderr)
  killPid(Number(readFileSync(join(dir, 'pid'), 'utf8')))
  const s = json.cgroup.stats!
  t.truthy(s.cpu)
  const rusage = json.tree.rusage.userCPUTime + json.tree.rusage.systemCPUTime
  t.true(s.cpu!.usageUs - rusage >= 10_000, `cpu.stat ${s.cpu!.usageUs} µs, rusage ${rusage} µs`)
  t.regex(json.methods.cpu, /^cgroup cpu\.stat/)
  if (support.controllers.includes('memory')) {
    t.regex(json.methods.peakMemory, /^cgroup memory\.peak/)
    t.true(s.memoryPeakKiB! > 0)
  } else {
    t.is(s.memoryPeakKiB, null)
    t.regex(json.methods.peakMemory, /^largest single process maxRSS \(rusage\); no memory\.peak: the memory controller is not (available|enabled) in /)
    t.is(json.methods.peakMemory.slice(json.methods.peakMemory.indexOf('no memory.peak')), s.missing.memoryPeak ?? '')
  }
  if (support.controllers.includes('pids')) t.regex(json.methods.processes, /^cgroup pids\.peak/)
  else t.regex(json.methods.processes, /no pids\.peak: the pids controller is not/)
})

runsIf(memory, 'memory.peak of the tree')('two 100 MB processes: the tree\'s memory.peak is at least 200 MB (and under 1 GiB: KiB, not the file\'s bytes), where no single maxRSS is', async (t) => {
  // Each holds its 100 MB until both have theirs (a file each in `both`), not for a fixed time,
  // which a slow start of the second Node on a busy machine could outlast.
  const both = tempDir('pidfd-both-')
  const hold = `node -e 'const fs = require("fs"); const b = Buffer.alloc(100 * 2 ** 20, 1); fs.writeFileSync("${both}/" + process.pid, ""); const t = setInterval(() => { if (fs.readdirSync("${both}").length >= 2) { clearInterval(t); return b.length } }, 10)'`
  const { run, json } = await report(['--cgroup', 'required'], `${hold} & ${hold} & wait`)
  t.is(run.code, 0, run.stderr)
  t.true(json.cgroup.stats!.memoryPeakKiB! >= 200 * 1024, `memory.peak ${json.cgroup.stats!.memoryPeakKiB} KiB`)
  // In KiB: the file's bytes taken as KiB would be 1024 times this.
  t.true(json.cgroup.stats!.memoryPeakKiB! < 1024 * 1024, `memory.peak ${json.cgroup.stats!.memoryPeakKiB} KiB is over 1 GiB`)
  t.true(json.tree.rusage.maxRSS < 200 * 1024, 'the largest single process alone is below it')
  t.regex(json.methods.peakMemory, /^cgroup memory\.peak/)
})

runsIf(writable, 'cpu.stat user and system')("cpu.stat: a command that burns user time has it in userUs, one that burns system time in systemUs, as the same command's rusage says", async (t) => {
  // awk's loop is user time; dd reading /dev/zero a MiB at a time is the kernel clearing memory, system time.
  const burns = {
    user: `awk 'BEGIN { for (i = 0; i < 12000000; i++) s += i }'`,
    system: 'dd if=/dev/zero of=/dev/null bs=1M count=12000 status=none',
  }
  for (const [kind, command] of Object.entries(burns)) {
    const cg = Cgroup.create()
    try {
      const exit = await spawn('sh', ['-c', command], { cgroup: cg, stdio: 'ignore' }).exited
      t.true(await cg.waitEmpty(2000))
      const cpu = cg.stats().cpu!
      const { userCPUTime: user, systemCPUTime: system } = exit.rusage!
      const what = `${kind}: cpu.stat user ${cpu.userUs} µs, system ${cpu.systemUs} µs; rusage user ${user} µs, system ${system} µs`
      // The burn is what the rusage says it is...
      t.true(kind === 'user' ? user > 2 * system : system > 2 * user, what)
      // ...and cpu.stat puts it on the same side, in about the same amount (ticks against the
      // scheduler's clock: within a third of the whole).
      t.true(kind === 'user' ? cpu.userUs > cpu.systemUs : cpu.systemUs > cpu.userUs, what)
      t.log(what)
      const ours = kind === 'user' ? cpu.userUs : cpu.systemUs
      const theirs = kind === 'user' ? user : system
      t.true(Math.abs(ours - theirs) < (user + system) / 3, what)
      t.true(Math.abs(cpu.usageUs - (user + system)) < (user + system) / 3, what)
    } finally {
      await cg.waitEmpty(2000)
      cg.remove()
    }
  }
})

test("Cgroup.stats() reads each file in the kernel's units: memory.peak in bytes (reported in KiB), cpu.stat's fields by name, pids.peak a count", (t) => {
  // This host's cgroup v2 has no memory or pids controller (the kernel matrix checks them on
  // real cgroups): here a directory holds the three files as the kernel writes them
  // (Documentation/admin-guide/cgroup-v2.rst), cpu.stat's fields in the kernel's order, and
  // stats() reads them from there as from a cgroup.
  const dir = tmp()
  writeFileSync(join(dir, 'memory.peak'), `${300 * 2 ** 20}\n`)
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n')
  writeFileSync(join(dir, 'pids.peak'), '7\n')
  const cg = Object.assign(Object.create(Cgroup.prototype) as Cgroup, { path: dir, parent: dir })
  t.deepEqual(cg.stats(), { memoryPeakKiB: 300 * 1024, cpu: { usageUs: 1_500_000, userUs: 1_000_000, systemUs: 500_000 }, pidsPeak: 7, missing: {} })
})

test("Cgroup.stats()'s reasons for a missing file: the controller not available, available but not enabled in the parent's subtree_control, or neither (then the file is what is missing)", (t) => {
  // A hybrid host's cgroup v2 has no controller at all, so the other reasons are met only on
  // other hosts: here a parent directory holds cgroup.controllers and cgroup.subtree_control as
  // the kernel writes them, and an empty cgroup directory beside it.
  const parent = tmp()
  const dir = tmp()
  t.teardown(() => [parent, dir].forEach((d) => rmSync(d, { recursive: true, force: true })))
  const cg = Object.assign(Object.create(Cgroup.prototype) as Cgroup, { path: dir, parent })
  const reasons = (controllers: string, subtree: string) => {
    writeFileSync(join(parent, 'cgroup.controllers'), controllers)
    writeFileSync(join(parent, 'cgroup.subtree_control'), subtree)
    const s = cg.stats()
    t.deepEqual([s.memoryPeakKiB, s.cpu, s.pidsPeak], [null, null, null])
    return s.missing
  }
  t.deepEqual(reasons('cpuset cpu io hugetlb rdma misc\n', 'cpu io\n'), {
    memoryPeak: `no memory.peak: the memory controller is not available in ${parent} (not in its cgroup.controllers; a hybrid host keeps it in cgroup v1)`,
    cpu: 'no cpu.stat in the cgroup',
    pidsPeak: `no pids.peak: the pids controller is not available in ${parent} (not in its cgroup.controllers; a hybrid host keeps it in cgroup v1)`,
  })
  t.deepEqual(reasons('cpuset cpu io memory hugetlb pids rdma misc\n', 'cpu io\n'), {
    memoryPeak: `no memory.peak: the memory controller is not enabled in ${join(parent, 'cgroup.subtree_control')}`,
    cpu: 'no cpu.stat in the cgroup',
    pidsPeak: `no pids.peak: the pids controller is not enabled in ${join(parent, 'cgroup.subtree_control')}`,
  })
  // Enabled, on a kernel that has both files (Linux 5.19 and 6.1): the file alone is missing.
  t.deepEqual(reasons('cpuset cpu io memory hugetlb pids rdma misc\n', 'memory pids\n'), {
    memoryPeak: 'no memory.peak in the cgroup',
    cpu: 'no cpu.stat in the cgroup',
    pidsPeak: 'no pids.peak in the cgroup',
  })
  // One enabled, the other only available; and a parent with neither file (a cgroup v1 path).
  t.deepEqual(reasons('memory pids', 'pids').memoryPeak, `no memory.peak: the memory controller is not enabled in ${join(parent, 'cgroup.subtree_control')}`)
  rmSync(join(parent, 'cgroup.controllers'))
  rmSync(join(parent, 'cgroup.subtree_control'))
  t.regex(cg.stats().missing.pidsPeak!, /^no pids\.peak: the pids controller is not available in /)
})

test('--cgroup required where none can be had: 125, one line saying why, and the command never runs', async (t) => {
  const marker = join(tmp(), 'ran')
  const r = await pidfd(['time', '--cgroup', 'required', '--', 'sh', '-c', `touch ${marker}`], { PIDFD_SPAWN_HELPER: '0' })
  t.is(r.code, 125)
  t.regex(r.stderr, /^pidfd: --cgroup required: .*(needs the spawn helper|not writable|no cgroup v2|cgroup)/)
  t.is(r.stderr.trim().split('\n').length, 1)
  t.false(existsSync(marker))
})

runsIf(writable, 'a cgroup the command cannot start in')("a writable cgroup the command cannot be started in (no spawn helper): required says which and why in one line (125); auto runs it without, and the report's reason is that line's", async (t) => {
  const why = `the command cannot be started in ${escapeRegExp(cgroupSupport().parent!)}/pidfd-\\d+-\\d+: spawn sh ENOSYS \\(the cgroup option needs the spawn helper, which cannot run here\\)`
  const required = await pidfd(['time', '--cgroup', 'required', '--', 'sh', '-c', 'exit 3'], { PIDFD_SPAWN_HELPER: '0' })
  t.is(required.code, 125)
  t.regex(required.stderr, new RegExp(`^pidfd: --cgroup required: ${why}\\n$`))
  const out = join(tmp(), 'report.json')
  const auto = await pidfd(['time', '--format', 'json', '--output', out, '--cgroup', 'auto', '--', 'sh', '-c', 'exit 3'], { PIDFD_SPAWN_HELPER: '0' })
  t.is(auto.code, 3, auto.stderr)
  const json = JSON.parse(readFileSync(out, 'utf8')) as JsonReport
  t.is(json.cgroup.path, null)
  t.regex(json.cgroup.why!, new RegExp(`^${why}$`))
})

const nobody = (() => {
  if (process.getuid?.() !== 0) return 'needs root, to run the CLI as uid 65534'
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(entry)})`], { uid: 65534, gid: 65534, stdio: 'pipe' })
    return null
  } catch (err) {
    return `uid 65534 cannot load the package here (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n')[0]})`
  }
})()

runsIf(nobody, 'unwritable cgroup')('where this process\'s cgroup is not writable: auto runs without one and says why; required exits 125', async (t) => {
  const out = join(tmp(), 'r.json')
  execFileSync('chmod', ['777', join(out, '..')])
  const auto = await pidfd(['time', '--format', 'json', '--output', out, '--', 'true'], {}, 65534)
  t.is(auto.code, 0, auto.stderr)
  const json = JSON.parse(readFileSync(out, 'utf8')) as JsonReport
  t.is(json.cgroup.path, null)
  t.regex(json.cgroup.why ?? '', /not writable \(EACCES\)/)
  t.regex(json.methods.peakMemory, /^largest single process maxRSS \(rusage\); no cgroup$/)
  t.is(json.methods.end, "the subreaper's list of descendants")
  const required = await pidfd(['time', '--cgroup', 'required', '--', 'true'], {}, 65534)
  t.is(required.code, 125)
  t.regex(required.stderr, /^pidfd: --cgroup required: .* is not writable \(EACCES\)/)
})

runsIf(nobody, 'unwritable cgroup, library')("where this process's cgroup is not writable: cgroupSupport() says why with no parent and no controllers, and Cgroup.create() throws ENOENT with that reason", (t) => {
  const out = execFileSync(
    process.execPath,
    ['-e', `const pidfd = require(${JSON.stringify(entry)}); const s = pidfd.cgroupSupport(); let e; try { pidfd.Cgroup.create() } catch (err) { e = { code: err.code, message: err.message } } console.log(JSON.stringify({ s, e }))`],
    { uid: 65534, gid: 65534, encoding: 'utf8' },
  )
  const { s, e } = JSON.parse(out) as { s: { parent: string | null; controllers: string[]; reason: string }; e: { code: string; message: string } }
  t.like(s, { parent: null, controllers: [] })
  t.deepEqual(s.controllers, [])
  t.regex(s.reason, /^this process's cgroup \/.* is not writable \(EACCES\): cgroup v2 needs root or a subtree delegated to this user$/)
  t.deepEqual(e, { code: 'ENOENT', message: `cannot make a cgroup: ${s.reason}` })
})

runsIf(writable, 'controllers')("cgroupSupport()'s controllers are the words of its cgroup.subtree_control, none where it is empty", (t) => {
  const text = readFileSync(join(support.parent!, 'cgroup.subtree_control'), 'utf8').trim()
  t.deepEqual(support.controllers, text === '' ? [] : text.split(' '))
})

test('--cgroup off: none, and the report says so; a bad --cgroup is a usage error', async (t) => {
  const { run, json } = await report(['--cgroup', 'off'], 'true')
  t.is(run.code, 0)
  t.deepEqual(json.cgroup, { path: null, via: null, why: '--cgroup off', stats: null, removed: false, movedOut: null })
  t.is(json.methods.cpu, 'rusage of the command, the descendants it waited for and the orphans reaped here; no cgroup')
  const bad = await pidfd(['time', '--cgroup', 'yes', '--', 'true'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /--cgroup: 'yes' is not one of auto, off, required/)
})

// A container without a cgroup namespace: its cgroup2 mount is a bind of one subtree, so
// mountinfo's root is that subtree's path (not "/"), and /proc/self/cgroup names the full path.
// Here for real: a mount namespace where the only cgroup2 mount is a bind of a new cgroup, at a
// mount point with a space (mountinfo writes it \040), and the process inside that cgroup.
const CONTAINER_SETUP = `set -eu
cgdir=$1; point=$2; shift 2
mkdir -p "$point"
mount --bind "$cgdir" "$point"
esc=$(printf %s "$point" | sed 's/ /\\\\040/g')
awk '$0 ~ / - cgroup2 / {print $5}' /proc/self/mountinfo | while read -r m; do [ "$m" = "$esc" ] || umount -l "$m"; done
echo $$ > "$point/cgroup.procs"
exec "$@"`

runsIf(writable, 'a cgroup2 mount of one subtree')("a cgroup2 mount whose root is a subtree (a container without a cgroup namespace), at a path with a space: the place of each cgroup path, cgroupSupport(), and a child's cgroup id through /proc", async (t) => {
  const cg = Cgroup.create()
  const dir = tmp()
  const point = join(dir, 'cgroup two')
  try {
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))![1]!
    const rel = `${own.replace(/\/$/, '')}/${basename(cg.path)}`
    const script = `const pidfd = require(${JSON.stringify(entry)});
      const { binding } = require(${JSON.stringify(join(root, 'lib', 'native.js'))});
      const place = (p) => { const { mount, dir } = binding.cgroup2Place(p); return { mount: mount ?? null, dir: dir ?? null } };
      const rel = ${JSON.stringify(rel)};
      const { mount, parent, reason } = pidfd.cgroupSupport();
      const sub = pidfd.spawn('sleep', ['10'], { stdio: 'ignore' });
      const cgroupId = String(sub.pidfd.info().cgroupId);
      sub.kill('SIGKILL');
      console.log(JSON.stringify({ own: place(rel), below: place(rel + '/a/b'), sibling: place(rel + 'x'), outside: place('/elsewhere'),
        support: { mount, parent, reason }, cgroupId, getInfo: pidfd.features().getInfo }));`
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', CONTAINER_SETUP, 'sh', cg.path, point, process.execPath, '-e', script],
        { env: { ...process.env, PIDFD_DISABLE: 'getInfo' }, timeout: 20_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }))
    })
    t.is(out.code, 0, out.stderr)
    const r = JSON.parse(out.stdout)
    t.deepEqual(r.own, { mount: point, dir: point })
    t.deepEqual(r.below, { mount: point, dir: `${point}/a/b` })
    // A name that only begins with the subtree's is not below it; nor is a path elsewhere.
    t.deepEqual(r.sibling, { mount: point, dir: null })
    t.deepEqual(r.outside, { mount: point, dir: null })
    t.deepEqual(r.support, { mount: point, parent: point, reason: null })
    t.false(r.getInfo)
    t.is(r.cgroupId, String(statSync(cg.path).ino))
  } finally {
    await until(() => !cg.populated(), 10_000)
    cg.remove()
    rmSync(dir, { recursive: true, force: true })
  }
})

// Where this process's cgroup v2 directory is, from /proc/self/cgroup as other hosts write it:
// a pure cgroup v1 host has no `0::` line, a host may mount no cgroup2 at all, or mount it
// where this process's cgroup is not (a container that sees only its own subtree).
test("where no cgroup can be made: the reason for a v1-only host, for no cgroup2 mount, for a cgroup outside the mount; the kernel's version compared by major, then minor", async (t) => {
  const { locateIn, kernelAtLeast } = await import('../lib/cgroup.js')
  const asked: string[] = []
  const place = (found: { mount?: string | null; dir?: string | null }) => (own: string) => (asked.push(own), found)
  const v1 = '12:pids:/user.slice\n11:memory:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n'
  t.deepEqual(locateIn(v1, place({ mount: '/sys/fs/cgroup/unified', dir: '/x' })), { mount: null, dir: null, reason: 'this process is in no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)' })
  t.deepEqual(locateIn(null, place({ mount: '/sys/fs/cgroup', dir: '/x' })).reason, 'this process is in no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)')
  // A line that only ends in "0::…" is not the v2 line.
  t.is(locateIn('10:0::/x\n', place({ mount: '/m', dir: '/m/x' })).dir, null)
  t.deepEqual(asked, [])
  // Hybrid (v1 lines, then the v2 one) and pure v2: the path after `0::` is looked up whole.
  const hybrid = `${v1}0::/user.slice/user-0.slice/session-1.scope\n`
  t.deepEqual(locateIn(hybrid, place({ mount: '/sys/fs/cgroup/unified', dir: '/sys/fs/cgroup/unified/user.slice/user-0.slice/session-1.scope' })), {
    mount: '/sys/fs/cgroup/unified',
    dir: '/sys/fs/cgroup/unified/user.slice/user-0.slice/session-1.scope',
    reason: null,
  })
  t.deepEqual(locateIn('0::/\n', place({ mount: '/sys/fs/cgroup', dir: '/sys/fs/cgroup' })), { mount: '/sys/fs/cgroup', dir: '/sys/fs/cgroup', reason: null })
  t.deepEqual(asked, ['/user.slice/user-0.slice/session-1.scope', '/'])
  t.deepEqual(locateIn(hybrid, place({ mount: null, dir: null })), { mount: null, dir: null, reason: 'no cgroup v2 hierarchy is mounted (no cgroup2 line in /proc/self/mountinfo)' })
  t.deepEqual(locateIn(hybrid, place({})), { mount: null, dir: null, reason: 'no cgroup v2 hierarchy is mounted (no cgroup2 line in /proc/self/mountinfo)' })
  t.deepEqual(locateIn('0::/docker/abc\n', place({ mount: '/sys/fs/cgroup/other', dir: null })), {
    mount: '/sys/fs/cgroup/other',
    dir: null,
    reason: "this process's cgroup /docker/abc is not under the cgroup v2 mount /sys/fs/cgroup/other",
  })

  for (const [rel, at] of [
    ['5.19.0-1-amd64', true],
    ['5.18.19', false],
    ['6.0.9', true],
    ['4.20.0', false],
    ['6.1.0-rc1', true],
    ['5.20', true],
    ['6.18.0-pidfd', true],
  ] as const) t.is(kernelAtLeast(5, 19, rel), at, rel)
  t.false(kernelAtLeast(6, 1, '6.0.12'))
  t.true(kernelAtLeast(6, 1, '6.1.0'))
  t.true(kernelAtLeast(6, 1, '7.0.0'))
  t.is(kernelAtLeast(5, 19), kernelAtLeast(5, 19, release()), "this machine's by default")
})

/** Runs a Node script in a mount namespace of its own, after `setup` (a shell script) there. */
function nodeUnshared(setup: string, script: string, prefix: string[] = []): Promise<Run> {
  const code = `const pidfd = require(${JSON.stringify(entry)});\n${script}`
  return new Promise((resolve) => {
    execFile('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${setup}\nexec "$@"`, 'sh', ...prefix, process.execPath, '-e', code], { timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

runsIf(writable ?? unshare, 'a host with controllers, faked')("another host, faked in a mount namespace: a cgroup with controllers enabled lists them, each missing figure names its controller or the Linux it needs, and a cgroup with no cgroup.procs holds no process; with no cgroup v2 mounted, no cgroup and no controllers", async (t) => {
  const { kernelAtLeast } = await import('../lib/cgroup.js')
  const fake = tmp()
  t.teardown(() => rmSync(fake, { recursive: true, force: true }))
  // A bind mount of a plain directory over this process's cgroup: its files say what another
  // host's would. memory and pids are available; memory is enabled, pids not.
  writeFileSync(join(fake, 'cgroup.controllers'), 'cpu io memory pids\n')
  writeFileSync(join(fake, 'cgroup.subtree_control'), 'cpu  memory\n')
  const over = `mount --bind '${fake}' '${support.parent}'`
  const script = `
    const support = pidfd.cgroupSupport();
    const cg = pidfd.Cgroup.create();
    const stats = cg.stats();
    console.log(JSON.stringify({ support, pids: cg.pids(), populated: cg.populated(), missing: stats.missing, release: require('node:os').release(), removed: cg.remove() }));
  `
  const parent = support.parent!
  const expected = (release: string) => ({
    support: { mount: support.mount, parent, controllers: ['cpu', 'memory'], reason: null },
    pids: [],
    populated: false,
    missing: {
      memoryPeak: kernelAtLeast(5, 19, release) ? 'no memory.peak in the cgroup' : `no memory.peak: it needs Linux 5.19 (this is ${release})`,
      cpu: 'no cpu.stat in the cgroup',
      pidsPeak: `no pids.peak: the pids controller is not enabled in ${join(parent, 'cgroup.subtree_control')}`,
    },
    release,
    removed: true,
  })
  const here = await nodeUnshared(over, script)
  t.is(here.code, 0, here.stderr)
  const seen = JSON.parse(here.stdout)
  t.deepEqual(seen, expected(seen.release))
  // An older kernel, as uname(2) tells it (UNAME26: 2.6.x): the figure needs a newer one.
  const old = await nodeUnshared(over, script, ['setarch', process.arch === 'arm64' ? 'aarch64' : 'x86_64', '--uname-2.6'])
  t.is(old.code, 0, old.stderr)
  const seenOld = JSON.parse(old.stdout)
  t.regex(seenOld.release, /^2\.6\./)
  t.deepEqual(seenOld, expected(seenOld.release))
  // No cgroup v2 mounted at all.
  const none = await nodeUnshared(`umount -l '${support.mount}'`, 'console.log(JSON.stringify(pidfd.cgroupSupport()))')
  t.is(none.code, 0, none.stderr)
  t.deepEqual(JSON.parse(none.stdout), { mount: null, parent: null, controllers: [], reason: 'no cgroup v2 hierarchy is mounted (no cgroup2 line in /proc/self/mountinfo)' })
})

runsIf(writable, 'waitEmpty()')('waitEmpty(): false at its bound while a process is in the cgroup; true once the last one leaves, looked for again until then', async (t) => {
  const cg = Cgroup.create()
  try {
    const child = spawn('sh', ['-c', 'read line'], { cgroup: cg, stdio: ['pipe', 'ignore', 'inherit'] })
    await new Promise((resolve) => child.on('spawn', resolve))
    t.deepEqual(cg.pids(), [child.pid])
    t.false(await within(cg.waitEmpty(50), 5000, 'waitEmpty(50) with a process in it'))
    // Populated when the wait starts: it ends only by looking again after the child leaves.
    const empty = cg.waitEmpty(10_000)
    t.true(cg.populated())
    child.stdin!.end('go\n')
    t.true(await within(empty, 10_000, 'waitEmpty(10000) after the child exits'))
    t.is((await child.exited).code, 0)
  } finally {
    t.true(cg.remove())
  }
})

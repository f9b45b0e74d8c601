// The command's whole process tree under `pidfd time`: orphans reaped here and counted, the
// leftovers listed, killed or waited for, the timeout reaching what left the group; and the
// library's Subreaper never taking an exit the package is owed. Real process trees throughout.

import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { cgroupSupport } from '../index.js'
import { buildFixture, cgroupV1Mounts, figure, killPid, needsRoot, procState, root, runNode, runsIf, shExecd, shUntil, startLeftovers, tempDir, until } from './helpers.js'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

const bin = join(root, 'bin', 'pidfd.js')
const tmp = () => tempDir('pidfd-tree-')

function pidfd(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, GITHUB_ACTIONS: undefined, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr })
    })
  })
}

interface JsonReport {
  code: number | null
  wallTimeMs: number
  rusage: { userCPUTime: number; systemCPUTime: number }
  tree: { processes: number; rusage: { userCPUTime: number; systemCPUTime: number; maxRSS: number } }
  leftovers: Array<{ pid: number; ppid: number; command: string[]; ageMs: number; rssKiB: number | null }>
  leftoversAction: string
}

async function report(args: string[], command: string, env: Record<string, string | undefined> = {}): Promise<{ run: Run; json: JsonReport }> {
  const dir = tmp()
  const out = join(dir, 'report.json')
  const run = await pidfd(['time', '--format', 'json', '--output', out, ...args, '--', 'sh', '-c', command], env)
  return { run, json: JSON.parse(readFileSync(out, 'utf8')) as JsonReport }
}

// A daemon that forks away from the command: it burns some CPU, writes its pid, then sleeps on.
// Its CPU is in no rusage of the command (nobody waited for it). With `waitForIt`, the command
// exits only once the pid is written (so the loop is done before the daemon is dealt with: a
// fixed delay was outlasted by the loop on a busy machine). Its stdio is not the test's
// pipes, which would keep the test waiting for as long as it runs. It is one process from its
// fork to its end (builtins only, then exec): a daemon that forked a helper of its own would be
// two leftovers at the moment the command exits, which is right, but not what a test can count.
const daemon = (file: string, waitForIt = false) =>
  `sh -c 'i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; echo $$ > ${file}; exec sleep 30' </dev/null >/dev/null 2>&1 & ` +
  `${waitForIt ? `while [ ! -s ${file} ]; do sleep 0.01; done; ` : ''}exit 0`

test('a double-forking daemon: listed as a leftover with what it is, and left running by default', async (t) => {
  const file = join(tmp(), 'pid')
  const { run, json } = await report([], daemon(file))
  t.is(run.code, 0, run.stderr)
  t.is(json.leftovers.length, 1, JSON.stringify(json.leftovers))
  const [left] = json.leftovers
  // Written after the loop, which a busy machine can stretch to seconds.
  await until(() => readFileSync(file, { encoding: 'utf8', flag: 'a+' }).trim() !== '', 30_000)
  const pid = Number(readFileSync(file, 'utf8'))
  t.is(left!.pid, pid, 'the daemon itself')
  t.true(left!.rssKiB !== null && left!.rssKiB > 0)
  t.true(left!.ageMs >= 0)
  t.is(json.leftoversAction, 'report')
  // Still running after pidfd is gone (report only); ended here.
  t.not(procState(pid), null, 'left running')
  killPid(pid)
})

// The tree is ended by signals to what the subreaper finds (--cgroup off) or to the command's
// cgroup, then cgroup.kill (auto, where cgroups are writable): both are run.
const modes = [
  { flag: 'off', skip: null },
  { flag: 'auto', skip: cgroupSupport().reason },
] as const

for (const { flag, skip } of modes) {
  runsIf(skip, `--cgroup ${flag}`)(`--leftovers kill: the daemon is ended, reaped here, and its CPU counted in the tree's (--cgroup ${flag})`, async (t) => {
    const file = join(tmp(), 'pid')
    const { run, json } = await report(['--cgroup', flag, '--leftovers', 'kill', '--kill-after', '2s'], daemon(file, true))
    t.is(run.code, 0, run.stderr)
    const pid = Number(readFileSync(file, 'utf8'))
    // Once, under a load of about 20 on 2 cores in a PID namespace, no leftover was listed (not
    // seen again in 80 loaded tries and 4 namespace runs): what the report and the daemon were.
    t.is(json.leftovers.length >= 1, true, JSON.stringify({ daemon: pid, state: procState(pid), report: json }))
    t.is(json.leftoversAction, 'kill')
    t.is(procState(pid), null, 'gone')
    const command = json.rusage.userCPUTime + json.rusage.systemCPUTime
    const tree = json.tree.rusage.userCPUTime + json.tree.rusage.systemCPUTime
    t.true(json.tree.processes >= 2, 'the command and the reaped daemon')
    // The daemon's loop ran 40,000 shell iterations: tens of ms no rusage of the command holds.
    t.true(tree - command >= 10_000, `tree ${tree} µs, command ${command} µs`)
  })

  runsIf(skip, `--cgroup ${flag}`)(`--leftovers kill: SIGTERM first, and a leftover that ends on it is neither SIGKILLed nor waited on for --kill-after; one that ignores it is SIGKILLed after --kill-after (--cgroup ${flag})`, async (t) => {
    // Each leftover is a shell looping on a short sleep, which runs its trap once that sleep (a
    // leftover too, signalled with it) has ended. The command exits once the trap is set.
    const dir = tmp()
    const leftover = (name: string, trap: string) =>
      `sh -c 'trap ${trap} TERM; echo $$ > ${dir}/${name}; while :; do sleep 0.05; done' </dev/null >/dev/null 2>&1 & ${shUntil(`[ -s ${dir}/${name} ]`)}; exit 0`
    const polite = await report(['--cgroup', flag, '--leftovers', 'kill', '--kill-after', '30s'], leftover('a', `"echo term > ${dir}/said; exit 0"`))
    t.is(polite.run.code, 0, polite.run.stderr)
    t.is(readFileSync(join(dir, 'said'), 'utf8'), 'term\n', 'its SIGTERM trap ran: no SIGKILL came first')
    t.true(polite.json.wallTimeMs < 20_000, `not the 30 s of --kill-after: ${polite.json.wallTimeMs} ms`)

    const stubborn = await report(['--cgroup', flag, '--leftovers', 'kill', '--kill-after', '300ms'], leftover('b', '""'))
    t.is(stubborn.run.code, 0, stubborn.run.stderr)
    t.is(procState(Number(readFileSync(join(dir, 'b'), 'utf8'))), null, 'ended by the SIGKILL')
    // Reaped here before the report, so counted in it: the command and that shell at least.
    t.true(stubborn.json.tree.processes >= 2, `processes ${stubborn.json.tree.processes}`)
  })

  runsIf(skip, `--cgroup ${flag}`)(`--leftovers wait: until they are gone; bounded by --timeout, which then ends them (124) (--cgroup ${flag})`, async (t) => {
    // The sleep must still run when the leftovers are read, just after the command exits: a
    // machine too busy to read them within 0.4 s is given a longer one.
    let quick!: Awaited<ReturnType<typeof report>>
    for (const seconds of ['0.4', '3', '15']) {
      quick = await report(['--cgroup', flag, '--leftovers', 'wait'], `(sleep ${seconds}) & exit 0`)
      if (quick.json.leftovers.length > 0) break
    }
    t.is(quick.run.code, 0)
    t.is(quick.json.leftovers.length, 1)
    t.is(quick.json.tree.processes, 2, 'the sleep was reaped here when it ended')
    const file = join(tmp(), 'pid')
    // 2 s: the sleep's parent must have written its pid by the timeout, on a busy machine too.
    const bounded = await report(['--cgroup', flag, '--leftovers', 'wait', '--timeout', '2s', '--kill-after', '1s'], `(sh -c 'echo $PPID' > ${file}; exec sleep 30) & while [ ! -s ${file} ]; do sleep 0.01; done; exit 0`)
    t.is(bounded.run.code, 124)
    await until(() => procState(Number(readFileSync(file, 'utf8'))) === null, 3000)
    t.is(procState(Number(readFileSync(file, 'utf8'))), null)
  })
}

test('the text report of the tree: the orphans reaped here (one, two) with their CPU in ms; the leftovers (one, two) with their pid, age, RSS and command, by what became of them', async (t) => {
  const burn = 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done'
  // No orphan, no tree line: the command's own figures say it all.
  const none = await pidfd(['time', '--cgroup', 'off', '--leftovers', 'wait', '--', 'sh', '-c', burn])
  t.is(none.code, 0, none.stderr)
  t.notRegex(none.stderr, /^ {2}tree:/m)
  // The whole report, line by line: nothing between the command's figures and the cgroup's.
  t.regex(none.stderr, /^pidfd time: sh -c .*\n {2}exited 0 · wall .*\n {2}peak RSS .*\n {2}context switches .*\n {2}no cgroup: --cgroup off\n {2}measured by:\n {4}peak memory: .*\n {4}CPU: .*\n {4}processes: .*\n {4}end of the tree: .*\n {2}\(rusage covers the command and the descendants it waited for\)\n$/)
  for (const [n, words] of [[1, '1 orphan'], [2, '2 orphans']] as const) {
    const orphans = Array.from({ length: n }, () => `(sh -c '${burn}' </dev/null >/dev/null 2>&1 &)`).join('; ')
    const r = await pidfd(['time', '--cgroup', 'off', '--leftovers', 'wait', '--', 'sh', '-c', `${orphans}; exit 0`])
    t.is(r.code, 0, r.stderr)
    const m = new RegExp(`^ {2}tree: user (\\S+) · system (\\S+) · largest peak RSS (\\S+ \\S+) \\(the command and ${words} reaped here\\)$`, 'm').exec(r.stderr)
    t.truthy(m, r.stderr)
    // The orphans' loops are in it, in ms (not µs, nor µs × 1000).
    t.true(figure(m![1]!) > 0 && figure(m![1]!) < 60_000, m![0])
    t.true(figure(m![2]!) < 60_000, m![0])
    t.true(figure(m![3]!) > 0, m![0])
  }
  const dir = tmp()
  for (const [n, action, words] of [[1, 'report', '1 process left running by the command (still running)'], [2, 'kill', '2 processes left running by the command (killed)']] as const) {
    const files = Array.from({ length: n }, (_, i) => join(dir, `${action}${i}`))
    const r = await pidfd(['time', '--cgroup', 'off', '--leftovers', action, '--', 'sh', '-c', startLeftovers(files)])
    const pids = files.map((f) => Number(readFileSync(f, 'utf8')))
    try {
      t.is(r.code, 0, r.stderr)
      // One line each, in /proc's order (a wrapped pid can put the second first).
      t.regex(r.stderr, new RegExp(`^ {2}LEFTOVERS: ${words.replace(/[()]/g, '\\$&')}:(\\n {4}pid \\d+, \\S+ old, \\S+ \\S+: sleep 30){${n}}$`, 'm'))
      for (const pid of pids) t.regex(r.stderr, new RegExp(`^ {4}pid ${pid}, `, 'm'))
    } finally {
      pids.forEach(killPid)
    }
  }
  // One still running when the --timeout ended the command: a setsid escapee that ignores
  // SIGTERM (its loop all builtins, so it is one process), ended by the SIGKILL after
  // --kill-after. The command waits until its trap is set; the timeout is a bound on that.
  const escapee = join(dir, 'escapee')
  const r = await pidfd(['time', '--cgroup', 'off', '--timeout', '2s', '--kill-after', '300ms', '--', 'sh', '-c',
    `setsid sh -c 'trap "" TERM; echo $$ > ${escapee}; while :; do :; done' </dev/null >/dev/null 2>&1 & until [ -s ${escapee} ]; do sleep 0.01; done; sleep 30`])
  const pid = Number(readFileSync(escapee, 'utf8'))
  try {
    t.is(r.code, 124, r.stderr)
    t.regex(r.stderr, new RegExp(`^ {2}LEFTOVERS: 1 process left running by the command \\(ended by the --timeout\\):\\n {4}pid ${pid}, `, 'm'))
  } finally {
    killPid(pid)
  }
})

test("the tree's peak RSS is the largest process's, not their sum: two orphans of 200 and 100 MiB reaped here", async (t) => {
  // Each orphan fills its buffer and exits; --leftovers wait reaps both here, with their rusage.
  const fill = (mib: number) => `(${JSON.stringify(process.execPath)} -e 'Buffer.alloc(${mib} * 2 ** 20, 1)' </dev/null >/dev/null 2>&1 &)`
  const { run, json } = await report(['--cgroup', 'off', '--leftovers', 'wait'], `${fill(200)}; ${fill(100)}; exit 0`)
  t.is(run.code, 0, run.stderr)
  t.is(json.tree.processes, 3, 'the command and both orphans')
  const mib = json.tree.rusage.maxRSS / 1024
  // The larger one's buffer and a Node (about 40 MiB); the sum would be about 380 MiB.
  t.true(mib >= 200 && mib < 300, `tree maxRSS ${mib.toFixed(1)} MiB`)
})

const leaderExits = join(tmp(), 'leader-exits')
const built = buildFixture('leader-exits', leaderExits, ['-pthread'])

const zombieLeader = 'an orphan whose main thread has exited (a zombie in /proc) while another thread runs 300 ms of CPU is a leftover, waited for, and counted: --leftovers wait'
runsIf(built, zombieLeader)(zombieLeader, async (t) => {
  // It cannot be reaped until its last thread ends; a wait that stopped when none was listed as
  // running ended within one 50 ms poll, and the report lost its process and its CPU time. The
  // command exits once the orphan's main thread is a zombie, so the leftovers are read then.
  const file = join(tmp(), 'pid')
  const { run, json } = await report(
    ['--cgroup', 'off', '--leftovers', 'wait'],
    `(${leaderExits} 300 & echo $! > ${file}); until grep -q '^[0-9]* (.*) Z ' /proc/$(cat ${file})/stat; do sleep 0.01; done; exit 0`,
  )
  t.is(run.code, 0, run.stderr)
  const pid = Number(readFileSync(file, 'utf8'))
  t.deepEqual(json.leftovers.map((l) => l.pid), [pid], 'listed as left running')
  // Its arguments went with its main thread's memory: it is named by its comm, as ps does.
  t.deepEqual(json.leftovers[0]!.command, ['[leader-exits]'])
  t.is(json.tree.processes, 2, 'the command and the orphan')
  t.true(json.tree.rusage.userCPUTime + json.tree.rusage.systemCPUTime >= 300_000, `tree CPU ${JSON.stringify(json.tree.rusage)}`)
})

const cpuSum = "the tree's CPU time is the sum of its processes': two orphans that each use 200 ms of CPU count at least 400 ms"
runsIf(built, cpuSum)(cpuSum, async (t) => {
  // Times and counts are summed, only the peak RSS is the largest (a maximum would give ~200 ms).
  const { run, json } = await report(['--cgroup', 'off', '--leftovers', 'wait'], `(${leaderExits} 200 &); (${leaderExits} 200 &); exit 0`)
  t.is(run.code, 0, run.stderr)
  t.is(json.tree.processes, 3, 'the command and both orphans')
  t.true(json.tree.rusage.userCPUTime + json.tree.rusage.systemCPUTime >= 400_000, `tree CPU ${JSON.stringify(json.tree.rusage)}`)
})

test('the leftovers as /proc has them: an empty argument kept, and an exited child nobody reaped (a zombie) not listed', async (t) => {
  // One leftover is a shell with an empty last argument, running a sleep; another is a sleep that
  // exec'd over the shell that started `true` in the background, which nobody will reap. The
  // command exits once each has exec'd (until then a fork is a copy of the command's shell) and
  // that `true` is a zombie.
  const dir = tmp()
  const { run, json } = await report(
    ['--cgroup', 'off', '--leftovers', 'kill'],
    `(sh -c 'sleep 30; :' '' >/dev/null 2>&1 & echo $! > ${dir}/x); (sh -c 'true & exec sleep 30' >/dev/null 2>&1 & echo $! > ${dir}/y); ` +
      `x=$(cat ${dir}/x); y=$(cat ${dir}/y); ` +
      `${shUntil(`c=$(cat /proc/$x/task/$x/children) && [ -n "$c" ] && ${shExecd('${c% }', 'sleep 30')}`)}; ` +
      `${shUntil(`${shExecd('$y', 'sleep 30')} && c=$(cat /proc/$y/task/$y/children) && [ -n "$c" ] && grep -q '^[0-9]* (.*) Z ' /proc/\${c% }/stat`)}; exit 0`,
  )
  t.is(run.code, 0, run.stderr)
  const commands = json.leftovers.map((l) => l.command)
  t.deepEqual(
    commands.filter((c) => c[0] === 'sh'),
    [['sh', '-c', 'sleep 30; :', '']],
  )
  t.is(commands.filter((c) => c[0] === 'sleep').length, 2, JSON.stringify(commands))
  t.is(commands.length, 3, `no zombie listed: ${JSON.stringify(commands)}`)
})

test('a process that has begun to exit is not a leftover, though not yet a zombie (it frees its memory first, which takes a while for a large one); a child of it still running is', async (t) => {
  // A Node holding 512 MiB, with a sleep of its own, is SIGKILLed; while it frees that memory it
  // is neither running nor a zombie (its command line already reads empty). Listed then, it was
  // a leftover named [node]; passed over whole, its sleep went unlisted. The listing is taken
  // while it exits (checked before and after it); a machine too quick to show that window is
  // tried again, up to five times.
  const r = await runNode(`
    const { spawn } = require('node:child_process');
    const { readdirSync, readFileSync } = require('node:fs');
    // Across its threads: the last one to let go of the memory frees it, while the main thread
    // may be a zombie already.
    const stat = (pid) => {
      const threads = readdirSync('/proc/' + pid + '/task').flatMap((tid) => {
        try {
          const s = readFileSync('/proc/' + pid + '/task/' + tid + '/stat', 'utf8');
          const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
          return [{ zombie: f[0] === 'Z', exiting: (Number(f[6]) & 4) !== 0 }];
        } catch {
          return [];
        }
      });
      return { zombie: threads.every((x) => x.zombie), exiting: threads.every((x) => x.zombie || x.exiting) };
    };
    const tree = pidfd.Subreaper.start();
    (async () => {
      const tries = [];
      for (let i = 0; i < 5 && !tries.some((x) => x.during); i++) {
        const big = spawn(process.execPath, ['-e', "const s = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); globalThis.b = Buffer.alloc(512 << 20, 1); process.stdout.write(String(s.pid)); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
        const sleepPid = Number(await new Promise((r) => big.stdout.once('data', r)));
        const pids = (list) => list.map((l) => l.pid);
        const before = pids(tree.leftovers());
        process.kill(big.pid, 'SIGKILL');
        let s;
        do s = stat(big.pid); while (!s.zombie && !s.exiting);
        const listed = s.zombie ? null : pids(tree.leftovers());
        const during = !s.zombie && !stat(big.pid).zombie;
        tries.push({ during, running: before.includes(big.pid) && before.includes(sleepPid), big: listed?.includes(big.pid), sleep: listed?.includes(sleepPid) });
        process.kill(sleepPid, 'SIGKILL');
        await new Promise((r) => big.on('exit', r));
      }
      tree.stop();
      console.log(JSON.stringify(tries));
    })();`, { timeoutMs: 60_000 })
  t.is(r.stderr, '')
  const tries = JSON.parse(r.stdout) as Array<{ during: boolean; running: boolean; big?: boolean; sleep?: boolean }>
  t.true(tries.every((x) => x.running), `both listed while they run: ${r.stdout}`)
  const caught = tries.find((x) => x.during)
  if (!caught) return t.fail(`the listing never fell while the process was exiting: ${r.stdout}`)
  t.deepEqual({ big: caught.big, sleep: caught.sleep }, { big: false, sleep: true }, r.stdout)
})

/** The v1 freezer's mount where this process can make a cgroup in it, or why not. */
function freezerHere(): { root: string; why: null } | { root: null; why: string } {
  const root = cgroupV1Mounts().find((m) => m.options.includes('freezer'))?.point
  if (root === undefined) return { root: null, why: 'no cgroup v1 freezer mounted' }
  if (needsRoot) return { root: null, why: needsRoot }
  const probe = join(root, `pidfd-probe-${process.pid}`)
  try {
    mkdirSync(probe)
    rmdirSync(probe)
  } catch (err) {
    return { root: null, why: `no cgroup can be made in ${root} (${(err as NodeJS.ErrnoException).code})` }
  }
  return { root, why: null }
}
const { root: freezerRoot, why: freezerWhy } = freezerHere()
// The v1 freezer holds a process where no signal wakes it: one sent a fatal signal then keeps it
// pending, as a process on another CPU does for the moment before it runs.
runsIf(freezerWhy, 'a process sent a fatal signal')('a process sent a fatal signal that has not yet run to act on it (held by the v1 freezer) is not a leftover: it ends when it next runs', async (t) => {
  const frozen = join(freezerRoot!, `pidfd-test-${process.pid}-${Date.now()}`)
  const r = await runNode(`
    const { spawn } = require('node:child_process');
    const { mkdirSync, readFileSync, rmdirSync, writeFileSync } = require('node:fs');
    const tree = pidfd.Subreaper.start();
    const listed = (pid) => tree.leftovers().some((l) => l.pid === pid);
    // /proc's stat past the name: the state first, the pending signals the 29th.
    const fields = (pid) => { const stat = readFileSync('/proc/' + pid + '/stat', 'utf8'); return stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
    (async () => {
      const s = spawn('sleep', ['30'], { stdio: 'ignore' });
      // Asleep in its nanosleep, where the freezer freezes a task in place (Linux >= 6.1). One
      // frozen while it still runs (its loader, say) is stopped through a fake signal, left
      // pending: the kernel then queues a fatal signal without turning it into SIGKILL.
      while (readFileSync('/proc/' + s.pid + '/cmdline', 'utf8') !== 'sleep\\x0030\\x00' || fields(s.pid)[0] !== 'S');
      mkdirSync(${JSON.stringify(frozen)});
      const out = {};
      try {
        writeFileSync(${JSON.stringify(frozen)} + '/cgroup.procs', String(s.pid));
        writeFileSync(${JSON.stringify(frozen)} + '/freezer.state', 'FROZEN');
        while (readFileSync(${JSON.stringify(frozen)} + '/freezer.state', 'utf8').trim() !== 'FROZEN');
        out.before = listed(s.pid);
        s.kill('SIGTERM');
        out.pending = Number(fields(s.pid)[28]);
        out.during = listed(s.pid);
      } finally {
        writeFileSync(${JSON.stringify(frozen)} + '/freezer.state', 'THAWED');
      }
      out.signal = await new Promise((r) => s.on('exit', (code, signal) => r(signal)));
      rmdirSync(${JSON.stringify(frozen)});
      tree.stop();
      console.log(JSON.stringify(out));
    })();`, { timeoutMs: 30_000 })
  t.is(r.stderr, '')
  // Listed while frozen; then SIGKILL (bit 8) pending, not listed; thawed, it ends by the signal.
  t.deepEqual(JSON.parse(r.stdout), { before: true, pending: 1 << 8, during: false, signal: 'SIGTERM' })
})

test("a leftover's age is how long it has run, and its RSS what it holds: one that filled 60 MiB, started 400 ms before the command exits, is at least that old and no older than the command", async (t) => {
  const file = join(tmp(), 'pid')
  // The leftover fills 60 MiB, then writes its pid (renamed into place: never read half written);
  // the command waits until it has, then 400 ms more.
  const hold = `${JSON.stringify(process.execPath)} -e 'const b = Buffer.alloc(60 * 2 ** 20, 1); require("fs").writeFileSync("${file}.tmp", String(process.pid)); require("fs").renameSync("${file}.tmp", "${file}"); setTimeout(() => b, 30000)'`
  const { run, json } = await report(
    ['--cgroup', 'off', '--leftovers', 'kill', '--kill-after', '2s'],
    `${hold} </dev/null >/dev/null 2>&1 & while [ ! -s ${file} ]; do sleep 0.01; done; sleep 0.4; exit 0`,
  )
  t.is(run.code, 0, run.stderr)
  const left = json.leftovers.find((l) => l.pid === Number(readFileSync(file, 'utf8')))
  t.truthy(left, JSON.stringify(json.leftovers))
  // /proc's start time and uptime count in 10 ms ticks.
  t.true(left!.ageMs >= 380, `ageMs ${left!.ageMs}`)
  // Read just after the command's wall time is taken: a tick's rounding apart, only a busy
  // machine's pause between the two can add to it.
  t.true(left!.ageMs <= json.wallTimeMs + 500, `ageMs ${left!.ageMs}, the command ran ${json.wallTimeMs} ms`)
  // Resident now, in KiB: its 60 MiB and a Node (not its address space, which is gigabytes).
  t.true(left!.rssKiB! >= 60 * 1024 && left!.rssKiB! < 200 * 1024, `rssKiB ${left!.rssKiB}`)
})

// The command exits once its background subshell has become `sleep 30` (its comm says so after
// the exec), so that is what is listed: a fixed 200 ms was outlasted on a busy machine.
const asleep = (code: number) => `(sleep 30) & p=$!; ${shUntil(shExecd('$p', 'sleep 30'))}; exit ${code}`

test('--fail-on-leftovers exits 122 when something was left running, the command\'s status otherwise', async (t) => {
  const left = await pidfd(['time', '--fail-on-leftovers', '--leftovers', 'kill', '--', 'sh', '-c', asleep(3)])
  t.is(left.code, 122)
  const clean = await pidfd(['time', '--fail-on-leftovers', '--', 'sh', '-c', 'sleep 0.05 & wait; exit 3'])
  t.is(clean.code, 3)
  t.notRegex(clean.stderr, /LEFTOVERS/)
  t.regex(left.stderr, /LEFTOVERS: 1 process left running by the command \(killed\):\n {4}pid \d+, .* old, .*: sleep 30\n/)
})

test('under GitHub Actions the leftovers are a warning annotation on stdout', async (t) => {
  const r = await pidfd(['time', '--leftovers', 'kill', '--', 'sh', '-c', asleep(0)], { GITHUB_ACTIONS: 'true' })
  t.regex(r.stdout, /^::warning title=pidfd time::1 process left running by the command \(killed\): \d+ sleep 30\n$/m)
  const quiet = await pidfd(['time', '--leftovers', 'kill', '--', 'sh', '-c', '(sleep 30) & exit 0'])
  t.is(quiet.stdout, '')
  // Nothing left: no annotation.
  const none = await pidfd(['time', '--', 'true'], { GITHUB_ACTIONS: 'true' })
  t.is(none.stdout, '')

  // Waited for; two left and reported (no word after); a command line with % and a newline,
  // which the annotation's own syntax reserves, escaped as GitHub reads them back.
  // Waited for until the timeout ends it: the annotation is written only once the wait is over,
  // and a sleep short enough to end it could be exiting, or gone, by the time the leftovers are
  // read on a busy machine.
  const waited = await pidfd(['time', '--leftovers', 'wait', '--timeout', '3s', '--', 'sh', '-c', '(sleep 30) & p=$!; ' + shUntil(shExecd('$p', 'sleep 30')) + '; exit 0'], { GITHUB_ACTIONS: 'true' })
  t.is(waited.code, 124, waited.stderr)
  t.regex(waited.stdout, /^::warning title=pidfd time::1 process left running by the command \(waited for\): \d+ sleep 30\n$/)
  const dir = tmp()
  const two = await pidfd(['time', '--', 'sh', '-c', `(sleep 30) & echo $! > ${dir}/a; (sleep 30) & echo $! > ${dir}/b; ${shUntil(`${shExecd(`$(cat ${dir}/a)`, 'sleep 30')} && ${shExecd(`$(cat ${dir}/b)`, 'sleep 30')}`)}; exit 0`], { GITHUB_ACTIONS: 'true' })
  for (const f of ['a', 'b']) killPid(Number(readFileSync(join(dir, f), 'utf8')))
  t.regex(two.stdout, /^::warning title=pidfd time::2 processes left running by the command: \d+ sleep 30; \d+ sleep 30\n$/)
  const odd = await pidfd(['time', '--leftovers', 'kill', '--', 'sh', '-c', `sh -c 'echo $$ > ${dir}/c; sleep 30; : 100%
sure' & ${shUntil(`[ -s ${dir}/c ] && [ -n "$(cat /proc/$(cat ${dir}/c)/task/*/children)" ]`)}; exit 0`], { GITHUB_ACTIONS: 'true' })
  t.regex(odd.stdout, /^::warning title=pidfd time::2 processes left running by the command \(killed\): \d+ sh -c echo \$\$ > \S+; sleep 30; : 100%25%0Asure; \d+ sleep 30\n$/)

  // Where stdout cannot be written (open for reading only), the one line on stderr names the
  // annotation. (A closed one would not do: Node opens /dev/null in its place at its start.)
  const closed = await new Promise<Run>((resolve) => {
    execFile('sh', ['-c', 'exec "$@" 1</dev/null', 'sh', process.execPath, bin, 'time', '--leftovers', 'kill', '--', 'sh', '-c', asleep(0)], { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, GITHUB_ACTIONS: 'true' } }, (err, stdout, stderr) =>
      resolve({ code: err ? -1 : 0, stdout, stderr }),
    )
  })
  t.is(closed.code, 0, closed.stderr)
  t.regex(closed.stderr, /\npidfd: cannot write the annotation: EBADF\n$/)
})

for (const { flag, skip } of modes) {
  runsIf(skip, `--cgroup ${flag}`)(`--timeout ends what escaped the process group (setsid) while the command still runs, and what it orphaned (--cgroup ${flag})`, async (t) => {
    const dir = tmp()
    // The command survives SIGTERM (a trap), so at the timeout the escapee is still below it, in a session
    // of its own: the signal reaches it only through the walk of the command's descendants. The
    // command waits until both have written their pids (the escapee's trap is set by then); the
    // timeout, which nothing here can hold back, is a bound long enough for that on a busy machine.
    const r = await pidfd([
      'time',
      '--cgroup',
      flag,
      '--timeout',
      '2s',
      '--kill-after',
      '1500ms',
      '--',
      'sh',
      '-c',
      `trap ":" TERM
       setsid sh -c 'trap "echo TERM > ${dir}/got; exit" TERM; echo $$ > ${dir}/setsid; while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &
       (sh -c 'echo $$ > ${dir}/orphan; exec sleep 30' </dev/null >/dev/null 2>&1 &)
       until [ -s ${dir}/setsid ] && [ -s ${dir}/orphan ]; do sleep 0.01; done
       while :; do sleep 0.1; done`,
    ])
    t.is(r.code, 124)
    t.is(readFileSync(join(dir, 'got'), 'utf8'), 'TERM\n', 'the escapee got the timeout\'s signal')
    for (const name of ['setsid', 'orphan']) {
      const pid = Number(readFileSync(join(dir, name), 'utf8'))
      t.true(await until(() => procState(pid) === null || procState(pid) === 'Z', 3000), `${name} ${pid} ended`)
    }
  })
}

test('the Subreaper never takes an exit the package is owed: every spawned child keeps its record', async (t) => {
  // A subreaper reaping orphans as fast as it can, while 60 children of the package exit.
  const r = await runNode(
    `const { Subreaper } = require(${JSON.stringify(join(root, 'lib', 'tree.js'))})
     const tree = Subreaper.start()
     const subs = Array.from({ length: 60 }, (_, i) => pidfd.spawn('sh', ['-c', '(sleep 0.05) & exit ' + (i % 5)]))
     // Reaping orphans in a tight loop on this thread while the children exit, racing the
     // package's own reaper on the watcher thread.
     for (const end = Date.now() + 400; Date.now() < end; ) tree.reap()
     Promise.all(subs.map((s) => s.exited)).then(async (exits) => {
       // Until the 60 orphans are reaped (each a sleep 0.05 that a busy machine can stretch), 20 s
       // at most: then fewer are counted and the test says so.
       for (const end = Date.now() + 20_000; tree.reaped.length < 60 && Date.now() < end; ) {
         tree.reap()
         await new Promise((r) => setTimeout(r, 10))
       }
       tree.reap()
       tree.stop()
       console.log(JSON.stringify({
         codes: exits.every((e, i) => e.code === i % 5),
         usage: exits.every((e) => e.rusage !== null),
         orphans: tree.reaped.length,
         ours: tree.reaped.some((o) => subs.some((s) => s.pid === o.pid)),
       }))
     })`,
    { timeoutMs: 30_000 },
  )
  t.is(r.stderr, '')
  t.deepEqual(JSON.parse(r.stdout), { codes: true, usage: true, orphans: 60, ours: false })
})

test('Subreaper.stop(): from then on an orphan goes past this process, and SIGCHLD is no longer listened to; a second stop() does nothing', async (t) => {
  const r = await runNode(`
    const { execFileSync } = require('node:child_process');
    const before = process.listenerCount('SIGCHLD');
    const orphan = () => Number(execFileSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }));
    const parentOf = (pid) => Number(require('node:fs').readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
    const tree = pidfd.Subreaper.start();
    const during = orphan();
    const listening = process.listenerCount('SIGCHLD') - before;
    tree.stop();
    tree.stop();
    const after = orphan();
    const result = { during: parentOf(during) === process.pid, after: parentOf(after) === process.pid, listening, left: process.listenerCount('SIGCHLD') - before };
    process.kill(during, 'SIGKILL');
    process.kill(after, 'SIGKILL');
    console.log(JSON.stringify(result));`)
  t.is(r.stderr, '')
  t.deepEqual(JSON.parse(r.stdout), { during: true, after: false, listening: 1, left: 0 })
})

test("a leftover whose command name holds ') Z ' is running, not taken for a zombie: /proc's state is read after the last ')'", async (t) => {
  const dir = tmp()
  const name = 'x) Z y'
  const { run, json } = await report(
    ['--cgroup', 'off', '--leftovers', 'kill'],
    `ln -s "$(command -v sleep)" '${dir}/${name}' && ('${dir}/${name}' 30 >/dev/null 2>&1 & echo $! > ${dir}/pid); p=$(cat ${dir}/pid); ` +
      `${shUntil(shExecd('$p', `${dir}/${name} 30`))}; exit 0`,
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(
    json.leftovers.map((l) => l.command),
    [[`${dir}/${name}`, '30']],
  )
})

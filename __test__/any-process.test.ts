// Any process, not only children: exits of non-children, info(), namespaces, descriptors,
// every signal, and the kernel capabilities behind them.

import test from 'ava'
import { closeSync, fstatSync, readFileSync, readSync, statSync } from 'node:fs'
import { constants, release } from 'node:os'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { text } from 'node:stream/consumers'

import { AsyncPidFd, Cgroup, PidFd, cgroupSupport, features, spawn } from '../index.js'
import { entry, isError, kernelAtLeast, markIn, needsRoot, noStrace, procState, runNode, runsIf, sleep, straceNode, until } from './helpers.js'

const infoExit = features().infoExit

/** The pid of the first child of `pid` (a grandchild of ours). */
async function childOf(pid: number): Promise<number> {
  let kids = ''
  await until(() => (kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()) !== '', 20_000)
  if (kids === '') throw new Error(`process ${pid} has no child after 20 s`)
  return Number(kids.split(' ')[0])
}

test('a grandchild: wait() resolves when its parent reaps it, with the status from the kernel', async (t) => {
  // The grandchild ends when told (a line on the pipe at its fd 3), not after a fixed time a
  // loaded machine could outlast before the pidfd is open.
  const sub = spawn('sh', ['-c', 'sh -c "read line <&3; exit 5" & wait'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] })
  const grandchild = await childOf(sub.pid!)
  const fd = AsyncPidFd.fromPid(grandchild)
  t.is(fd.tryWait(), null)
  const waiting = fd.wait()
  ;(sub.stdio[3] as Writable).end('go\n')
  const exit = await waiting
  t.like(exit, { rusage: null, siginfo: null }, 'not our child: no rusage, no siginfo')
  if (infoExit) t.like(exit, { status: 'exited', code: 5, signal: null })
  else t.like(exit, { status: 'unknown', code: null, signal: null })
  t.is((await sub.exited).code, 0)
  fd.close()
})

test('a grandchild killed by a signal, waited for with the blocking PidFd', async (t) => {
  const sub = spawn('sh', ['-c', 'sleep 10 & wait'], { stdio: 'ignore' })
  const grandchild = await childOf(sub.pid!)
  const fd = PidFd.fromPid(grandchild)
  fd.kill('SIGUSR2')
  const exit = fd.wait()
  if (infoExit) t.like(exit, { status: 'signaled', signal: 'SIGUSR2', signalNumber: 12, code: null })
  else t.is(exit.status, 'unknown')
  fd.close()
  await sub.exited
})

runsIf(noStrace, 'the blocking wait in strace')("a blocking wait on a process not ours sleeps in poll(2): once until it exits, once until its parent reaps it (looked at every 20 ms before Linux 6.9), never spinning (strace)", async (t) => {
  // The grandchild (a subshell) exits once this Node's main thread sleeps in poll(2) (its wchan;
  // not a delay, which a loaded machine under strace could outlast before the wait began). It
  // stays a zombie until its parent, told through a FIFO as it ends (a shell's read, which forks
  // nothing and so reaps nothing), has slept 2 s more and ended, and it is reaped by whoever takes
  // it in.
  const script = `const pidfd = require(${JSON.stringify(entry)});
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'pidfd-poll-'));
    const fifo = dir + '/f';
    const inPoll = "grep -qE 'poll_schedule|do_sys_poll' /proc/" + process.pid + "/wchan";
    // The grandchild ends only once its parent is sleep (which reaps nothing): the shell before
    // it could reap it.
    const parentSleeps = "[ \\"$(tr '\\\\0' ' ' < /proc/$$/cmdline)\\" = 'sleep 2 ' ]";
    const sh = require('node:child_process').spawn('sh', ['-c', 'mkfifo ' + fifo + '; (i=0; until ' + inPoll + ' || [ $i -gt 3000 ]; do i=$((i+1)); sleep 0.01; done; echo > ' + fifo + '; until ' + parentSleeps + ' || [ $i -gt 3000 ]; do i=$((i+1)); sleep 0.01; done) & echo $!; read x < ' + fifo + '; exec sleep 2'], { stdio: ['ignore', 'pipe', 'ignore'] });
    sh.stdout.once('data', (d) => {
      const fd = pidfd.PidFd.fromPid(Number(d));
      process.stderr.write('MARK0\\n');
      const exit = fd.wait();
      process.stderr.write('MARK1\\n');
      console.log(JSON.stringify(exit.status));
      require('node:fs').rmSync(dir, { recursive: true });
    });`
  const lines = await straceNode(script, ['poll', 'ppoll', 'write'])
  const [from, to] = [markIn(lines, 0), markIn(lines, 1)]
  t.true(from >= 0 && to > from, 'both marks written')
  const polls = lines.slice(from, to).filter((l) => / p?poll\(/.test(l))
  // A look (timeout 0) before each sleep; without the reap's wake-up, about 2 s of 20 ms looks
  // (on a loaded machine fewer).
  const most = features().reapWakeup ? 8 : 8 + Math.ceil(2000 / 20) + 5
  t.true(polls.length <= most, `${polls.length} polls, at most ${most}; the first:\n${polls.slice(0, 12).join('\n')}`)
  t.is(polls.filter((l) => /, -1\) += 1 /.test(l)).length, features().reapWakeup ? 2 : 1, 'a sleep until the exit, and one until the reap where it wakes')
  t.regex(lines.slice(to).find((l) => /write\(1, /.test(l)) ?? '', infoExit ? /\\"exited\\"/ : /\\"unknown\\"/)
})

test('a process reparented to init: resolves when init reaps it', async (t) => {
  // The orphan runs until we end it, not for a delay (a `sleep 0.3` could end, and be reaped by
  // init, before a busy machine got to open it); it keeps nothing of sh's stdout, so its pid
  // arrives at sh's exit.
  const sub = spawn('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const orphan = Number(await text(sub.stdout!))
  await sub.exited
  const fd = AsyncPidFd.fromPid(orphan)
  t.not(fd.info().ppid, process.pid)
  fd.kill('SIGTERM')
  const exit = await fd.wait({ timeout: 20_000 })
  if (infoExit) t.like(exit, { status: 'signaled', signal: 'SIGTERM' })
  t.is(exit.rusage, null)
  fd.close()
})

test('a zombie its parent never reaps: the wait times out, tryWait stays null, and resolves once it is reaped', async (t) => {
  // The exec'd sleep inherits the shell's child and never waits for it.
  const sub = spawn('sh', ['-c', 'sh -c "exit 3" & exec sleep 10'], { stdio: 'ignore' })
  const zombie = await childOf(sub.pid!)
  await until(() => procState(zombie) === 'Z')
  const fd = AsyncPidFd.fromPid(zombie)
  isError(t, await t.throwsAsync(fd.wait({ timeout: 200 })), { code: 'ABORT_ERR' })
  t.is(fd.tryWait(), null)
  const later = fd.wait()
  sub.kill('SIGKILL') // its parent dies; init reaps the zombie
  const exit = await later
  if (infoExit) t.like(exit, { status: 'exited', code: 3 })
  fd.close()
})

test('waiting on this process throws at once; introspection works', async (t) => {
  const sync = PidFd.self()
  isError(t, t.throws(() => sync.wait()), { code: 'ERR_PIDFD_SELF' })
  t.is(sync.tryWait(), null)
  t.is(sync.info().pid, process.pid)
  const async = AsyncPidFd.self()
  isError(t, await t.throwsAsync(async.wait()), { code: 'ERR_PIDFD_SELF' })
  sync.close()
  async.close()
})

function statusIds(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const ids = (key: string) => status.match(new RegExp(`^${key}:\\s+(.*)$`, 'm'))![1]!.split(/\s+/).map(Number)
  const [ruid, euid, suid, fsuid] = ids('Uid')
  const [rgid, egid, sgid, fsgid] = ids('Gid')
  return { pid, tgid: ids('Tgid')[0], ppid: ids('PPid')[0], ruid, euid, suid, fsuid, rgid, egid, sgid, fsgid }
}

/** The inode of `pid`'s cgroup v2 directory, under the cgroup2 mount (not assumed at /sys/fs/cgroup). */
function cgroupIdOf(pid: number): bigint {
  const path = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)![1]!
  const mount = cgroupSupport().mount
  if (mount === null) throw new Error('no cgroup2 mount')
  return BigInt(statSync(join(mount, path)).ino)
}

test('info(): ids, credentials and cgroup as /proc shows them; -1 and the exit once reaped', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore', uid: process.getuid?.() === 0 ? 65534 : undefined, gid: process.getuid?.() === 0 ? 65534 : undefined })
  await until(() => readFileSync(`/proc/${sub.pid}/status`, 'utf8').includes('sleep'))
  const info = sub.pidfd.info()
  t.like(info, statusIds(sub.pid!))
  t.is(info.ppid, process.pid)
  t.is(info.cgroupId, cgroupIdOf(sub.pid!))
  t.is(typeof info.cgroupId, 'bigint')
  t.is(info.exit, undefined)
  sub.kill('SIGKILL')
  await sub.exited
  const after = sub.pidfd.info()
  // Every id and credential, not just the pid: each reads -1 once the process is reaped.
  const reaped = Object.fromEntries(Object.keys(statusIds(process.pid)).map((k) => [k, -1]))
  t.like(after, reaped)
  t.is(Object.keys(reaped).length, 11)
  if (infoExit) t.like(after.exit, { status: 'signaled', signal: 'SIGKILL' })
})

test('info() from /proc where PIDFD_GET_INFO is missing (PIDFD_DISABLE=getInfo)', async (t) => {
  const run = await runNode(
    `const { readFileSync } = require('node:fs');
     const sub = pidfd.spawn('sleep', ['10'], { stdio: 'ignore' });
     setTimeout(async () => {
       const info = sub.pidfd.info();
       const status = readFileSync('/proc/' + sub.pid + '/status', 'utf8');
       sub.kill('SIGKILL'); await sub.exited;
       const after = sub.pidfd.info();
       const { cgroupId: _c, exit: _e, ...afterIds } = after;
       console.log(JSON.stringify({ getInfo: pidfd.features().getInfo, pid: info.pid === sub.pid, ppid: info.ppid === process.pid,
         uid: status.includes('Uid:\\t' + info.ruid + '\\t'), cgroup: typeof info.cgroupId, afterIds: [...new Set(Object.values(afterIds))], afterCount: Object.keys(afterIds).length, afterExit: after.exit ?? null }));
     }, 100);`,
    { env: { PIDFD_DISABLE: 'getInfo' } },
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { getInfo: false, pid: true, ppid: true, uid: true, cgroup: 'bigint', afterIds: [-1], afterCount: 11, afterExit: null })
})

const nestedCgroup = cgroupSupport().reason

runsIf(nestedCgroup, 'info() through /proc names the cgroup of a child in a nested cgroup v2')(
  "info() through /proc (PIDFD_DISABLE=getInfo) gives a child's cgroup id under the cgroup2 mount wherever it is (a hybrid host mounts it at /sys/fs/cgroup/unified), as PIDFD_GET_INFO does",
  async (t) => {
    const cg = Cgroup.create()
    t.teardown(async () => {
      cg.kill()
      await cg.waitEmpty(2000)
      cg.remove()
    })
    const run = await runNode(
      `const sub = pidfd.spawn('sleep', ['10'], { stdio: 'ignore', cgroup: ${JSON.stringify(cg.path)} });
       setTimeout(async () => {
         const id = sub.pidfd.info().cgroupId;
         sub.kill('SIGKILL'); await sub.exited;
         console.log(JSON.stringify({ getInfo: pidfd.features().getInfo, id: String(id) }));
       }, 100);`,
      { env: { PIDFD_DISABLE: 'getInfo' } },
    )
    t.is(run.code, 0, run.stderr)
    const { getInfo, id } = JSON.parse(run.stdout) as { getInfo: boolean; id: string }
    t.false(getInfo, 'read through /proc')
    t.is(id, String(statSync(cg.path).ino), `the inode of ${cg.path}`)
    if (features().getInfo) {
      const sub = spawn('sleep', ['10'], { stdio: 'ignore', cgroup: cg })
      t.is(String(sub.pidfd.info().cgroupId), id, 'the id PIDFD_GET_INFO gives')
      sub.kill('SIGKILL')
      await sub.exited
    }
  },
)

const kinds = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'pid_for_children', 'time', 'time_for_children', 'user', 'uts'] as const

test('namespace(kind): a close-on-exec descriptor whose inode is /proc/<pid>/ns/<kind>, also in new namespaces', async (t) => {
  const sub = spawn('unshare', ['--user', '--map-root-user', '--uts', '--ipc', '--net', 'sleep', '10'], { stdio: 'ignore' })
  await until(() => readFileSync(`/proc/${sub.pid}/cmdline`, 'utf8').startsWith('sleep'))
  for (const kind of kinds) {
    const fd = sub.pidfd.namespace(kind)
    t.is(fstatSync(fd).ino, statSync(`/proc/${sub.pid}/ns/${kind}`).ino, kind)
    const flags = parseInt(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/flags:\s+(\d+)/)![1]!, 8)
    t.truthy(flags & 0o2000000, `${kind} is close-on-exec`)
    closeSync(fd)
  }
  t.not(statSync(`/proc/${sub.pid}/ns/uts`).ino, statSync('/proc/self/ns/uts').ino, 'the child is in a new uts namespace')
  isError(t, t.throws(() => sub.pidfd.namespace('mount' as never)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  sub.kill('SIGKILL')
  await sub.exited
  // Reaped: ESRCH, from the ioctl or (before Linux 6.11) from /proc, as below.
  isError(t, t.throws(() => sub.pidfd.namespace('uts')), { code: 'ESRCH', syscall: features().namespaces ? 'ioctl' : 'open' })
})

test('namespace() from /proc where the ioctls are missing (PIDFD_DISABLE=namespaces): the same inode, close-on-exec too', async (t) => {
  const run = await runNode(
    `const { fstatSync, statSync, closeSync } = require('node:fs');
     const fd = pidfd.PidFd.self();
     const kinds = ${JSON.stringify(kinds)};
     const cloexec = (n) => (parseInt(require('node:fs').readFileSync('/proc/self/fdinfo/' + n, 'utf8').match(/flags:\\s+(\\d+)/)[1], 8) & 0o2000000) !== 0;
     console.log(pidfd.features().namespaces, kinds.every((k) => { const n = fd.namespace(k); const same = fstatSync(n).ino === statSync('/proc/self/ns/' + k).ino && cloexec(n); closeSync(n); return same }));
     const sub = pidfd.spawn('true', [], { stdio: 'ignore' });
     const handle = sub.pidfd;
     sub.exited.then(() => { try { handle.namespace('uts'); console.log('opened') } catch (e) { console.log(e.code, e.syscall) } });`,
    { env: { PIDFD_DISABLE: 'namespaces' } },
  )
  t.is(run.code, 0, run.stderr)
  // Once reaped, ESRCH (fdinfo's pid is -1), not a /proc/-1 path that does not exist.
  t.is(run.stdout, 'false true\nESRCH open\n')
})

test('getFd(): read a pipe end taken from a child', async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: ['pipe', 'ignore', 'ignore'] })
  // Once written (the callback), not after a delay: the bytes are in the pipe.
  await new Promise((resolve) => sub.stdin!.write('across processes', resolve))
  const fd = sub.pidfd.getFd(0)
  const buf = Buffer.alloc(64)
  const n = readSync(fd, buf)
  t.is(buf.toString('utf8', 0, n), 'across processes')
  closeSync(fd)
  isError(t, t.throws(() => sub.pidfd.getFd(9999)), { code: 'EBADF', errno: -9, syscall: 'pidfd_getfd' })
  isError(t, t.throws(() => sub.pidfd.getFd(-1)), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  sub.kill('SIGKILL')
  await sub.exited
})

runsIf(needsRoot, 'getFd() EPERM')('getFd() as an unprivileged user on a root process is EPERM', async (t) => {
  const target = spawn('sleep', ['10'], { stdio: 'ignore' })
  const probe = spawn(
    process.execPath,
    ['-e', `try { require(${JSON.stringify(entry)}).PidFd.fromPid(${target.pid}).getFd(0); console.log('taken') } catch (e) { console.log(e.code, e.errno, e.syscall) }`],
    { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  probe.on('error', (err) => t.fail(`uid 65534 cannot run ${process.execPath}: ${String(err)}`))
  t.is((await text(probe.stdout!)).trim(), 'EPERM -1 pidfd_getfd')
  target.kill('SIGKILL')
  await target.exited
})

runsIf(needsRoot, 'kill() EPERM')('kill() as an unprivileged user on a root process is EPERM from pidfd_send_signal: no plain kill(2) stands in for a process the package did not spawn', async (t) => {
  const target = spawn('sleep', ['10'], { stdio: 'ignore' })
  const probe = spawn(
    process.execPath,
    ['-e', `try { require(${JSON.stringify(entry)}).PidFd.fromPid(${target.pid}).kill('SIGTERM'); console.log('sent') } catch (e) { console.log(e.code, e.errno, e.syscall) }`],
    { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  probe.on('error', (err) => t.fail(`uid 65534 cannot run ${process.execPath}: ${String(err)}`))
  t.is((await text(probe.stdout!)).trim(), 'EPERM -1 pidfd_send_signal')
  t.is(target.pidfd.tryWait(), null, 'the target still runs')
  target.kill('SIGKILL')
  await target.exited
})

test('an API whose capability is missing throws ERR_PIDFD_UNSUPPORTED naming the kernel it needs', async (t) => {
  const probe = async (disable: string, call: string) => {
    const run = await runNode(`try { ${call}; console.log('no error') } catch (e) { console.log(e.code, e.message) }`, {
      env: { PIDFD_DISABLE: disable },
    })
    return run.stdout.trim()
  }
  t.regex(await probe('getFd', 'pidfd.PidFd.self().getFd(0)'), /^ERR_PIDFD_UNSUPPORTED .*Linux 5\.6/)
  t.regex(await probe('waitidPidfd', 'pidfd.PidFd.fromPid(1).tryWait()'), /^ERR_PIDFD_UNSUPPORTED .*Linux 5\.4/)
  t.regex(await probe('waitidPidfd', "pidfd.spawn('true')"), /^ERR_PIDFD_UNSUPPORTED .*Linux 5\.4/)
  t.regex(await probe('pidfdOpen', 'pidfd.PidFd.fromPid(1)'), /^ERR_PIDFD_UNSUPPORTED .*Linux 5\.3/)
  t.regex(await probe('sendSignal', 'pidfd.PidFd.self().kill(0)'), /^ERR_PIDFD_UNSUPPORTED .*Linux 5\.1/)
  t.is(await probe('pidfdOpen', 'if (pidfd.isSupported()) throw new Error("supported")'), 'no error')
})

test('every signal Node names reaches the process: the terminating ones end it with that name', async (t) => {
  const names = Object.keys(constants.signals) as NodeJS.Signals[]
  // SIGTSTP, SIGTTIN and SIGTTOU are discarded by the kernel for a process in an orphaned
  // process group (as test runners' often are), so their delivery is shown by a trap.
  const trapped = new Set(['SIGTSTP', 'SIGTTIN', 'SIGTTOU'])
  const ignored = new Set(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH'])
  await Promise.all(
    names.map(async (name) => {
      if (trapped.has(name)) {
        const sub = spawn('sh', ['-c', `trap "echo caught; exit 0" ${name.slice(3)}; echo ready; while :; do sleep 0.05; done`], {
          stdio: ['ignore', 'pipe', 'ignore'],
        })
        const out = text(sub.stdout!)
        await new Promise<void>((resolve) => sub.stdout!.once('data', () => resolve()))
        sub.pidfd.kill(name)
        t.is(await out, 'ready\ncaught\n', name)
        t.is((await sub.exited).code, 0)
        return
      }
      const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
      sub.pidfd.kill(name)
      if (name === 'SIGSTOP') {
        t.true(await until(() => procState(sub.pid!) === 'T', 20_000), 'SIGSTOP stops it')
        sub.kill('SIGKILL')
        t.is((await sub.exited).signal, 'SIGKILL')
      } else if (ignored.has(name)) {
        // Ordering, not a delay: a SIGKILL sent after it is what ends the process. A fatal
        // signal sent first would have ended it (the kernel decides at sending), by that signal.
        t.is(sub.pidfd.tryWait(), null, `${name} is ignored by default`)
        sub.kill('SIGKILL')
        t.is((await sub.exited).signal, 'SIGKILL', `${name} is ignored by default`)
      } else {
        const exit = await sub.exited
        t.is(exit.signalNumber, constants.signals[name], name)
        // Aliases (SIGIOT, SIGPOLL) come back under Node's own name for the number.
        t.is(exit.signal !== null && constants.signals[exit.signal], constants.signals[name])
      }
    }),
  )
})

test('real-time signals by number', async (t) => {
  const numbers = Array.from({ length: 31 }, (_, i) => 34 + i)
  const exits = await Promise.all(
    numbers.map((n) => {
      const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
      sub.pidfd.kill(n)
      return sub.exited
    }),
  )
  t.deepEqual(exits.map((e) => e.signalNumber), numbers)
  t.true(exits.every((e) => e.signal === null && e.status === 'signaled'))
})

test('features(): detected once, frozen, and PIDFD_DISABLE pretends a capability is missing', async (t) => {
  const f = features()
  t.is(features(), f)
  t.true(Object.isFrozen(f))
  t.true(f.pidfdOpen && f.waitidPidfd && f.sendSignal)
  const run = await runNode(`console.log(JSON.stringify(pidfd.features()))`, { env: { PIDFD_DISABLE: 'infoExit,getInfo' } })
  t.like(JSON.parse(run.stdout), { infoExit: false, getInfo: false, pidfdOpen: true })
})

test('features(): what cannot be probed is the kernel version\'s: reapWakeup from Linux 6.9, infoExit from 6.15 (with getInfo), cloneIntoCgroup from 5.7', (t) => {
  const f = features()
  t.is(f.reapWakeup, f.pidfdOpen && kernelAtLeast(6, 9), release())
  t.is(f.infoExit, f.getInfo && kernelAtLeast(6, 15), release())
  t.is(f.cloneIntoCgroup, kernelAtLeast(5, 7), release())
})

const seccomp = /^Seccomp:\s+0$/m.test(readFileSync('/proc/self/status', 'utf8')) ? null : 'a seccomp filter limits this process: a probe may find a capability refused'
runsIf(seccomp, 'probes on an unfiltered kernel')("features(): each probed capability is found where the kernel has it, in a process no seccomp filter limits: pidfd_open 5.3, waitid 5.4, PIDFD_NONBLOCK 5.10, pidfd_send_signal 5.1, pidfd_getfd 5.6, PIDFD_GET_INFO 6.13, the namespace ioctls 6.11", (t) => {
  const f = features()
  const since: Array<[keyof typeof f, number, number]> = [
    ['pidfdOpen', 5, 3],
    ['waitidPidfd', 5, 4],
    ['pidfdNonblock', 5, 10],
    ['sendSignal', 5, 1],
    ['getFd', 5, 6],
    ['getInfo', 6, 13],
    ['namespaces', 6, 11],
  ]
  for (const [name, major, minor] of since) t.is(f[name], kernelAtLeast(major, minor), `${name} on ${release()}`)
})

test('PIDFD_DISABLE=name turns off that capability alone (getInfo takes infoExit with it), names trimmed and unknown ones ignored; what needs one says which Linux', async (t) => {
  const base = { ...features() }
  for (const name of Object.keys(base)) {
    const run = await runNode(`console.log(JSON.stringify(pidfd.features()))`, { env: { PIDFD_DISABLE: `nothing, ${name} ,` } })
    t.is(run.code, 0, run.stderr)
    t.deepEqual(JSON.parse(run.stdout), { ...base, [name]: false, ...(name === 'getInfo' ? { infoExit: false } : {}) }, name)
  }
  // Each capability a call refuses without, the call, the name it goes by and the Linux it needs.
  const calls: Array<[string, string, string, string]> = [
    ['sendSignal', 'fd.kill(0)', 'kill', 'Linux 5.1'],
    ['getFd', 'fd.getFd(0)', 'getFd', 'Linux 5.6'],
    ['waitidPidfd', 'fd.tryWait()', 'tryWait', 'Linux 5.4'],
    ['pidfdOpen', 'pidfd.PidFd.fromPid(process.pid)', 'fromPid', 'Linux 5.3'],
  ]
  for (const [name, call, what, kernel] of calls) {
    const run = await runNode(
      `const fd = ${name === 'pidfdOpen' ? 'null' : 'pidfd.PidFd.fromPid(process.pid)'}
       try { ${call}; console.log('no error') } catch (e) { console.log(e.code + ': ' + e.message) }`,
      { env: { PIDFD_DISABLE: name } },
    )
    t.is(run.stdout, `ERR_PIDFD_UNSUPPORTED: ${what} needs ${kernel} (${name}), which this kernel does not offer (or a seccomp filter refuses)\n`, name)
  }
})

test('without PIDFD_INFO_EXIT a non-child ends as unknown; a child_process child still gets its own record', async (t) => {
  const run = await runNode(
    `const cp = require('node:child_process');
     (async () => {
       // The grandchild ends when told, on the pipe at its fd 3, once its pidfd is open.
       const sub = pidfd.spawn('sh', ['-c', 'sh -c "read line <&3; exit 4" & wait'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
       // The grandchild, once the shell has forked it (a condition, bounded: no fixed sleep).
       let g = 0;
       for (const end = Date.now() + 10000; !g && Date.now() < end; await new Promise((r) => setTimeout(r, 5)))
         g = Number(require('node:fs').readFileSync('/proc/' + sub.pid + '/task/' + sub.pid + '/children', 'utf8').trim().split(' ')[0] || 0);
       const grandFd = pidfd.AsyncPidFd.fromPid(g);
       const waiting = grandFd.wait();
       sub.stdio[3].end('go\\n');
       const grand = await waiting;
       const child = cp.spawn('sh', ['-c', 'exit 6']);
       const viaChild = await pidfd.AsyncPidFd.fromChild(child).wait();
       console.log(JSON.stringify({ grand: grand.status, code: grand.code, child: viaChild.code }));
     })();`,
    { env: { PIDFD_DISABLE: 'infoExit' } },
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { grand: 'unknown', code: null, child: 6 })
})

test("a process not ours, waited for: the watcher thread sleeps while it runs, and (Linux 6.9 on, where its reap wakes the waiter) while it is a zombie its parent has not reaped", async (t) => {
  const run = await runNode(
    `const { spawn } = require('node:child_process');
     const fs = require('node:fs');
     // A sleep whose shell, blocked in read, reaps it only at \`wait\`, once told.
     const sh = spawn('sh', ['-c', 'sleep 60 & echo $!; read line; wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
     const zombie = (pid) => { const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return stat[stat.lastIndexOf(')') + 2] === 'Z'; };
     const watcher = () => fs.readdirSync('/proc/self/task').find((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'pidfd-watch');
     const pause = (ms) => new Promise((r) => setTimeout(r, ms));
     sh.stdout.once('data', async (d) => {
       const pid = Number(String(d).trim());
       let ended = false;
       const waiting = pidfd.AsyncPidFd.fromPid(pid).wait().then((e) => { ended = true; return e; });
       // The thread names itself once it runs.
       let tid;
       while (!(tid = watcher())) await pause(5);
       const switches = () => Number(/^voluntary_ctxt_switches:\\s+(\\d+)/m.exec(fs.readFileSync('/proc/self/task/' + tid + '/status', 'utf8'))[1]);
       // Its wake-ups over half a second (a window, for a negative claim: a stall only lowers
       // the count); looking again every 20 ms would make 25.
       const wakeups = async () => { const before = switches(); await pause(500); return switches() - before; };
       const out = { running: await wakeups() };
       process.kill(pid, 'SIGKILL');
       while (!zombie(pid)) await pause(5);
       out.zombie = await wakeups();
       out.pending = !ended;
       sh.stdin.end('go\\n');
       out.status = (await waiting).status;
       console.log(JSON.stringify(out));
     });`,
  )
  t.is(run.code, 0, run.stderr)
  const out = JSON.parse(run.stdout) as { running: number; zombie: number; pending: boolean; status: string }
  t.true(out.pending, 'still waited for while a zombie')
  t.is(out.status, features().infoExit ? 'signaled' : 'unknown')
  t.true(out.running < 10, `the watcher thread woke ${out.running} times in 500 ms while the process ran`)
  t.log(`the watcher thread's wake-ups in 500 ms: ${out.running} while the process ran, ${out.zombie} while a zombie`)
  if (features().reapWakeup) t.true(out.zombie < 10, `the watcher thread woke ${out.zombie} times in 500 ms while the zombie waited for its reap`)
  else t.log(`Linux ${release()}: the reap wakes nobody, so the zombie is looked at every 20 ms`)
})

test('where the reap wakes nobody (Linux < 6.9; PIDFD_DISABLE=reapWakeup here): a non-child\'s tryWait, async and blocking waits still end at its reap, read from fdinfo', async (t) => {
  const run = await runNode(
    `const { spawn } = require('node:child_process');
     // A grandchild that ends when told (end(): a line on the pipe at its fd 3), so that its
     // pidfd is open first however slow the machine; its shell reaps it.
     const grandchild = () => new Promise((resolve) => {
       const sh = spawn('sh', ['-c', 'sh -c "read line <&3" & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
       sh.stdout.once('data', (d) => resolve({ pid: Number(String(d).trim()), sh, end: () => sh.stdio[3].end('go\\n') }));
     });
     (async () => {
       const out = { reapWakeup: pidfd.features().reapWakeup };
       let g = await grandchild();
       const sync = pidfd.PidFd.fromPid(g.pid);
       out.before = sync.tryWait();
       g.end();
       await new Promise((r) => g.sh.on('exit', r));
       out.after = sync.tryWait()?.status;
       g = await grandchild();
       const waiting = pidfd.AsyncPidFd.fromPid(g.pid).wait({ timeout: 5000 });
       g.end();
       out.async = (await waiting).status;
       g = await grandchild();
       const blocking = pidfd.PidFd.fromPid(g.pid);
       // The line is written at once (a pipe with room), before the wait blocks this thread.
       g.end();
       out.blocking = blocking.wait().status;
       console.log(JSON.stringify(out));
     })();`,
    { env: { PIDFD_DISABLE: 'reapWakeup,infoExit' }, timeoutMs: 60_000 },
  )
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { reapWakeup: false, before: null, after: 'unknown', async: 'unknown', blocking: 'unknown' })
})

// The package's promises on the running kernel: run by scripts/kernel-matrix.sh inside a VM of
// each kernel CI covers (and on the host). Plain Node, no test runner: a busybox initramfs has
// node, this package and busybox, nothing else. Every check has a deadline, so a hang is a
// failure with its name, never a stuck run. Prints `ok`/`not ok` lines, the features, and a
// closing `N passed, N failed`.
//
//   node __test__/kernel/check.cjs [path to the package, default: the repository]
'use strict'

const { execFileSync, spawn: cpSpawn } = require('node:child_process')
const { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } = require('node:fs')
const { release } = require('node:os')
const { join } = require('node:path')

const pkgDir = process.argv[2] || join(__dirname, '..', '..')
const pidfd = require(join(pkgDir, 'index.js'))
const cli = join(pkgDir, 'bin', 'pidfd.js')

const results = []
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function check(name, fn, deadlineMs = 8000) {
  let timer
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${deadlineMs} ms`)), deadlineMs)
  })
  try {
    const detail = await Promise.race([fn(), deadline])
    results.push(true)
    console.log(`ok ${results.length} - ${name}${detail ? ` # ${detail}` : ''}`)
  } catch (err) {
    results.push(false)
    console.log(`not ok ${results.length} - ${name} # ${err && err.message ? err.message : String(err)}`)
  } finally {
    clearTimeout(timer)
  }
}

/** A check that cannot run here: said, with its reason, and not counted as a failure. */
function skip(name, reason) {
  results.push(true)
  console.log(`ok ${results.length} - ${name} # SKIP ${reason}`)
}

/**
 * cgroup v2 with the memory and pids controllers, or why not. In the VM nothing mounts cgroup2:
 * it is mounted at a path of this check's own (the package finds it in /proc/self/mountinfo, not
 * at /sys/fs/cgroup) and the controllers are enabled in its root, where this process is. A
 * hierarchy that is already mounted (the host's) is left as it is.
 */
function cgroupSetup() {
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / - cgroup2 /.test(l))
  if (!mounted) {
    if (process.getuid() !== 0) return 'no cgroup2 mounted, and not root to mount one'
    mkdirSync('/tmp/cgroup2', { recursive: true })
    execFileSync('mount', ['-t', 'cgroup2', 'cgroup2', '/tmp/cgroup2'])
    for (const c of ['memory', 'pids', 'cpu']) {
      try {
        writeFileSync('/tmp/cgroup2/cgroup.subtree_control', `+${c}`)
      } catch {
        // not in this kernel: the report says so
      }
    }
  }
  const s = pidfd.cgroupSupport()
  if (s.reason) return s.reason
  if (!s.controllers.includes('memory')) {
    const available = readFileSync(join(s.parent, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')
    return available ? `the memory controller is not enabled in ${s.parent}/cgroup.subtree_control` : `the memory controller is not available in ${s.parent} (a hybrid host keeps it in cgroup v1)`
  }
  return null
}

function assert(cond, message) {
  if (!cond) throw new Error(message)
}

/**
 * A process that is not ours: a `sleep` whose parent is a `sh` this Node started. It lives until
 * the check kills it (no fixed sleep that a slow emulated machine could outlast before the check
 * opens it), and stays a zombie until `reap()`: `sh` reads a line before it waits, and the `read`
 * builtin reaps nobody (a foreground command would, through waitpid(-1)).
 */
function grandchild() {
  const sh = cpSpawn('sh', ['-c', 'sleep 60 & echo $!; read line; wait'], { stdio: ['pipe', 'pipe', 'inherit'] })
  // Listened for from the start: sh exits right after its reap, which a kernel before 6.9 lets
  // the wait see only at its next look (20 ms), so sh's 'exit' can come first.
  const shExit = new Promise((resolve) => sh.on('exit', resolve))
  const reap = () => sh.stdin.end('reap\n')
  return new Promise((resolve) => sh.stdout.once('data', (d) => resolve({ pid: Number(String(d).trim()), shExit, reap })))
}

async function main() {
  console.log(`# Linux ${release()}, Node ${process.version}`)
  console.log(`# features ${JSON.stringify(pidfd.features())}`)
  console.log(`# binary ${Object.keys(require.cache).find((f) => f.endsWith('.node'))}`)

  await check('spawn: exit status and rusage, maxRSS the child\'s own', async () => {
    const exit = await pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' }).exited
    assert(exit.code === 3, `code ${exit.code}`)
    assert(exit.rusage && exit.rusage.maxRSS < 10 * 1024, `maxRSS ${exit.rusage && exit.rusage.maxRSS}`)
    return `maxRSS ${exit.rusage.maxRSS} KiB`
  })

  await check('fork: a message each way over IPC, then the exit with rusage', async () => {
    const dir = mkdtempSync(join(require('node:os').tmpdir(), 'pidfd-fork-'))
    const file = join(dir, 'child.js')
    writeFileSync(file, "process.on('message', (m) => { process.send({ echo: m, pid: process.pid }); process.disconnect() })")
    const child = pidfd.fork(file, [], { stdio: 'ignore' })
    const reply = new Promise((resolve) => child.once('message', resolve))
    child.send({ n: 42 })
    const m = await reply
    const exit = await child.exited
    assert(m.echo.n === 42 && m.pid === child.pid, JSON.stringify(m))
    assert(exit.code === 0 && exit.rusage, `code ${exit.code}`)
    return `echo ${m.echo.n} from ${m.pid}, maxRSS ${exit.rusage.maxRSS} KiB`
  }, 30000)

  await check('spawnSync: output, status and rusage', async () => {
    const r = pidfd.spawnSync('sh', ['-c', 'echo out; echo err >&2; exit 5'], { encoding: 'utf8' })
    assert(r.status === 5 && r.stdout === 'out\n' && r.stderr === 'err\n', JSON.stringify(r))
    assert(r.resourceUsage && r.resourceUsage.maxRSS < 10 * 1024, `maxRSS ${r.resourceUsage && r.resourceUsage.maxRSS}`)
  })

  await check('spawn: a missing program is ENOENT through \'error\'', async () => {
    const sub = pidfd.spawn('pidfd-no-such-program')
    const err = await new Promise((resolve) => sub.on('error', resolve))
    assert(err.code === 'ENOENT', err.code)
  })

  await check('a non-child\'s exit ends an async wait (its parent reaps it later)', async () => {
    const { pid, shExit, reap } = await grandchild()
    const waiting = pidfd.AsyncPidFd.fromPid(pid).wait()
    process.kill(pid, 'SIGTERM')
    // Its parent reaps it a little later, while the wait is pending.
    setTimeout(reap, 200)
    const exit = await waiting
    await shExit
    // Since Linux 6.15 the kernel keeps the status of a process someone else reaped.
    const expected = pidfd.features().infoExit ? 'signaled' : 'unknown'
    assert(exit.status === expected, `status ${exit.status}, expected ${expected}`)
    assert(expected === 'unknown' || exit.signal === 'SIGTERM', `signal ${exit.signal}`)
    return `status ${exit.status}`
  })

  await check('a non-child: tryWait() turns non-null once it is reaped', async () => {
    const { pid, shExit, reap } = await grandchild()
    const handle = pidfd.PidFd.fromPid(pid)
    assert(handle.tryWait() === null, 'exited too early')
    process.kill(pid, 'SIGTERM')
    reap()
    await shExit
    const exit = handle.tryWait()
    assert(exit !== null, 'still null after the reap')
    return `status ${exit.status}`
  })

  await check('a non-child: the blocking PidFd.wait() returns once it is reaped', async () => {
    // Blocking: in a separate Node (which makes its own grandchild), so a hang cannot stop this one.
    const script = `
      const p = require(${JSON.stringify(join(pkgDir, 'index.js'))});
      const sh = require('node:child_process').spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
      sh.stdout.once('data', (d) => {
        // Opened, then ended: a sleep that ended by itself could be gone before it is opened.
        const pid = Number(String(d).trim());
        const handle = p.PidFd.fromPid(pid);
        process.kill(pid, 'SIGTERM');
        console.log(handle.wait().status);
      });
    `
    const out = execFileSync(process.execPath, ['-e', script], { timeout: 30_000, encoding: 'utf8' })
    return `status ${out.trim()}`
  })

  await check('fromChild: an exit libuv reaped first still ends the wait, with the child\'s own status', async () => {
    const child = cpSpawn('sh', ['-c', 'sleep 0.2; exit 5'])
    const handle = pidfd.AsyncPidFd.fromChild(child)
    await new Promise((resolve) => child.on('exit', resolve))
    await sleep(50)
    const exit = await handle.wait()
    assert(exit.code === 5, `code ${exit.code}`)
    return `rusage ${exit.rusage ? 'kept' : 'null'}`
  })

  await check('info() and namespace(): on this kernel\'s path (PIDFD_GET_INFO or /proc)', async () => {
    const sub = pidfd.spawn('sleep', ['5'], { stdio: 'ignore' })
    const info = sub.pidfd.info()
    assert(info.pid === sub.pid && info.ppid === process.pid, require('node:util').inspect(info))
    const ns = sub.pidfd.namespace('pid')
    assert(ns >= 0, `namespace fd ${ns}`)
    require('node:fs').closeSync(ns)
    sub.kill('SIGKILL')
    await sub.exited
    return `uid ${info.ruid}`
  })

  await check('forced PID reuse: an old handle never reaches the process that took its pid', async () => {
    const first = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' })
    const old = first.pidfd
    const pid = first.pid
    first.kill('SIGKILL')
    await first.exited
    let taken = null
    for (let round = 0; round < 20 && !taken; round++) {
      writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1))
      const next = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' })
      if (next.pid === pid) taken = next
      else {
        next.kill('SIGKILL')
        await next.exited
      }
    }
    assert(taken, 'the pid was not reused')
    let code = null
    try {
      old.kill('SIGKILL')
    } catch (err) {
      code = err.code
    }
    assert(code === 'ESRCH', `old handle: ${code}`)
    assert(readFileSync(`/proc/${pid}/stat`, 'utf8').includes('(sleep)'), 'the new process is gone')
    taken.kill('SIGKILL')
    await taken.exited
    return `pid ${pid} reused`
  })

  const cgroupName = 'cgroup: two 100 MB processes under pidfd time --cgroup required: the tree\'s memory.peak is at least 200 MB and under 1 GiB (in KiB)'
  const noCgroup = cgroupSetup()
  if (noCgroup) skip(cgroupName, noCgroup)
  else {
    await check(
      cgroupName,
      async () => {
        const out = join(mkdtempSync('/tmp/pidfd-'), 'report.json')
        // Each holds its 100 MB until both have theirs (a file each in `both`), not for a fixed
        // time, which an emulated CPU's slow Node start could outlast before the second allocates.
        const both = mkdtempSync('/tmp/pidfd-both-')
        const hold = `${process.execPath} -e 'const fs = require("fs"); const b = Buffer.alloc(100 * 2 ** 20, 1); fs.writeFileSync("${both}/" + process.pid, ""); const t = setInterval(() => { if (fs.readdirSync("${both}").length >= 2) { clearInterval(t); return b.length } }, 10)'`
        const code = await new Promise((resolve) => {
          const c = cpSpawn(process.execPath, [cli, 'time', '--cgroup', 'required', '--format', 'json', '--output', out, '--', 'sh', '-c', `${hold} & ${hold} & wait`], { stdio: 'ignore' })
          c.on('close', resolve)
        })
        assert(code === 0, `exit ${code}`)
        const r = JSON.parse(readFileSync(out, 'utf8'))
        const peak = r.cgroup.stats && r.cgroup.stats.memoryPeakKiB
        assert(peak >= 200 * 1024, `memory.peak ${peak} KiB (${r.methods.peakMemory})`)
        // In KiB, not the file's bytes (1024 times as many): two 100 MB processes are far below 1 GiB.
        assert(peak < 1024 * 1024, `memory.peak ${peak} KiB is over 1 GiB: bytes read as KiB?`)
        assert(r.rusage.maxRSS < 200 * 1024, `largest single maxRSS ${r.rusage.maxRSS} KiB`)
        assert(/^cgroup memory\.peak/.test(r.methods.peakMemory), r.methods.peakMemory)
        assert(r.cgroup.removed, `${r.cgroup.path} not removed`)
        const via = pidfd.features().cloneIntoCgroup ? 'CLONE_INTO_CGROUP' : 'cgroup.procs'
        assert(r.cgroup.via === via, `entered by ${r.cgroup.via}, expected ${via}`)
        return `memory.peak ${Math.round(peak / 1024)} MiB, largest maxRSS ${Math.round(r.rusage.maxRSS / 1024)} MiB, pids.peak ${r.cgroup.stats.pidsPeak}, entered by ${r.cgroup.via}, ${r.cgroup.path}`
      },
      60_000,
    )
    // Here cgroup2 is mounted at a path of this check's own: the id must be found under it,
    // through /proc where the kernel has no PIDFD_GET_INFO (before 6.13).
    await check("info(): a child's cgroup id is its cgroup directory's inode, under the cgroup2 mount wherever it is", async () => {
      const cg = pidfd.Cgroup.create()
      const sub = pidfd.spawn('sleep', ['5'], { stdio: 'ignore', cgroup: cg })
      const id = sub.pidfd.info().cgroupId
      const want = BigInt(statSync(cg.path).ino)
      sub.kill('SIGKILL')
      await sub.exited
      await cg.waitEmpty(2000)
      cg.remove()
      assert(id === want, `cgroupId ${id}, the inode of ${cg.path} is ${want}`)
      return `cgroupId ${id} through ${pidfd.features().getInfo ? 'PIDFD_GET_INFO' : '/proc'}, ${cg.path}`
    })
  }

  // A Node of its own (the CLI) as the fork check starts one: seconds under an emulated CPU.
  await check('the CLI: pidfd time passes the command\'s status on and reports', async () => {
    const started = Date.now()
    const r = await new Promise((resolve) => {
      const c = cpSpawn(process.execPath, [cli, 'time', '--format', 'json', '--', 'sh', '-c', 'exit 4'], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      c.stderr.on('data', (d) => (err += d))
      c.on('close', (code) => resolve({ code, err }))
    })
    assert(r.code === 4, `exit ${r.code}`)
    const report = JSON.parse(r.err)
    assert(report.code === 4 && report.rusage, 'no rusage in the report')
    return `${Date.now() - started} ms`
  }, 30000)

  const passed = results.filter(Boolean).length
  console.log(`${passed} passed, ${results.length - passed} failed`)
  process.exit(passed === results.length ? 0 : 1)
}

main()

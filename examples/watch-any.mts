// Watch a process you did not start: a daemon, a sibling, anything this user may see. The handle
// names that process for its whole life, so a kill can never reach a process that reused the pid.
//   node --import tsx examples/watch-any.mts [pid]

import { spawn } from 'node:child_process'
import { AsyncPidFd } from 'pidfd'

let pid = Number(process.argv[2])
if (!pid) {
  // No pid given: a stand-in started elsewhere in this app, through child_process, whose 'exit'
  // must still fire for its owner.
  const daemon = spawn('sleep', ['30'], { stdio: 'ignore' })
  daemon.on('exit', (code, signal) => console.log(`its owner still sees 'exit': ${signal}`))
  pid = daemon.pid!
}

const handle = AsyncPidFd.fromPid(pid)
const info = handle.info()
console.log(`watching ${pid}: ppid ${info.ppid}, uid ${info.ruid}`)

// Give it 200 ms, then ask it to stop; the signal reaches this process or none.
const exit = await handle.wait({ timeout: 200 }).catch(() => {
  handle.kill('SIGTERM')
  return handle.wait({ timeout: 10_000 })
})
// The wait never reaps, and ends when the process is gone. Its usage comes with it when the
// process is a child of this one; for any other process, the status comes from the kernel on
// Linux 6.15 and later ('unknown' before) and the usage only to its parent.
console.log(`gone: status ${exit.status}, signal ${exit.signal}, rusage ${exit.rusage ? 'captured' : 'not ours to read'}`)
handle.close()

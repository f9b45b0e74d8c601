// The demo: run a command through pidfd and show how it ended and what it used.
//   npm run demo -- [command args...]     (default: a shell pipeline that does some work)

import { spawn as cpSpawn } from 'node:child_process'

import { AsyncPidFd, spawn } from '../index.js'

async function main(): Promise<void> {
  const [file = 'sh', ...args] = process.argv.slice(2)
  const argv = process.argv.length > 2 ? args : ['-c', 'seq 1 300000 | sort -r | md5sum; exit 3']

  const quote = (a: string) => (/^[\w./=-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)
  console.log(`$ ${[file, ...argv].map(quote).join(' ')}`)
  const sub = spawn(file, argv, { stdio: ['ignore', 'inherit', 'inherit'] })
  const exit = await sub.exited
  const usage = exit.rusage!
  console.log(
    exit.status === 'exited' ? `exited with code ${exit.code}` : `killed by ${exit.signal ?? `signal ${exit.signalNumber}`}`,
  )
  console.log(
    `user ${(usage.userCPUTime / 1000).toFixed(1)} ms, system ${(usage.systemCPUTime / 1000).toFixed(1)} ms, ` +
      `peak RSS ${(usage.maxRSS / 1024).toFixed(1)} MiB, ${usage.minorPageFault} minor page faults, ` +
      `${usage.voluntaryContextSwitches + usage.involuntaryContextSwitches} context switches`,
  )

  // A child_process child, watched through a pidfd: 'exit' still fires for Node.
  const child = cpSpawn('sleep', ['10'])
  const pidfd = AsyncPidFd.fromPid(child.pid!)
  const [fromPidfd] = await Promise.all([pidfd.wait(), new Promise((r) => child.once('exit', r)), pidfd.kill('SIGTERM')])
  console.log(`child_process child ${child.pid}: ${fromPidfd.signal} (rusage ${fromPidfd.rusage ? 'captured' : 'lost to libuv'})`)
  pidfd.close()
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})

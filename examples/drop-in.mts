// Drop-in: the child_process code you have, with one import changed, and the usage of every
// child on top.
//   node --import tsx examples/drop-in.mts

// import { spawn } from 'node:child_process'
import { spawn } from 'pidfd'

const child = spawn('sh', ['-c', 'echo "compiling…"; seq 1 200000 | sort -rn | head -1'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  timeout: 10_000,
})

let output = ''
child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
child.on('spawn', () => console.log(`spawned ${child.pid}`))
child.on('exit', (code, signal) => {
  // The same arguments as child_process gives; the usage is new.
  const usage = child.resourceUsage()!
  console.log(`exit code=${code} signal=${signal}`)
  console.log(`cpu ${(usage.userCPUTime + usage.systemCPUTime) / 1000} ms, peak ${usage.maxRSS} KiB`)
})
child.on('close', (code) => {
  console.log(`close ${code}: ${JSON.stringify(output)}`)
})

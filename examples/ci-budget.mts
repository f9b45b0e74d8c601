// A CI budget in a build script: run a step, fail it when it used more CPU or memory than
// allowed, and say by how much. (`pidfd time --max-cpu 2m --max-rss 512M -- …` does the same
// from the command line.)
//   node --import tsx examples/ci-budget.mts [command args...]

import { spawn } from 'pidfd'

const budget = { cpuMs: 120_000, rssMiB: 512 }
const [file = 'sh', ...args] = process.argv.length > 2 ? process.argv.slice(2) : ['sh', '-c', 'seq 1 300000 | sort -r | md5sum']

const started = performance.now()
const exit = await spawn(file, args, { stdio: 'inherit' }).exited
const wallMs = performance.now() - started
const cpuMs = (exit.rusage.userCPUTime + exit.rusage.systemCPUTime) / 1000
const rssMiB = exit.rusage.maxRSS / 1024

console.log(`step: ${[file, ...args].join(' ')}`)
console.log(`  wall ${wallMs.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms, peak RSS ${rssMiB.toFixed(1)} MiB`)

const breaches = [
  cpuMs > budget.cpuMs && `cpu ${cpuMs.toFixed(0)} ms > ${budget.cpuMs} ms`,
  rssMiB > budget.rssMiB && `peak RSS ${rssMiB.toFixed(1)} MiB > ${budget.rssMiB} MiB`,
].filter(Boolean)

if (exit.code !== 0) {
  console.log(`  failed: ${exit.signal ?? `exit code ${exit.code}`}`)
  process.exitCode = 1
} else if (breaches.length > 0) {
  console.log(`  over budget: ${breaches.join(', ')}`)
  process.exitCode = 1
} else {
  console.log('  within budget')
}

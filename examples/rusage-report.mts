// A resource report: run several commands at once and rank them by CPU and by peak memory,
// each child's own (not its parent's memory at exec, as fork and posix_spawn report it).
//   node --import tsx examples/rusage-report.mts

import { spawn } from 'pidfd'

const commands: Array<[string, string[]]> = [
  ['sh', ['-c', 'seq 1 400000 | sort -r > /dev/null']],
  ['sh', ['-c', 'head -c 20000000 /dev/zero | md5sum > /dev/null']],
  ['sleep', ['0.2']],
  ['true', []],
]

const rows = await Promise.all(
  commands.map(async ([file, args]) => {
    const exit = await spawn(file, args, { stdio: 'ignore' }).exited
    const u = exit.rusage
    return { command: [file, ...args].join(' '), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssKiB: u.maxRSS, code: exit.code }
  }),
)

rows.sort((a, b) => b.cpuMs - a.cpuMs)
console.log('cpu ms'.padStart(8), 'peak KiB'.padStart(9), ' command')
for (const r of rows) console.log(r.cpuMs.toFixed(1).padStart(8), String(r.rssKiB).padStart(9), ` ${r.command}`)
const top = rows.reduce((a, b) => (b.rssKiB > a.rssKiB ? b : a))
console.log(`most memory: ${top.command} (${top.rssKiB} KiB)`)

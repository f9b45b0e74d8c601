// The `pidfd` command: time, wait, info.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { info, INFO_HELP, wait, WAIT_HELP } from './inspect.js'
import { print, toStderr } from './output.js'
import { time, TIME_HELP } from './time.js'
import { EXIT, UsageError } from './usage.js'

const HELP = `Usage: pidfd <command> [options]

Commands:
  time [options] -- command [args...]   run a command, report its exit and resource usage,
                                        enforce budgets (see pidfd time --help)
  wait [options] pid...                 wait until processes are gone, print how they ended
  info [options] pid                    print a process's ids, credentials and cgroup

Options:
  -h, --help       this help
  -v, --version    the version

Examples:
  npx pidfd time -- npm test
  npx pidfd time --format json --max-rss 1G -- node build.js
  npx pidfd wait --timeout 30s 1234
`

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  time: { run: time, help: TIME_HELP },
  wait: { run: wait, help: WAIT_HELP },
  info: { run: info, help: INFO_HELP },
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
  return pkg.version
}

async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    await print(HELP)
    return first === undefined ? EXIT.USAGE : 0
  }
  if (first === '-v' || first === '--version') {
    await print(`${version()}\n`)
    return 0
  }
  const command = commands[first]
  if (!command) throw new UsageError(`unknown command '${first}' (try: time, wait, info)`)
  return command.run(rest)
}

/** Runs the CLI and exits with its status; errors are one line on stderr, never a stack. */
export function main(argv: string[]): void {
  run(argv).then(
    (status) => {
      process.exitCode = status
    },
    (err: unknown) => {
      const e = err as { code?: string; message?: string }
      const usage = err instanceof UsageError || (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'))
      toStderr(`pidfd: ${e.message ?? String(err)}\n`)
      if (usage) toStderr(`Try 'pidfd ${argv[0] && commands[argv[0]] ? `${argv[0]} ` : ''}--help'.\n`)
      process.exitCode = usage ? EXIT.USAGE : 1
    },
  )
}

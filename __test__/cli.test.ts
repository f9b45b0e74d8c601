// The `pidfd` command, run as users run it (node bin/pidfd.js) against real commands.

import test from 'ava'
import { execFile, execFileSync, spawn as cpSpawn } from 'node:child_process'
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { text } from 'node:stream/consumers'

import { features, spawn } from '../index.js'
import { buildFixture, DURATION, figure, killPid, noCoreDump, root, runsIf, shUntil, SIZE, startLeftovers, tempDir, until, within } from './helpers.js'

const bin = join(root, 'bin', 'pidfd.js')

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function cli(args: string[], env: Record<string, string | undefined> = {}, started?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, ...env } }, (err, stdout, stderr) => {
      void err
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr })
    })
    started?.(child.pid!)
  })
}

const tmp = () => tempDir('pidfd-cli-')

const touch = (mib: number) => `const b = Buffer.alloc(${mib} * 1024 * 1024); b.fill(1)`

function noStack(t: import('ava').ExecutionContext, r: Run): void {
  t.notRegex(r.stderr, /^\s+at /m, 'no stack trace')
}

/**
 * Runs the CLI with stdout or stderr a pipe whose reader has gone before anything is written
 * (what `| head -c 1` becomes once head has its byte), and reads the other one.
 */
function cliReaderGone(gone: 'stdout' | 'stderr', args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = cpSpawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GITHUB_STEP_SUMMARY: undefined } })
    child[gone]!.destroy()
    const read = gone === 'stdout' ? 'stderr' : 'stdout'
    let seen = ''
    child[read]!.on('data', (d: Buffer) => (seen += d))
    child.on('close', (code, signal) => resolve({ code, signal, stdout: read === 'stdout' ? seen : '', stderr: read === 'stderr' ? seen : '' }))
  })
}

/** Runs the CLI with one stream on /dev/full (every write fails with ENOSPC), and reads the other. */
function cliToFull(full: 'stdout' | 'stderr', args: string[]): Promise<Run> {
  const fd = openSync('/dev/full', 'w')
  return new Promise((resolve) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', full === 'stdout' ? fd : 'pipe', full === 'stderr' ? fd : 'pipe']
    const child = cpSpawn(process.execPath, [bin, ...args], { stdio, env: { ...process.env, GITHUB_STEP_SUMMARY: undefined } })
    closeSync(fd)
    const read = full === 'stdout' ? child.stderr! : child.stdout!
    let seen = ''
    read.on('data', (d: Buffer) => (seen += d))
    child.on('close', (code, signal) => resolve({ code, signal, stdout: full === 'stdout' ? '' : seen, stderr: full === 'stderr' ? '' : seen }))
  })
}

function noTrace(t: import('ava').ExecutionContext, output: string, what: string): void {
  t.notRegex(output, /Error|EPIPE|^\s+at /m, `nothing like a stack trace on ${what}`)
}

test('exit code passes through; the text report goes to stderr', async (t) => {
  const r = await cli(['time', '--', 'sh', '-c', 'echo out; exit 7'])
  t.is(r.code, 7)
  t.is(r.stdout, 'out\n')
  t.regex(r.stderr, /^pidfd time: sh -c 'echo out; exit 7'\n {2}exited 7 · wall .* · user .* · system .*\n {2}peak RSS .* · page faults .* minor, .* major\n/)
  t.regex(r.stderr, /rusage covers the command and the descendants it waited for/)
})

test('a command killed by a signal: pidfd ends by the same signal (128+n where Node keeps the signal)', async (t) => {
  for (const signal of ['SIGTERM', 'SIGKILL', 'SIGUSR2', 'SIGABRT', 'SIGQUIT'] as const) {
    const r = await cli(['time', '--', 'sh', '-c', `kill -${signal.slice(3)} $$`])
    t.is(r.signal, signal)
    t.regex(r.stderr, new RegExp(`killed by ${signal}`))
  }
  // SIGUSR1 would start Node's inspector instead.
  const usr1 = await cli(['time', '--', 'sh', '-c', 'kill -USR1 $$'])
  t.is(usr1.code, 128 + 10)
  t.notRegex(usr1.stderr, /Debugger/)
})

test('--format json: the library\'s field names, plus wallTimeMs and command', async (t) => {
  const r = await cli(['time', '--format', 'json', '--', 'sh', '-c', 'exit 3'])
  t.is(r.code, 3)
  const report = JSON.parse(r.stderr) as Record<string, unknown> & { rusage: Record<string, number> }
  for (const key of ['status', 'code', 'signal', 'signalNumber', 'coreDumped', 'siginfo', 'rusage', 'wallTimeMs', 'command', 'breaches', 'timedOut']) {
    t.true(key in report, key)
  }
  t.deepEqual(report.command, ['sh', '-c', 'exit 3'])
  t.like(report, { status: 'exited', code: 3, signal: null })
  t.deepEqual(Object.keys(report.rusage).sort(), Object.keys(process.resourceUsage()).sort())
  t.true((report.wallTimeMs as number) > 0)
})

test('--output writes the report to a file; markdown format', async (t) => {
  const out = join(tmp(), 'report.md')
  const r = await cli(['time', '--format', 'markdown', '--output', out, '--', 'true'])
  t.is(r.code, 0)
  t.is(r.stderr, '')
  const md = readFileSync(out, 'utf8')
  t.regex(md, /^### pidfd time: `true`\n\n\| \| \|\n\| --- \| --- \|\n\| exit \| exited 0 \|/)
  t.regex(md, /\| peak RSS \| .* \|/)
})

test('the markdown report, row by row: the runs and their warm-ups, a timed-out exit, a budget breached, the tree, a leftover; backticks in the heading and pipes in a cell kept from breaking the table', async (t) => {
  const dir = tmp()
  const md = async (args: string[], command: string[]) => {
    const out = join(dir, `${Math.random()}.md`)
    const r = await cli(['time', '--format', 'markdown', '--output', out, ...args, '--', ...command])
    return { code: r.code, stderr: r.stderr, md: readFileSync(out, 'utf8') }
  }
  const d = DURATION
  const b = SIZE
  const spread = (f: string) => `${f} / ${f} / ${f}`
  const runs = await md(['--runs', '2', '--warmup', '1', '--cgroup', 'off'], ['true'])
  t.regex(runs.md, new RegExp(`^\\| 2 runs \\(\\+1 warm-up\\): wall min / median / max \\| ${spread(d)} \\|\\n\\| CPU min / median / max \\| ${spread(d)} \\|\\n\\| peak RSS min / median / max \\| ${spread(b)} \\|\\n\\| exit \\| exited 0 \\|\\n`, 'm'))
  const cold = await md(['--runs', '2', '--cgroup', 'off'], ['true'])
  t.regex(cold.md, /^\| 2 runs: wall min \/ median \/ max \| /m)
  const once = await md(['--cgroup', 'off'], ['true'])
  t.notRegex(once.md, /runs|min \/ median/)
  // A plain run's whole report, row by row, and its CPU in ms: the loop is user CPU, dd's
  // copies from /dev/zero (about 50 ms here) system CPU, so neither row can read 0.
  const plain = await md(['--cgroup', 'off'], ['sh', '-c', 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/dev/null bs=64k count=40000 2>/dev/null'])
  const m = new RegExp([
    '^### pidfd time: `sh -c .*`', '', '\\| \\| \\|', '\\| --- \\| --- \\|', '\\| exit \\| exited 0 \\|', `\\| wall time \\| ${d} \\|`,
    `\\| user CPU \\| (${d}) \\|`, `\\| system CPU \\| (${d}) \\|`, `\\| peak RSS \\| ${b} \\|`, '\\| page faults \\| [\\d,]+ minor, [\\d,]+ major \\|',
    '\\| context switches \\| [\\d,]+ voluntary, [\\d,]+ involuntary \\|', '\\| fs reads / writes \\| [\\d,]+ / [\\d,]+ \\(512-byte blocks\\) \\|',
    '\\| cgroup \\| none: --cgroup off \\|', '\\| peak memory measured by \\| .* \\|', '\\| CPU measured by \\| .* \\|', '\\| processes measured by \\| .* \\|',
    '\\| end of the tree known by \\| .* \\|', '', '_rusage covers the command and the descendants it waited for\\._', '$',
  ].join('\\n')).exec(plain.md)
  t.truthy(m, plain.md)
  t.true(figure(m![1]!) > 0 && figure(m![1]!) < 60_000 && figure(m![2]!) > 0 && figure(m![2]!) < 60_000, m![0])

  const timedOut = await md(['--timeout', '300ms', '--cgroup', 'off'], ['sleep', '30'])
  t.is(timedOut.code, 124)
  t.regex(timedOut.md, /^\| exit \| killed by SIGTERM \(timed out\) \|$/m)

  const budget = await md(['--max-rss', '1K', '--cgroup', 'off'], ['true'])
  t.is(budget.code, 123)
  t.regex(budget.md, new RegExp(`^\\| \\*\\*budget max-rss\\*\\* \\| \\*\\*max-rss exceeded: peak RSS ${b} is ${b} over 1 KiB\\*\\* \\|$`, 'm'))

  // An orphan reaped here, and a leftover killed.
  const pidFile = join(dir, 'leftover')
  const tree = await md(['--cgroup', 'off', '--leftovers', 'kill'], ['sh', '-c',
    `(sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done' </dev/null >/dev/null 2>&1 &); ${startLeftovers([pidFile])}`])
  const pid = Number(readFileSync(pidFile, 'utf8'))
  try {
    t.is(tree.code, 0, tree.stderr)
    t.regex(tree.md, new RegExp(`^\\| tree CPU \\(user / system\\) \\| ${d} / ${d} \\|\\n\\| tree: orphans reaped here \\| [12] \\|$`, 'm'))
    t.regex(tree.md, new RegExp(`^\\| \\*\\*leftover\\*\\* \\(killed\\) \\| pid ${pid}, \\S+ old, ${b}: sleep 30 \\|$`, 'm'))
  } finally {
    killPid(pid)
  }

  // A heading in backticks takes none from the command; a cell takes no bare pipe.
  // The leftover stays one shell (blocked opening a FIFO nobody writes), its last argument a|b.
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const odd = await md(['--cgroup', 'off', '--leftovers', 'kill'], ['sh', '-c', `(sh -c 'echo $$ > ${pidFile}2; read x < ${fifo}' 'a|b' </dev/null >/dev/null 2>&1 &); ${shUntil(`[ -s ${pidFile}2 ]`)} # \`x\``])
  killPid(Number(readFileSync(`${pidFile}2`, 'utf8')))
  t.is(odd.code, 0, odd.stderr)
  t.regex(odd.md, /^### pidfd time: `sh -c '.*# 'x''`$/m)
  t.regex(odd.md, /^\| \*\*leftover\*\* \(killed\) \| pid \d+, .*: sh -c .* 'a\\\|b' \|$/m)
})

test("--trace: the command's PIDFD_TRACE is a file in a directory of pidfd's own, gone at the end; its NODE_OPTIONS is the register's --require, a space, then the app's own", async (t) => {
  const r = await cli(['time', '--trace', '--cgroup', 'off', '--', 'sh', '-c', 'echo "$PIDFD_TRACE"; echo "$NODE_OPTIONS"'], { NODE_OPTIONS: '--no-warnings' })
  t.is(r.code, 0, r.stderr)
  const [trace, options] = r.stdout.split('\n')
  t.regex(trace!, new RegExp(`^${tmpdir()}/pidfd-trace-\\w{6}/trace\\.jsonl$`))
  t.false(existsSync(dirname(trace!)), 'the directory is removed')
  t.is(options, `--require=${JSON.stringify(join(root, 'lib', 'register.js'))} --no-warnings`)
})

test('--trace in the text and markdown reports: the children by CPU, by peak RSS and by command, a pipe in a command kept from breaking the table; none traced said so', async (t) => {
  // Three children of the command's Node: one that burns CPU (the top by CPU), one whose command
  // holds a pipe, and one more.
  const script = "const { execFileSync } = require('node:child_process'); execFileSync('sh', ['-c', 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done']); execFileSync('sh', ['-c', 'true|true']); execFileSync('true')"
  const d = DURATION
  const b = SIZE
  const other = '(?:sh -c true\\|true|true)'
  const text = await cli(['time', '--trace', '--cgroup', 'off', '--', process.execPath, '-e', script])
  t.is(text.code, 0, text.stderr)
  t.regex(text.stderr, new RegExp([
    `^ {2}traced 3 children of its Node processes, CPU ${d} in all:`,
    ` {4}top by CPU: sh -c i=0; \\(pid \\d+\\) ${d}( · ${other} \\(pid \\d+\\) ${d}){2}`,
    ` {4}top by peak RSS: (?:sh -c i=0;|${other}) \\(pid \\d+\\) ${b}( · (?:sh -c i=0;|${other}) \\(pid \\d+\\) ${b}){2}`,
    ` {4}by command: (?:sh -c i=0;|${other}) ×1 ${d}, peak ${b}( · (?:sh -c i=0;|${other}) ×1 ${d}, peak ${b}){2}$`,
  ].join('\\n'), 'm'))

  const out = join(tmp(), 'report.md')
  const md = await cli(['time', '--trace', '--cgroup', 'off', '--format', 'markdown', '--output', out, '--', process.execPath, '-e', script])
  t.is(md.code, 0, md.stderr)
  const cmd = '`(?:sh -c i=0;|sh -c true\\\\\\|true|true)`'
  t.regex(readFileSync(out, 'utf8'), new RegExp([
    `^#### Traced: 3 children, CPU ${d} in all`,
    '',
    '\\| command \\| processes \\| CPU \\| peak RSS \\| wall \\(sum\\) \\|',
    '\\| --- \\| ---: \\| ---: \\| ---: \\| ---: \\|',
    ...Array(3).fill(`\\| ${cmd} \\| 1 \\| ${d} \\| ${b} \\| ${d} \\|`),
    '',
    '\\| top by CPU \\| pid \\| CPU \\| \\| top by peak RSS \\| pid \\| peak RSS \\|',
    '\\| --- \\| ---: \\| ---: \\| --- \\| --- \\| ---: \\| ---: \\|',
    `\\| \`sh -c i=0;\` \\| \\d+ \\| ${d} \\| \\| ${cmd} \\| \\d+ \\| ${b} \\|`,
    ...Array(2).fill(`\\| ${cmd} \\| \\d+ \\| ${d} \\| \\| ${cmd} \\| \\d+ \\| ${b} \\|`),
    '$',
  ].join('\\n'), 'm'))
  t.regex(readFileSync(out, 'utf8'), /`sh -c true\\\|true`/)

  const none = await cli(['time', '--trace', '--cgroup', 'off', '--', 'true'])
  t.regex(none.stderr, /\n {2}traced: no child started through child_process by a Node process of the command\n$/)
  const noneMd = join(tmp(), 'none.md')
  await cli(['time', '--trace', '--cgroup', 'off', '--format', 'markdown', '--output', noneMd, '--', 'true'])
  t.regex(readFileSync(noneMd, 'utf8'), /_\n\n_traced: no child started through child_process by a Node process of the command\._\n$/)
  // The JSON report is one line of JSON and a newline, like every other format.
  const json = await cli(['time', '--format', 'json', '--cgroup', 'off', '--', 'true'])
  t.true(json.stderr.endsWith('}\n'), JSON.stringify(json.stderr.slice(-5)))
})

test('GITHUB_STEP_SUMMARY gets a markdown table appended, unless --no-summary', async (t) => {
  const summary = join(tmp(), 'summary.md')
  writeFileSync(summary, '# earlier step\n')
  const first = await cli(['time', '--output', join(tmp(), 'report.txt'), '--', 'true'], { GITHUB_STEP_SUMMARY: summary })
  t.is(first.stderr, '', 'nothing to complain of')
  const after = readFileSync(summary, 'utf8')
  t.true(after.startsWith('# earlier step\n### pidfd time: `true`'))
  t.regex(after, /\| wall time \|/)
  // A blank line ends each step's part, so the next step's markdown starts a block of its own.
  t.true(after.endsWith('_\n\n'), JSON.stringify(after.slice(-20)))
  await cli(['time', '--', 'true'], { GITHUB_STEP_SUMMARY: summary })
  t.is(readFileSync(summary, 'utf8').slice(0, after.length + 25), after + '### pidfd time: `true`\n\n|')
  const twice = readFileSync(summary, 'utf8')
  await cli(['time', '--no-summary', '--', 'true'], { GITHUB_STEP_SUMMARY: summary })
  t.is(readFileSync(summary, 'utf8'), twice)
})

test('--output that cannot be written: one line naming the path; the status stays the command\'s own, or 124, or 123', async (t) => {
  const line = 'pidfd: cannot write the report to /nonexistent-dir/report.json: ENOENT\n'
  const own = await cli(['time', '--output', '/nonexistent-dir/report.json', '--', 'sh', '-c', 'exit 3'])
  t.is(own.code, 3)
  t.is(own.stderr, line)

  const timedOut = await cli(['time', '--timeout', '200ms', '--output', '/nonexistent-dir/report.json', '--', 'sleep', '5'])
  t.is(timedOut.code, 124)
  t.is(timedOut.stderr, line)

  const breached = await cli(['time', '--max-rss', '1K', '--output', '/nonexistent-dir/report.json', '--', 'sh', '-c', 'exit 3'])
  t.is(breached.code, 123)
  t.is(breached.stderr, line)

  // Opens as root and then fails the write (EIO); as anyone else the open fails (EACCES).
  const proc = await cli(['time', '--output', '/proc/version', '--', 'sh', '-c', 'exit 3'])
  t.is(proc.code, 3)
  t.regex(proc.stderr, /^pidfd: cannot write the report to \/proc\/version: E[A-Z]+\n$/)
})

test('$GITHUB_STEP_SUMMARY that cannot be written: one line naming it; the status stays the command\'s own', async (t) => {
  const line = 'pidfd: cannot write the summary to $GITHUB_STEP_SUMMARY (/nonexistent/summary.md): ENOENT\n'
  const report = join(tmp(), 'report.txt')
  const r = await cli(['time', '--output', report, '--', 'true'], { GITHUB_STEP_SUMMARY: '/nonexistent/summary.md' })
  t.is(r.code, 0)
  t.is(r.stderr, line)
  t.regex(readFileSync(report, 'utf8'), /^pidfd time: true\n/, 'the report itself is still written')

  const onStderr = await cli(['time', '--', 'sh', '-c', 'exit 4'], { GITHUB_STEP_SUMMARY: '/nonexistent/summary.md' })
  t.is(onStderr.code, 4)
  t.true(onStderr.stderr.startsWith('pidfd time: '), 'the report first')
  t.true(onStderr.stderr.endsWith(`)\n${line}`), 'then the one line')
})

test("a stderr that takes the one line but not the report (a datagram socket, EMSGSIZE): the line names stderr, and the status stays the command's own", async (t) => {
  // A datagram longer than the socket's send buffer is refused whole; the report carries the
  // command line, made longer than that, and the line saying so is short.
  const script = [
    'import json, socket, subprocess, sys',
    'a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)',
    'a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)',
    'p = subprocess.run(sys.argv[1:], stderr=a, stdin=subprocess.DEVNULL)',
    'a.close()',
    'b.setblocking(False)',
    'got = []',
    'while True:',
    '    try: got.append(b.recv(1 << 20).decode())',
    '    except BlockingIOError: break',
    'print(json.dumps({"code": p.returncode, "datagrams": got}))',
  ].join('\n')
  const out = await new Promise<string>((resolve, reject) => {
    execFile('python3', ['-c', script, process.execPath, bin, 'time', '--', 'sh', '-c', 'exit 3', 'x'.repeat(20_000)], { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined } }, (err, stdout) => (err ? reject(err) : resolve(stdout)))
  })
  t.deepEqual(JSON.parse(out), { code: 3, datagrams: ['pidfd: cannot write the report to stderr: EMSGSIZE\n'] })
})

test('the report to a pipe whose reader has gone: nothing said, no stack trace, and the status stays the command\'s own', async (t) => {
  // --output /dev/stdout into a shell pipe (a real pipe: Node's are socketpairs, which cannot be
  // reopened) whose reader closes it first; the command waits for that, so pidfd writes only
  // after. stderr stays readable, to show that nothing is said.
  const dir = tmp()
  const wait = `until [ -e "$0/closed" ]; do sleep 0.01; done; exit 6`
  const script = `node "$0" time --timeout 10s --output /dev/stdout -- sh -c '${wait}' "$1" | { exec 0<&-; touch "$1/closed"; }; echo "status=\${PIPESTATUS[0]}"`
  const piped = await new Promise<Run>((resolve) => {
    const child = execFile('bash', ['-c', script, bin, dir], { env: { ...process.env, GITHUB_STEP_SUMMARY: undefined } }, (err, stdout, stderr) => {
      void err
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr })
    })
  })
  t.is(piped.stdout, 'status=6\n')
  t.is(piped.stderr, '')

  // With the report on stderr, whatever pidfd says goes to the same dead pipe: the status and
  // stdout are what shows.
  const r = await cliReaderGone('stderr', ['time', '--', 'sh', '-c', 'echo out; exit 5'])
  t.is(r.code, 5)
  t.is(r.stdout, 'out\n')
  noTrace(t, r.stdout, 'stdout')

  const json = await cliReaderGone('stderr', ['time', '--format', 'json', '--timeout', '200ms', '--', 'sleep', '5'])
  t.is(json.code, 124)
  t.is(json.stdout, '')

  // The other messages on stderr keep their statuses too.
  t.is((await cliReaderGone('stderr', ['time', '--', 'pidfd-no-such-command'])).code, 127)
  t.is((await cliReaderGone('stderr', ['time', '--bogus', '--', 'true'])).code, 2)

  // A stderr that fails otherwise (ENOSPC) has nobody to tell either.
  const full = await cliToFull('stderr', ['time', '--', 'sh', '-c', 'echo out; exit 3'])
  t.is(full.code, 3)
  t.is(full.stdout, 'out\n')
})

test('stdout whose reader has gone (pidfd info pid | head -c 1): nothing said, no stack trace, the status unchanged; a stdout that fails otherwise is one line and 1', async (t) => {
  const sub = spawn('sleep', ['60'], { stdio: 'ignore' })
  const ended = spawn('true', [], { stdio: 'ignore' })
  await ended.exited
  const cases: Array<[string[], number]> = [
    [['info', String(sub.pid)], 0],
    [['info', '--format', 'json', String(sub.pid)], 0],
    [['wait', String(ended.pid)], 0],
    [['wait', '--timeout', '100ms', String(sub.pid)], 124],
    [['--help'], 0],
    [['time', '--help'], 0],
    [['--version'], 0],
  ]
  for (const [args, status] of cases) {
    const r = await cliReaderGone('stdout', args)
    t.is(r.code, status, args.join(' '))
    t.is(r.stderr, '', args.join(' '))
  }

  const full = await cliToFull('stdout', ['info', String(sub.pid)])
  t.is(full.code, 1)
  t.is(full.stderr, 'pidfd: cannot write to stdout: ENOSPC\n')
  sub.kill('SIGKILL')
  await sub.exited
})

test('budgets: held, and breached with which, by how much, and exit 123 (which wins over the command\'s own failure)', async (t) => {
  const held = await cli(['time', '--max-rss', '1G', '--max-cpu', '1m', '--', process.execPath, '-e', touch(50)])
  t.is(held.code, 0)
  t.notRegex(held.stderr, /BUDGET/)

  const rss = await cli(['time', '--max-rss', '40M', '--', process.execPath, '-e', touch(80)])
  t.is(rss.code, 123)
  t.regex(rss.stderr, /BUDGET max-rss exceeded: peak RSS [\d.]+ MiB is [\d.]+ MiB over 40 MiB/)

  const cpu = await cli(['time', '--format', 'json', '--max-cpu', '10ms', '--', process.execPath, '-e', 'const s=process.cpuUsage(); while (process.cpuUsage(s).user < 100000);'])
  t.is(cpu.code, 123)
  const report = JSON.parse(cpu.stderr) as { breaches: Array<{ budget: string; limit: number; actual: number }> }
  t.is(report.breaches[0]?.budget, 'max-cpu')
  t.is(report.breaches[0]?.limit, 10)
  t.true(report.breaches[0]!.actual >= 100)

  const both = await cli(['time', '--max-rss', '1K', '--', 'sh', '-c', 'exit 5'])
  t.is(both.code, 123, 'the budget wins over the command\'s exit 5')
  t.regex(both.stderr, /exited 5/)
})

test('--timeout kills the command (then SIGKILL after --kill-after), exits 124, and still reports', async (t) => {
  const r = await cli(['time', '--timeout', '200ms', '--kill-signal', 'INT', '--', 'sleep', '10'])
  t.is(r.code, 124)
  t.regex(r.stderr, /killed by SIGINT after the --timeout/)
  // The trap must be set before the timeout's SIGTERM, and nothing can hold the timer back: 2 s
  // is the bound for a busy machine to start a shell (100 ms was not always).
  const stubborn = await cli(['time', '--timeout', '2s', '--kill-after', '200ms', '--max-rss', '1K', '--', 'sh', '-c', 'trap "" TERM; sleep 10 & wait; sleep 10'])
  t.is(stubborn.code, 124, 'the timeout wins over a breached budget')
  t.regex(stubborn.stderr, /killed by SIGKILL after the --timeout/)
})

test('--timeout 25d (past setTimeout\'s 2^31 - 1 ms) does not fire at once: the command ends by itself', async (t) => {
  // A plain setTimeout of 25 days fires after 1 ms: the command was killed, exit 124.
  const r = await cli(['time', '--format', 'json', '--timeout', '25d', '--', 'sh', '-c', 'sleep 0.3; exit 3'])
  t.is(r.code, 3, r.stderr)
  t.like(JSON.parse(r.stderr), { status: 'exited', code: 3, timedOut: false })
  t.notRegex(r.stderr, /TimeoutOverflowWarning/)
})

test('--kill-after 30d: no SIGKILL right after the timeout\'s SIGTERM; a command that outlives SIGTERM ends by itself', async (t) => {
  // The command goes on only once the SIGTERM has come (its trap ends the wait), then takes
  // 300 ms to exit 7: a SIGKILL overflowed to 1 ms after the SIGTERM would end it first. (The
  // timeout of 2 s: the trap must be set before its SIGTERM, on a busy machine too.)
  const r = await cli(['time', '--format', 'json', '--timeout', '2s', '--kill-after', '30d', '--', 'sh', '-c', 'trap "t=1" TERM; sleep 10 & wait; sleep 0.3; exit 7'])
  t.is(r.code, 124, r.stderr)
  t.like(JSON.parse(r.stderr), { status: 'exited', code: 7, timedOut: true })
})

test('--timeout ends the process group the command runs in: what it started in the background goes too', async (t) => {
  const dir = tempDir('pidfd-cli-group-')
  const pidFile = join(dir, 'sleep.pid')
  // The sleep's output goes elsewhere, so a sleep that survives cannot hold up this run. (2 s:
  // its pid must be written before the timeout, on a busy machine too.)
  const r = await cli(['time', '--timeout', '2s', '--', 'sh', '-c', `sleep 100 >/dev/null 2>&1 & echo $! > ${pidFile}; wait`])
  t.is(r.code, 124)
  const sleeper = Number(readFileSync(pidFile, 'utf8'))
  t.true(sleeper > 0)
  t.teardown(() => {
    try {
      process.kill(sleeper, 'SIGKILL')
    } catch {
      // gone, as it should be
    }
  })
  const alive = () => {
    try {
      const stat = readFileSync(`/proc/${sleeper}/stat`, 'utf8')
      return !/^\S+ \(.*\) Z/.test(stat)
    } catch {
      return false
    }
  }
  // Up to 20 s: ended at the timeout, but a busy machine can take a while to show it.
  for (let i = 0; i < 1000 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.false(alive(), `the background sleep ${sleeper} still runs`)
})

test('with --timeout the command has its own process group, so SIGINT to pidfd (the terminal\'s Ctrl-C) is passed on to that group', async (t) => {
  const child = cpSpawn(process.execPath, [bin, 'time', '--timeout', '20s', '--', 'sh', '-c', 'trap "exit 42" INT; echo ready; sleep 30 >/dev/null 2>&1 & wait'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))
  child.kill('SIGINT')
  // (The background sleep ignores SIGINT, as a non-interactive shell starts it, and so outlives
  // this, away from our pipes; 30 s, so that the shell is still in its wait when the signal
  // comes, however late.)
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.is(code, 42)
})

const started = (child: ReturnType<typeof cpSpawn>) => new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))

/**
 * `signal` sent to pidfd alone while its command waits for a line (not for a moment: a sleep
 * could end first, and the signal then meet pidfd on its way out); then the command is given
 * its line and exits 4. How pidfd ended.
 */
async function signalWhileWaiting(signal: NodeJS.Signals): Promise<[number | null, string | null]> {
  const child = cpSpawn(process.execPath, [bin, 'time', '--', 'sh', '-c', 'echo ready; read line; exit 4'], { stdio: ['pipe', 'pipe', 'pipe'] })
  await started(child)
  child.kill(signal)
  // Queued before the command can end: pidfd takes it on its next way out of the kernel.
  child.stdin!.end('go\n')
  return new Promise((r) => child.on('exit', (c, s) => r([c, s])))
}

test('SIGINT to pidfd alone is ignored while the command runs; SIGTERM is passed on', async (t) => {
  t.deepEqual(await signalWhileWaiting('SIGINT'), [4, null])

  const forwarding = cpSpawn(process.execPath, [bin, 'time', '--', 'sh', '-c', 'echo ready; exec sleep 10'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  forwarding.stderr!.on('data', (d: Buffer) => (stderr += d))
  await started(forwarding)
  forwarding.kill('SIGTERM')
  // 'close', not 'exit': the report on stderr may still be in the pipe when the exit is seen.
  const [, signal] = await new Promise<[number | null, string | null]>((r) => forwarding.on('close', (c, s) => r([c, s])))
  t.is(signal, 'SIGTERM')
  t.regex(stderr, /exec sleep 10'\n {2}killed by SIGTERM/)
})

test('SIGQUIT to pidfd alone is ignored too (a terminal sends it to the command as well): no core dump, the command\'s status', async (t) => {
  t.deepEqual(await signalWhileWaiting('SIGQUIT'), [4, null])
})

test('bad input: one clear line, a hint, exit 2, no stack trace', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['time', '--bogus', '--', 'true'], /Unknown option '--bogus'/],
    [['time', 'true'], /put -- before the command: pidfd time -- true/],
    [['time', 'echo', 'hi'], /put -- before the command: pidfd time -- echo hi\n/],
    [['time'], /no command: pidfd time \[options\] -- command \[args\.\.\.\]\n/],
    [['time', 'extra', '--', 'true'], /unexpected argument 'extra' before --/],
    [['time', '--'], /no command after --/],
    [['time', '--leftovers', 'keep', '--', 'true'], /--leftovers: 'keep' is not one of report, kill, wait/],
    [['time', '--runs', '0', '--', 'true'], /--runs: '0' is not a whole number of at least 1/],
    [['time', '--runs', 'x2', '--', 'true'], /--runs: 'x2' is not a whole number of at least 1/],
    [['time', '--runs', '2x', '--', 'true'], /--runs: '2x' is not a whole number of at least 1/],
    [['time', '--warmup', 'x', '--', 'true'], /--warmup: 'x' is not a whole number of at least 0/],
    [['time', '--kill-signal', 'x9', '--', 'true'], /--kill-signal: 'x9' is not a signal/],
    [['time', '--kill-signal', '9x', '--', 'true'], /--kill-signal: '9x' is not a signal/],
    [['time', '--max-rss', '12X', '--', 'true'], /--max-rss: '12X' is not a size/],
    [['time', '--timeout', 'soon', '--', 'true'], /--timeout: 'soon' is not a duration/],
    // The strict grammar (docs/cli.md; __test__/units.test.ts checks it as a property): no more
    // 1.5.5M read as 1 byte, and nothing past 2^53 - 1 ms.
    [['time', '--max-rss', '1.5.5M', '--', 'true'], /--max-rss: '1.5.5M' is not a size/],
    [['time', '--max-rss', '0M', '--', 'true'], /--max-rss: '0M' is not a size: it must be more than 0/],
    [['time', '--max-cpu', '1e3s', '--', 'true'], /--max-cpu: '1e3s' is not a duration/],
    [['time', '--kill-after', '1.5.5s', '--', 'true'], /--kill-after: '1.5.5s' is not a duration/],
    [['time', '--timeout', '104249992d', '--', 'true'], /--timeout: '104249992d' is too long/],
    [['wait', '--timeout', '10 minutes', '1'], /--timeout: '10 minutes' is not a duration/],
    [['time', '--kill-signal', 'SIGNOPE', '--', 'true'], /--kill-signal: 'SIGNOPE' is not a signal/],
    [['time', '--kill-signal', '40', '--', 'true'], /--kill-signal: '40' is not a signal/],
    [['time', '--format', 'xml', '--', 'true'], /--format: 'xml' is not one of text, json, markdown/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['wait', 'abc'], /'abc' is not a pid/],
    // A pid is digits alone, 1 to 2^31 - 1, as the kernel's.
    [['wait', '1x'], /'1x' is not a pid/],
    [['wait', 'x1'], /'x1' is not a pid/],
    [['info', '1e3'], /'1e3' is not a pid/],
    [['wait', '0'], /'0' is not a pid/],
    [['wait', '2147483648'], /'2147483648' is not a pid/],
    [['info', '99999999999999999999'], /'99999999999999999999' is not a pid/],
    [['wait', '--format', 'xml', '1'], /--format: 'xml' is not one of text, json\n/],
    [['info', '1', '2'], /info takes one pid/],
    [['info'], /no pid given/],
  ]
  for (const [args, message] of cases) {
    const r = await cli(args)
    t.is(r.code, 2, args.join(' '))
    t.regex(r.stderr, new RegExp(`^pidfd: ${message.source}`))
    // The line, then the hint: the command's own help, or the CLI's for a command it does not know.
    const hint = args[0] === 'frobnicate' ? "Try 'pidfd --help'." : `Try 'pidfd ${args[0]} --help'.`
    t.deepEqual(r.stderr.split('\n').slice(1), [hint, ''], args.join(' '))
    noStack(t, r)
  }
})

test('a command that does not exist exits 127, one that cannot be run 126, as shells do', async (t) => {
  const missing = await cli(['time', '--', 'pidfd-no-such-command'])
  t.is(missing.code, 127)
  t.is(missing.stderr, 'pidfd: pidfd-no-such-command: command not found\n')
  const denied = await cli(['time', '--', '/etc/passwd'])
  t.is(denied.code, 126)
  t.is(denied.stderr, 'pidfd: /etc/passwd: cannot run it (EACCES)\n')
})

test('--help for each subcommand, with examples; --version', async (t) => {
  for (const args of [['--help'], ['time', '--help'], ['wait', '--help'], ['info', '--help']]) {
    const r = await cli(args)
    t.is(r.code, 0)
    t.regex(r.stdout, /^Usage: pidfd/)
    t.regex(r.stdout, /Examples:/)
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  t.is((await cli(['--version'])).stdout, `${pkg.version}\n`)
})

test('the help by any of its names (-h, --help, help) exits 0; no command at all prints it and exits 2; -v is --version', async (t) => {
  const help = await cli(['--help'])
  t.regex(help.stdout, /^Usage: pidfd <command>/)
  for (const args of [['-h'], ['help'], ['--help']]) {
    t.deepEqual(await cli(args), { code: 0, signal: null, stdout: help.stdout, stderr: '' }, args.join(' '))
  }
  t.deepEqual(await cli([]), { code: 2, signal: null, stdout: help.stdout, stderr: '' })
  const version = await cli(['--version'])
  t.regex(version.stdout, /^\d+\.\d+\.\d+/)
  t.deepEqual(await cli(['-v']), version)
})

test('pidfd wait: any process, with its status; --timeout exits 124; json', async (t) => {
  // The orphan keeps nothing of sh's open (it lets go of stdout before it opens the FIFO, where
  // it waits for a writer: a builtin would keep a copy, to restore), so its pid arrives at once,
  // not when it exits. It ends when told, by a line on the FIFO, once the CLI holds a pidfd for
  // it: a loaded machine took over 4 s to start the CLI, longer than a fixed lifetime.
  const dir = tmp()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const orphanScript = 'exec >/dev/null 2>&1; exec head -n 1 <"$0"'
  const sub = spawn('sh', ['-c', 'sh -c "$1" "$0" & echo $!', fifo, orphanScript], { stdio: ['ignore', 'pipe', 'ignore'] })
  const orphan = Number(await text(sub.stdout!))
  const r = await waitThen([], [orphan], () => writeFileSync(fifo, 'go\n'))
  t.true(r.opened, 'the CLI opened a pidfd for the orphan')
  t.is(r.code, 0)
  t.regex(r.stdout, new RegExp(`^${orphan}: (exited 0|ended \\(status unknown)`))

  const long = spawn('sleep', ['10'], { stdio: 'ignore' })
  const timed = await cli(['wait', '--timeout', '200ms', '--format', 'json', String(long.pid)])
  t.is(timed.code, 124)
  t.like((JSON.parse(timed.stdout) as unknown[])[0], { pid: long.pid, timedOut: true })
  long.kill('SIGKILL')
  await long.exited
  const gone = await cli(['wait', String(long.pid)])
  t.is(gone.stdout, `${long.pid}: not running\n`)
})

test('pidfd wait --timeout: 25d does not fire at once; a fraction of a millisecond is taken', async (t) => {
  // AbortSignal.timeout, which the wait had, fired after 1 ms past 2^31 - 1 ms and refused
  // fractions and anything past 2^32 - 1 (exit 1). The process ends by itself meanwhile.
  const short = spawn('sleep', ['2'], { stdio: 'ignore' })
  const long = await cli(['wait', '--timeout', '25d', String(short.pid)])
  t.is(long.code, 0, long.stderr)
  t.notRegex(long.stdout, /still running/)
  t.notRegex(long.stderr, /TimeoutOverflowWarning/)

  const sleeper = spawn('sleep', ['10'], { stdio: 'ignore' })
  t.teardown(() => sleeper.kill('SIGKILL'))
  const fraction = await cli(['wait', '--timeout', '1.5ms', String(sleeper.pid)])
  t.is(fraction.code, 124, fraction.stderr)
  t.is(fraction.stdout, `${sleeper.pid}: still running at the timeout\n`)
})

/** The processes that process `pid` holds a pidfd of (each pidfd's `Pid:` in its fdinfo). */
function pidfdsOf(pid: number): Set<number> {
  const held = new Set<number>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:[pidfd]') continue
        const of = /^Pid:\s*(-?\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))
        if (of) held.add(Number(of[1]))
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return held
}

/** `pidfd wait` on `pids`, and once it holds a pidfd of each (not merely some pidfd: features()
 * probes with pidfds of its own process), `then()`: what it printed. */
async function waitThen(args: string[], pids: number[], then: () => void, env: Record<string, string> = {}): Promise<Run & { opened: boolean }> {
  let opened: Promise<boolean> = Promise.resolve(false)
  const run = await cli(['wait', ...args, ...pids.map(String)], env, (cliPid) => {
    opened = until(() => {
      const held = pidfdsOf(cliPid)
      return pids.every((p) => held.has(p))
    }, 20_000).then((ok) => {
      then()
      return ok
    })
  })
  return { ...run, opened: await opened }
}

test('pidfd wait: a line for each pid, as it ended: by a signal\'s name, or its number where Node has no name; the status unknown where PIDFD_INFO_EXIT is not (Linux < 6.15)', async (t) => {
  const term = spawn('sleep', ['30'], { stdio: 'ignore' })
  const rt = spawn('sleep', ['30'], { stdio: 'ignore' })
  const plain = spawn('sleep', ['30'], { stdio: 'ignore' })
  t.teardown(() => [term, rt, plain].forEach((c) => c.kill('SIGKILL')))
  const both = await waitThen(['--timeout', '60s'], [term.pid!, rt.pid!], () => {
    term.kill('SIGTERM')
    process.kill(rt.pid!, 40) // a real-time signal: os.constants.signals has no name for it (and kill() refuses it, as child_process's)
  })
  t.true(both.opened)
  t.is(both.code, 0, both.stderr)
  // Before Linux 6.15 the kernel keeps no status for a process someone else reaped.
  const unknownText = 'ended (status unknown: it needs Linux 6.15)'
  const [byName, byNumber] = features().infoExit ? ['killed by SIGTERM', 'killed by signal 40'] : [unknownText, unknownText]
  t.is(both.stdout, `${term.pid}: ${byName}\n${rt.pid}: ${byNumber}\n`)
  const unknown = await waitThen([], [plain.pid!], () => plain.kill('SIGTERM'), { PIDFD_DISABLE: 'infoExit' })
  t.true(unknown.opened)
  t.is(unknown.code, 0, unknown.stderr)
  t.is(unknown.stdout, `${plain.pid}: ${unknownText}\n`)
})

test('pidfd wait: one pid gone and one that outlives the timeout: a line each, exit 124; json, one document ending its line', async (t) => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
  t.teardown(() => sleeper.kill('SIGKILL'))
  const r = await cli(['wait', '--timeout', '100ms', String(2 ** 31 - 1), String(sleeper.pid)])
  t.is(r.code, 124, r.stderr)
  t.is(r.stdout, `2147483647: not running\n${sleeper.pid}: still running at the timeout\n`)
  const json = await cli(['wait', '--timeout', '100ms', '--format', 'json', String(2 ** 31 - 1), String(sleeper.pid)])
  t.is(json.code, 124, json.stderr)
  const results = [
    { pid: 2 ** 31 - 1, exit: null, timedOut: false },
    { pid: sleeper.pid, exit: null, timedOut: true },
  ]
  t.is(json.stdout, `${JSON.stringify(results, null, 2)}\n`)
})

test('pidfd wait and info on a thread id (not a process): an error, exit 1, not "not running"', async (t) => {
  // The oldest thread but the main one: one Node starts with its process (V8's), which lives as
  // long (a worker thread of another test file could end before the CLI opens it).
  const thread = readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => tid !== process.pid)
    .sort((a, b) => a - b)
    .map(String)[0]
  if (!thread) return t.fail('this Node has no thread but its main one')
  for (const command of ['wait', 'info']) {
    const r = await cli([command, thread])
    t.is(r.code, 1, `${command}: ${r.stdout}${r.stderr}`)
    t.is(r.stdout, '')
    t.regex(r.stderr, /^pidfd: pidfd_open E[A-Z]+\n$/)
  }
})

test('pidfd wait: the pids at the bounds are taken, 1 (running: the timeout) and 2^31 - 1 (no such process)', async (t) => {
  const one = await cli(['wait', '--timeout', '1ms', '1'])
  t.is(one.code, 124, one.stderr)
  t.is(one.stdout, '1: still running at the timeout\n')
  const last = await cli(['wait', String(2 ** 31 - 1)])
  t.is(last.code, 0, last.stderr)
  t.is(last.stdout, '2147483647: not running\n')
})

test('pidfd info: text and json', async (t) => {
  // Killed at the end: it must outlive two starts of the CLI, however slow.
  const sub = spawn('sleep', ['1000'], { stdio: 'ignore' })
  const json = await cli(['info', '--format', 'json', String(sub.pid)])
  t.is(json.code, 0)
  t.like(JSON.parse(json.stdout), { pid: sub.pid, ppid: process.pid, ruid: process.getuid?.() })
  const text = await cli(['info', String(sub.pid)])
  t.regex(text.stdout, new RegExp(`^pid +${sub.pid}$`, 'm'))
  t.regex(text.stdout, new RegExp(`^ppid +${process.pid}$`, 'm'))
  t.regex(text.stdout, /^cgroupId +\d+$/m)
  // Each field a line: its name padded to 9, a space, the value; the JSON's fields in its order,
  // the cgroup id (a 64-bit number) as a decimal string.
  const fields = JSON.parse(json.stdout) as Record<string, unknown>
  t.deepEqual(Object.keys(fields), ['pid', 'tgid', 'ppid', 'ruid', 'rgid', 'euid', 'egid', 'suid', 'sgid', 'fsuid', 'fsgid', 'cgroupId'])
  t.regex(fields.cgroupId as string, /^\d+$/)
  t.is(text.stdout, Object.entries(fields).map(([k, v]) => `${k}${' '.repeat(10 - k.length)}${v}\n`).join(''))
  t.true(json.stdout.endsWith('}\n'))
  sub.kill('SIGKILL')
  await sub.exited
})

interface Spread {
  min: number
  median: number
  max: number
}

test('the text report, line by line: an argument quoted for a shell, the counters line, the runs line by warm-up count, each budget with its excess, a signal Node has no name for', async (t) => {
  const quoted = await cli(['time', '--', 'sh', '-c', 'echo "it\'s"', 'x y'])
  t.is(quoted.code, 0, quoted.stderr)
  t.regex(quoted.stderr, /^pidfd time: sh -c 'echo "it'\\''s"' 'x y'\n/)
  t.regex(quoted.stderr, /^ {2}context switches [\d,]+ voluntary, [\d,]+ involuntary · fs [\d,]+ reads, [\d,]+ writes \(512-byte blocks\)$/m)

  const d = DURATION
  const b = SIZE
  const spread = (f: string) => `${f} / ${f} / ${f}`
  for (const [warmup, words] of [['0', ''], ['1', 'after 1 warm-up '], ['2', 'after 2 warm-ups ']] as const) {
    const r = await cli(['time', '--runs', '2', '--warmup', warmup, '--', 'true'])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stderr, new RegExp(`^ {2}2 runs ${words}\\(min / median / max\\): wall ${spread(d)} · CPU ${spread(d)} · peak RSS ${spread(b)}\\n {2}the last run:$`, 'm'), `--warmup ${warmup}`)
  }

  // Each budget in its own words, and by how much: the excess is the figure less the limit.
  const cpu = await cli(['time', '--max-cpu', '50ms', '--', process.execPath, '-e', 'const s=process.cpuUsage(); while (process.cpuUsage(s).user < 200000);'])
  t.is(cpu.code, 123)
  const c = /^ {2}BUDGET max-cpu exceeded: CPU time (\S+) is (\S+) over 50\.0ms$/m.exec(cpu.stderr)
  t.truthy(c, cpu.stderr)
  t.true(Math.abs(figure(c![1]!) - 50 - figure(c![2]!)) < 15, c![0])
  // The command's own CPU, in ms: the loop's 200 ms of user time, and some system time.
  const own = /^ {2}exited 0 · wall (\S+) · user (\S+) · system (\S+)$/m.exec(cpu.stderr)
  t.truthy(own, cpu.stderr)
  t.true(figure(own![2]!) >= 200 && figure(own![2]!) < 60_000, own![0])
  t.true(figure(own![3]!) < 60_000, own![0])
  const rss = await cli(['time', '--max-rss', '40M', '--', process.execPath, '-e', touch(80)])
  t.is(rss.code, 123)
  const m = /^ {2}BUDGET max-rss exceeded: peak RSS (\S+ \S+) is (\S+ \S+) over 40 MiB$/m.exec(rss.stderr)
  t.truthy(m, rss.stderr)
  t.true(Math.abs(figure(m![1]!) - 40 * 1024 - figure(m![2]!)) < 0.2 * 1024, m![0])

  // SIGRTMIN+3 (37): no Node name, so the number.
  const rt = await cli(['time', '--', 'sh', '-c', 'kill -37 $$'])
  t.regex(rt.stderr, /^ {2}killed by signal 37 · wall /m)
})

runsIf(noCoreDump, 'a core dump in the text report')('the text report of a core-dumped command says so', async (t) => {
  const dir = tmp()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The command raises its soft RLIMIT_CORE and dumps in a directory of its own; pidfd, which
  // then ends itself by the same signal, keeps a soft limit of 0 and dumps nothing.
  const script = `ulimit -S -c 0; cd "$1"; exec "$2" "$3" time -- sh -c 'ulimit -c unlimited && kill -SEGV $$'`
  const r = await new Promise<string>((resolve) => execFile('sh', ['-c', script, 'sh', dir, process.execPath, bin], (_err, _stdout, stderr) => resolve(stderr)))
  t.regex(r, /^ {2}killed by SIGSEGV \(core dumped\) · wall /m)
  t.true(readdirSync(dir).length > 0, 'the command wrote its core')
})

test('--runs N --warmup K: N + K runs, the spread of the N measured, the worst status', async (t) => {
  const dir = tmp()
  const log = join(dir, 'log')
  const out = join(dir, 'report.json')
  // Each run appends a line and allocates more than the one before: the spread must show it.
  const script = `echo x >> ${log}; n=$(wc -l < ${log}); "${process.execPath}" -e "Buffer.alloc($n * 40 * 1024 * 1024, 1)"`
  const r = await cli(['time', '--runs', '3', '--warmup', '1', '--format', 'json', '--output', out, '--', 'sh', '-c', script])
  t.is(r.code, 0, r.stderr)
  t.is(readFileSync(log, 'utf8').split('\n').filter(Boolean).length, 4, 'one warm-up and three measured runs')
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    runs: { count: number; warmup: number; wallTimeMs: Spread; cpuMs: Spread; maxRSSKiB: Spread }
    rusage: { maxRSS: number; userCPUTime: number; systemCPUTime: number }
  }
  t.is(report.runs.count, 3)
  t.is(report.runs.warmup, 1)
  for (const s of [report.runs.wallTimeMs, report.runs.cpuMs, report.runs.maxRSSKiB]) t.true(s.min <= s.median && s.median <= s.max)
  t.true(report.runs.maxRSSKiB.max > report.runs.maxRSSKiB.min, 'later runs used more')
  t.is(report.rusage.maxRSS, report.runs.maxRSSKiB.max, 'the rest of the report is the last run')
  // The last run is one of the three: its CPU (user + system) lies within their spread.
  const lastCpuMs = (report.rusage.userCPUTime + report.rusage.systemCPUTime) / 1000
  t.true(report.runs.cpuMs.min <= lastCpuMs && lastCpuMs <= report.runs.cpuMs.max, `${lastCpuMs} ms in ${JSON.stringify(report.runs.cpuMs)}`)
  // One failing run of three: its status; the text says runs and the last run.
  const failing = await cli(['time', '--runs', '3', '--', 'sh', '-c', `echo x >> ${log}; [ $(wc -l < ${log}) -ne 6 ] || exit 7`])
  t.is(failing.code, 7)
  t.regex(failing.stderr, /^ {2}3 runs \(min \/ median \/ max\): wall .* · CPU .* · peak RSS .*\n {2}the last run:\n/m)
  // Every run killed by a signal: 128 + its number, as a status; pidfd ends by the signal only
  // after a single run (as /usr/bin/time), not after several.
  const signaled = await cli(['time', '--runs', '2', '--', 'sh', '-c', 'kill -TERM $$'])
  t.deepEqual([signaled.code, signaled.signal], [143, null], signaled.stderr)
  const once = await cli(['time', '--', 'sh', '-c', 'kill -TERM $$'])
  t.deepEqual([once.code, once.signal], [null, 'SIGTERM'], once.stderr)
})

test("--runs with --leftovers report: each run's report lists only what it left; the last names what the earlier runs left still running, in text, markdown and JSON", async (t) => {
  const dir = tmp()
  const log = join(dir, 'log')
  // Run n leaves one sleep, its pid in pid<n>.
  const script = `echo x >> ${log}; export n=$(wc -l < ${log}); ${startLeftovers([`${dir}/pid$n`])}`
  const json = join(dir, 'report.json')
  const r = await cli(['time', '--runs', '2', '--warmup', '1', '--format', 'json', '--output', json, '--', 'sh', '-c', script])
  const pids = [1, 2, 3].map((n) => Number(readFileSync(join(dir, `pid${n}`), 'utf8')))
  try {
    t.is(r.code, 0, r.stderr)
    const report = JSON.parse(readFileSync(json, 'utf8')) as { leftovers: Array<{ pid: number }>; earlierLeftovers: number[] }
    t.deepEqual(report.leftovers.map((l) => l.pid), [pids[2]], 'the last run left its own one')
    t.deepEqual(report.earlierLeftovers, pids.slice(0, 2), 'the warm-up and the first run left one each')
  } finally {
    pids.forEach(killPid)
  }
  // The same in the text and markdown reports.
  writeFileSync(log, '')
  const text = await cli(['time', '--runs', '2', '--', 'sh', '-c', script])
  const more = [1, 2].map((n) => Number(readFileSync(join(dir, `pid${n}`), 'utf8')))
  try {
    t.is(text.code, 0, text.stderr)
    t.regex(text.stderr, new RegExp(`^ {2}LEFTOVERS: 1 process left running by the command \\(still running\\):\\n {4}pid ${more[1]}, .*\\n {2}LEFTOVERS of the earlier runs, still running: 1 process, pid ${more[0]}$`, 'm'))
  } finally {
    more.forEach(killPid)
  }
  writeFileSync(log, '')
  const mdOut = join(dir, 'report.md')
  const md = await cli(['time', '--runs', '3', '--format', 'markdown', '--output', mdOut, '--', 'sh', '-c', script])
  const three = [1, 2, 3].map((n) => Number(readFileSync(join(dir, `pid${n}`), 'utf8')))
  try {
    t.is(md.code, 0, md.stderr)
    t.regex(readFileSync(mdOut, 'utf8'), new RegExp(`^\\| \\*\\*leftover\\*\\* \\(still running\\) \\| pid ${three[2]}, .* \\|\\n\\| \\*\\*leftovers of the earlier runs\\*\\* \\(still running\\) \\| 2 processes, pid ${three[0]} ${three[1]} \\|$`, 'm'))
  } finally {
    three.forEach(killPid)
  }
  const none = await cli(['time', '--runs', '2', '--format', 'json', '--', 'true'])
  t.deepEqual((JSON.parse(none.stderr) as { earlierLeftovers: number[] }).earlierLeftovers, [])
  // One run has no earlier runs: no such key.
  const single = await cli(['time', '--format', 'json', '--', 'true'])
  t.false('earlierLeftovers' in (JSON.parse(single.stderr) as object), single.stderr)
})

test('--runs 12: each run lets go of what it held (no listener piles up, no warning), and the report is the only output', async (t) => {
  const r = await cli(['time', '--runs', '12', '--format', 'json', '--', 'true'])
  t.is(r.code, 0, r.stderr)
  t.is((JSON.parse(r.stderr) as { runs: { count: number } }).runs.count, 12)
})

test('--runs 4 (an even count): the median is the mean of the two middle runs', async (t) => {
  const dir = tmp()
  const log = join(dir, 'log')
  const out = join(dir, 'report.json')
  // Run n fills n × 40 MiB: peaks about B + 40, B + 80, B + 120, B + 160 MiB (B: a Node's own),
  // so the median is about B + 100 MiB, halfway between min and max; the lower or upper middle
  // run alone would be 20 MiB off it.
  const script = `echo x >> ${log}; n=$(wc -l < ${log}); "${process.execPath}" -e "Buffer.alloc($n * 40 * 1024 * 1024, 1)"`
  const r = await cli(['time', '--runs', '4', '--format', 'json', '--output', out, '--', 'sh', '-c', script])
  t.is(r.code, 0, r.stderr)
  const { maxRSSKiB: rss, count } = (JSON.parse(readFileSync(out, 'utf8')) as { runs: { count: number; maxRSSKiB: Spread } }).runs
  t.is(count, 4)
  const mib = (kib: number) => (kib / 1024).toFixed(1)
  const what = `min ${mib(rss.min)}, median ${mib(rss.median)}, max ${mib(rss.max)} MiB`
  t.true(rss.max - rss.min > 100 * 1024, what)
  t.true(Math.abs(rss.median - (rss.min + rss.max) / 2) < 8 * 1024, what)
})

test('--runs: the exit status of runs that fail differently is 124 over 123 over 122 over a failing command, whatever their order; of two failing commands, the first', async (t) => {
  // Each case is a list of what run 1, 2, ... does; `log` counts the runs.
  const timeout = 'exec sleep 30'
  const budget = `exec "${process.execPath}" -e 0` // a Node's own RSS is over --max-rss 20M
  const leftover = '(exec sleep 30 </dev/null >/dev/null 2>&1 &); exit 0'
  const cases: Array<[string[], string[], number]> = [
    [['--timeout', '2s', '--max-rss', '20M'], [timeout, budget, 'exit 3'], 124],
    [['--max-rss', '20M', '--fail-on-leftovers', '--leftovers', 'kill'], [leftover, 'exit 3', 'exit 5', budget, 'exit 0'], 123],
    [['--fail-on-leftovers', '--leftovers', 'kill'], ['exit 0', 'exit 3', leftover, 'exit 5'], 122],
    [[], ['exit 0', 'exit 3', 'exit 5', 'exit 0'], 3],
  ]
  for (const [options, runs, status] of cases) {
    const log = join(tmp(), 'log')
    const script = `echo x >> ${log}; case $(wc -l < ${log}) in ${runs.map((run, i) => `${i + 1}) ${run};;`).join(' ')} esac`
    const r = await cli(['time', '--runs', String(runs.length), ...options, '--', 'sh', '-c', script])
    t.is(r.code, status, `${options.join(' ')}: ${runs.join(' | ')}\n${r.stderr}`)
  }
})

test('bare numbers and signal numbers through the CLI: --kill-signal 9, --timeout 1 (seconds), --kill-after 1 (seconds), --max-rss 20000 (KiB), --max-cpu 0.05 (seconds)', async (t) => {
  const report = (r: Run) => JSON.parse(r.stderr) as { timedOut: boolean; signal: string | null; wallTimeMs: number; breaches: Array<{ budget: string; limit: number; actual: number }> }

  const nine = await cli(['time', '--format', 'json', '--timeout', '200ms', '--kill-signal', '9', '--', 'sleep', '10'])
  t.is(nine.code, 124, nine.stderr)
  t.like(report(nine), { timedOut: true, signal: 'SIGKILL' })

  // One second: not 1 ms (killed at once), not a minute (sleep 10 would end by itself).
  const second = await cli(['time', '--format', 'json', '--timeout', '1', '--', 'sleep', '10'])
  t.is(second.code, 124, second.stderr)
  t.true(report(second).wallTimeMs >= 950 && report(second).wallTimeMs < 8000, `wall ${report(second).wallTimeMs} ms`)

  // The command ignores the timeout's SIGTERM: the SIGKILL comes 1 s later, not 1 ms. (A timeout
  // of 2 s: the trap must be set before its SIGTERM, on a busy machine too.)
  const after = await cli(['time', '--format', 'json', '--timeout', '2s', '--kill-after', '1', '--', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done'])
  t.is(after.code, 124, after.stderr)
  t.like(report(after), { signal: 'SIGKILL' })
  t.true(report(after).wallTimeMs >= 2950, `wall ${report(after).wallTimeMs} ms`)

  // KiB: 20000 KiB is breached by a Node filling 60 MiB (as bytes it would be by anything, and
  // as MiB by nothing); 2000000 KiB by nothing.
  const rss = await cli(['time', '--format', 'json', '--max-rss', '20000', '--', process.execPath, '-e', touch(60)])
  t.is(rss.code, 123, rss.stderr)
  t.like(report(rss).breaches[0], { budget: 'max-rss', limit: 20000 })
  t.true(report(rss).breaches[0]!.actual > 60 * 1024)
  const roomy = await cli(['time', '--max-rss', '2000000', '--', 'true'])
  t.is(roomy.code, 0, roomy.stderr)

  const cpu = await cli(['time', '--format', 'json', '--max-cpu', '0.05', '--', process.execPath, '-e', 'const s=process.cpuUsage(); while (process.cpuUsage(s).user < 200000);'])
  t.is(cpu.code, 123, cpu.stderr)
  t.like(report(cpu).breaches[0], { budget: 'max-cpu', limit: 50 })
})

const filler = join(tmp(), 'fill-nonblocking')
const builtFiller = buildFixture('fill-nonblocking', filler)

const waitsForReader = 'a command that leaves stderr non-blocking and its pipe full: the report waits for the reader and arrives whole'
runsIf(builtFiller, waitsForReader)(waitsForReader, async (t) => {
  // stderr is a FIFO nobody reads yet (opened read-write here, so that opening it does not
  // wait): a socket or pipe read by this process would be drained into its buffer meanwhile.
  const fifo = join(tmp(), 'stderr')
  execFileSync('mkfifo', [fifo])
  const stderrFd = openSync(fifo, 'r+')
  const child = cpSpawn(process.execPath, [bin, 'time', '--', filler], { stdio: ['ignore', 'pipe', stderrFd], env: { ...process.env, GITHUB_STEP_SUMMARY: undefined } })
  closeSync(stderrFd)
  let ended = false
  const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])))
  void exited.then(() => (ended = true))
  // The pipe is full once the command says so. It is read only once pidfd has reaped the
  // command and waits for the reader (its main thread in a futex: the pause between tries), or
  // has ended (without the wait).
  const full = String(await within(new Promise((resolve) => child.stdout!.once('data', resolve)), 20_000, 'the command\'s "full"'))
  t.regex(full, /^full \d+\n$/)
  const command = full.split(' ')[1]!.trim()
  const waiting = () => !existsSync(`/proc/${command}`) && /^futex/.test(readFileSync(`/proc/${child.pid}/wchan`, 'utf8'))
  const since = Date.now()
  t.true(await until(() => ended || waiting(), 20_000), 'pidfd neither waited nor ended')
  if (ended) t.fail(`pidfd ended without waiting for the reader: ${JSON.stringify(await exited)} after ${Date.now() - since} ms`)
  // A SIGTERM now (the command is gone) has no command to be passed on to: pidfd finishes the
  // report and exits with the command's status, as without it.
  child.kill('SIGTERM')
  const [stderr, [code, signal]] = await Promise.all([text(createReadStream(fifo)), exited])
  t.deepEqual([code, signal], [0, null])
  // What the command wrote (the pipe's worth, no newline), then the whole report.
  const at = stderr.indexOf('pidfd time: ')
  t.true(at >= 4096 && /^x+$/.test(stderr.slice(0, at)), `the report at ${at}`)
  t.regex(stderr.slice(at), /^pidfd time: \S+fill-nonblocking\n {2}exited 0 [^]*\n {2}\(rusage covers the command and the descendants it waited for\)\n$/)
})

const exitZero = join(tmp(), 'exit-zero')
const builtStatic = buildFixture('exit-zero', exitZero, ['-static'])

// The CPU budget has the same `>` but no test at its edge: CPU time is counted to the
// microsecond, and no run lands on a limit exactly (docs/mutants.md).
const atBudget = '--max-rss is a ceiling the peak may reach: a peak exactly at the budget passes, one KiB over it fails'
runsIf(builtStatic, atBudget)(atBudget, async (t) => {
  const reportOf = (r: Run) => JSON.parse(r.stderr) as { rusage: { maxRSS: number }; breaches: Array<{ budget: string; limit: number; actual: number }> }
  const peak = reportOf(await cli(['time', '--format', 'json', '--', exitZero])).rusage.maxRSS
  // A static program's peak does not move here (15 runs of 15 alike); where it does, the runs
  // that land on it are the ones that count, and each other run is still checked for what it is.
  let landed = 0
  for (let i = 0; i < 10 && landed < 2; i++) {
    const r = await cli(['time', '--format', 'json', '--max-rss', String(peak), '--', exitZero])
    const { rusage, breaches } = reportOf(r)
    const actual = rusage.maxRSS
    if (actual === peak) landed++
    t.is(r.code, actual > peak ? 123 : 0, r.stderr)
    t.is(breaches.length, actual > peak ? 1 : 0, `peak ${actual} KiB under a budget of ${peak} KiB`)
  }
  t.true(landed > 0, `no run of 10 peaked at ${peak} KiB again`)
  const over = await cli(['time', '--format', 'json', '--max-rss', String(peak - 1), '--', exitZero])
  const { rusage, breaches } = reportOf(over)
  const actual = rusage.maxRSS
  t.is(over.code, actual > peak - 1 ? 123 : 0, over.stderr)
  t.deepEqual(breaches, actual > peak - 1 ? [{ budget: 'max-rss', limit: peak - 1, actual }] : [])
})

// Type test, checked by `tsc --noEmit` (npm run typecheck, in CI): pidfd/child_process can stand
// wherever `typeof import('node:child_process')` is expected, and its functions are typed as
// precisely as Node's (the streams follow the stdio option, the output follows the encoding),
// with the package's additions on top. A line that stops compiling fails the check, and so does
// an expected error that stops happening.

import type * as NodeCp from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { promisify } from 'node:util'

import * as cp from '../../lib/child_process.js'
import type * as Pidfd from '../../index.js'
import { fork as pidfdFork, type ResourceUsage, type SpawnedExit, type Subprocess } from '../../index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expect<T extends true>(): T | void {}

// The whole module, and each function, where Node's module is expected.
export const asModule: typeof NodeCp = cp
export const spawn: typeof NodeCp.spawn = cp.spawn
export const exec: typeof NodeCp.exec = cp.exec
export const execFile: typeof NodeCp.execFile = cp.execFile
export const child: NodeCp.ChildProcess = cp.spawn('true')
export const fork: typeof NodeCp.fork = cp.fork
// The package's fork (the same in pidfd/child_process) stands where Node's does, and gives the
// package's Subprocess (its exit with the usage), with Node's ForkOptions.
export const moduleFork: Subprocess = cp.fork('child.js')
export const ourFork: typeof NodeCp.fork = pidfdFork
export const forked: Subprocess = pidfdFork('child.js', ['a'], { serialization: 'advanced', execArgv: [], silent: true })
export const forkedExit: Promise<SpawnedExit> = pidfdFork('child.js', { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] }).exited

export function checks(): void {
  // spawn: the streams follow the stdio option, as Node types them, on a Subprocess.
  const piped = cp.spawn('cat')
  expect<Equal<typeof piped.stdout, Readable>>()
  expect<Equal<typeof piped.stdin, Writable>>()
  const mixed = cp.spawn('cat', ['-'], { stdio: ['ignore', 'pipe', 'inherit'] })
  expect<Equal<typeof mixed.stdin, null>>()
  expect<Equal<typeof mixed.stdout, Readable>>()
  expect<Equal<typeof mixed.stderr, null>>()
  const loose = cp.spawn('cat', { stdio: 'inherit' })
  expect<Equal<typeof loose.stdout, Readable | null>>()
  // …and the package's additions are there on every form.
  expect<Equal<typeof piped.exited, Promise<SpawnedExit>>>()
  expect<Equal<ReturnType<typeof mixed.resourceUsage>, ResourceUsage | null | undefined>>()
  const grouped: Subprocess = cp.spawn('sh', { processGroup: true })
  grouped.killGroup('SIGTERM')
  // @ts-expect-error: a typo in an option is caught, as with Node's types
  cp.spawn('sh', { procesGroup: true })

  // exec and execFile: the output's type follows the encoding; the error carries the usage.
  cp.execFile('ls', ['-l'], (error, stdout) => {
    expect<Equal<typeof stdout, string>>()
    expect<Equal<typeof error extends null ? never : NonNullable<typeof error>['resourceUsage'], ResourceUsage | undefined>>()
  })
  cp.execFile('ls', { encoding: 'buffer' }, (_error, stdout) => {
    expect<Equal<typeof stdout, ReturnType<typeof Buffer.concat>>>()
  })
  cp.exec('ls', (error, stdout) => {
    expect<Equal<typeof stdout, string>>()
    void error?.resourceUsage?.maxRSS
  })
  const ran: Subprocess = cp.execFile('ls')
  void ran.exited

  // The promisified forms: Node's result shape, the package's child.
  const listed = promisify(cp.execFile)('ls', ['-l'])
  expect<Equal<Awaited<typeof listed>, { stdout: string; stderr: string }>>()
  const usage: Promise<SpawnedExit> = listed.child.exited
  void usage
  const shell = promisify(cp.exec)('ls', { encoding: 'buffer' })
  expect<Equal<Awaited<typeof shell>['stdout'], ReturnType<typeof Buffer.concat>>>()
  // @ts-expect-error: the output is a string, not a number
  promisify(cp.exec)('ls').then(({ stdout }) => stdout.toFixed())
}

// Whichever functions serve at run time (the package's, or Node's where it cannot: lib/fallback.ts),
// each name is typed as the package's own function, exactly.
export function sameTypes(): void {
  expect<Equal<typeof cp.spawn, typeof Pidfd.spawn>>()
  expect<Equal<typeof cp.fork, typeof Pidfd.fork>>()
  expect<Equal<typeof cp.exec, typeof Pidfd.exec>>()
  expect<Equal<typeof cp.execFile, typeof Pidfd.execFile>>()
  expect<Equal<typeof cp.spawnSync, typeof Pidfd.spawnSync>>()
  expect<Equal<typeof cp.execSync, typeof Pidfd.execSync>>()
  expect<Equal<typeof cp.execFileSync, typeof Pidfd.execFileSync>>()
  expect<Equal<typeof cp.Subprocess, typeof Pidfd.Subprocess>>()
  expect<Equal<cp.Subprocess, Subprocess>>()
  expect<Equal<typeof cp.ChildProcess, typeof NodeCp.ChildProcess>>()
}

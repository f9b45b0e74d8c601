// Loads the native binding for this machine, or fails with a few lines that say what is
// missing, the likely cause and the fix.
//
// Where it looks: `pidfd.<platform>.node` at the package's root (a build from a clone, by `npm
// run build`), then the platform package `pidfd-<platform>` (an install from the registry),
// where <platform> is linux-<x64|arm64>-<gnu|musl>, the C library being this process's own.

if (process.platform !== 'linux') {
  throw new Error(
    `The pidfd package works only on Linux (it is built on pidfd_open and waitid(P_PIDFD)); this is ${process.platform}.`,
  )
}

import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import type * as Binding from '../binding.js'

/** The targets published as platform packages. */
const published = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'linux-arm64-musl']
const root = join(__dirname, '..')

/** The C library this process runs on, from what it has mapped: musl's loader is its libc
 * (Alpine's /lib/ld-musl-<arch>.so.1, Debian's /usr/lib/<arch>-linux-musl/libc.so). Where its
 * maps cannot be read (Deno allows that only with -A), the system's ldd says, then Node's report.
 * `read` reads a file's text; `glibcRuntime` is the report's glibc version, if any.
 * @internal Exported for its tests, which feed it other systems' files. */
export function libcFrom(read: (path: string) => string, glibcRuntime: () => string | undefined): 'gnu' | 'musl' {
  try {
    const maps = read('/proc/self/maps')
    if (/\/(ld-musl-[^/\n]*|libc\.musl-[^/\n]*|[^/\n]*-linux-musl\/libc\.so)$/m.test(maps)) return 'musl'
    if (/\/libc(\.so\.6|-2\.[0-9]+\.so)$/m.test(maps)) return 'gnu'
  } catch {
    try {
      return read('/usr/bin/ldd').includes('musl') ? 'musl' : 'gnu'
    } catch (err) {
      // Deno's refusal of --allow-read is the user's to hear; a system without ldd asks Node's
      // report, which names glibc's version where Node runs on it.
      if ((err as Error | null)?.name === 'NotCapable') throw err
    }
  }
  return glibcRuntime() ? 'gnu' : 'musl'
}

function libc(): 'gnu' | 'musl' {
  return libcFrom(
    (path) => readFileSync(path, 'latin1'),
    () => (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime,
  )
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'latest'
  }
}

function load(): typeof Binding {
  const platform = `linux-${process.arch}-${libc()}`
  const local = join(root, `pidfd.${platform}.node`)
  if (existsSync(local)) return require(local) as typeof Binding
  if (!published.includes(platform)) {
    throw new Error(
      `pidfd has no binary for ${platform}: it is published for ${published.join(', ')} (glibc 2.17 or later, or musl).`,
    )
  }
  // A clone of the repository builds its own binary.
  if (existsSync(join(root, 'Cargo.toml'))) {
    throw new Error(
      `pidfd: no native build for ${platform} in ${root}.\n` +
        'Fix: npm run build (it needs Rust, from https://rustup.rs, and a C compiler).',
    )
  }
  const name = `pidfd-${platform}`
  let path: string
  try {
    path = require.resolve(name)
  } catch {
    throw new Error(
      `pidfd: the binary for ${platform} is missing: its package ${name} is not installed.\n` +
        'Likely cause: an install with --omit=optional or --no-optional, or a lockfile made on another platform (npm leaves out the optional packages it did not record).\n' +
        `Fix: npm install ${name}@${version()}, or delete node_modules and the lockfile and run npm install again.`,
    )
  }
  try {
    return require(path) as typeof Binding
  } catch (cause) {
    const first = String((cause as Error).message).split('\n')[0]
    throw new Error(`pidfd: ${name} is installed but its binary does not load here: ${first}`, { cause })
  }
}

export const binding = load()
export type NativePidFd = Binding.NativePidFd
export type NativeGuard = Binding.NativeGuard
export type NativeExit = Binding.NativeExit
export type Channel = Binding.Channel
export type NativeInfo = Binding.NativeInfo

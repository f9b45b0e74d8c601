// What the generated-mutant runners share: the root, the cache directory, the time budget.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Results and Stryker's incremental files live here (ignored by git: /.tmp). */
export const cacheDir = join(root, '.tmp', 'mutants')
mkdirSync(cacheDir, { recursive: true })

/** The cargo-mutants these runs use, pinned: its mutants (and their ids) differ between versions. */
export const CARGO_MUTANTS_VERSION = '27.1.0'

/**
 * The path of cargo-mutants (called as `<path> mutants ...`), installed from crates.io where it is
 * missing, beside the release's tools (scripts/release/tools.sh's cache, $PIDFD_RELEASE_CACHE).
 */
export function cargoMutants(): string {
  const installRoot = join(process.env.PIDFD_RELEASE_CACHE ?? '/var/tmp/pidfd-release', `cargo-mutants-${CARGO_MUTANTS_VERSION}`)
  const bin = join(installRoot, 'bin', 'cargo-mutants')
  if (!existsSync(bin)) {
    console.error(`== installing cargo-mutants ${CARGO_MUTANTS_VERSION} in ${installRoot} (a few minutes, once)`)
    const r = spawnSync('cargo', ['install', '--quiet', '--locked', 'cargo-mutants', '--version', CARGO_MUTANTS_VERSION, '--root', installRoot], { stdio: 'inherit' })
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`cargo install cargo-mutants ${CARGO_MUTANTS_VERSION} failed (status ${r.status})`)
  }
  return bin
}

/** The ava test files (`__test__/*.test.ts`), those whose name has one of `filters` where any. */
export function testFiles(filters: string[]): string[] {
  const all = readdirSync(join(root, '__test__'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `__test__/${f}`)
  return filters.length === 0 ? all : all.filter((f) => filters.some((part) => f.includes(part)))
}

/** A deadline from `--budget <minutes>` (default: none). */
export function deadline(minutes: string | undefined): number {
  return minutes === undefined ? Infinity : Date.now() + Number(minutes) * 60_000
}

/**
 * The prefix that runs a mutant's tests in a PID namespace of their own (as root, unshare(1)):
 * a mutant can turn a pid into -1 or 0 (cargo-mutants' `vec![-1]` for src/tree.rs's orphans, a
 * constant of the helper's guard), and kill(-1, SIGKILL) as root ends every process on the
 * machine. Inside, it ends only the run's own; and when the namespace's first process ends, the
 * kernel ends whatever the mutant left behind. That first process is a shell that runs the tests
 * and reaps, as init does, what is orphaned to it (dash waits for any child): with ava as init,
 * an orphan stayed a zombie, and the tests that wait for one to be gone (`pidfd wait`, "a process
 * reparented to init") hung or failed in the unmutated run.
 */
export const ISOLATE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', 'sh', '-c', '"$@"; exit $?', 'sh']

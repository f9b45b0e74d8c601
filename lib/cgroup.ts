// A cgroup v2 of a command's own, where the hierarchy is writable (as root, or a subtree that
// systemd delegated): made beside nothing, under this process's own cgroup, so a child spawned
// into it (`spawn(..., { cgroup })`) and everything that child starts are counted together,
// however they leave the process tree (setsid, double forks). Plain file I/O on cgroupfs: the
// v2 mount from /proc/self/mountinfo (never assumed at /sys/fs/cgroup; looked up natively, as
// info() looks it up), our own cgroup from /proc/self/cgroup. The figures (memory.peak,
// cpu.stat, pids.peak) are read as the kernel keeps them, each with the reason when it cannot be
// had; cgroup.kill ends the whole tree at once; cgroup.events says when it is empty.

import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, accessSync, constants } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'

import { binding, type NativeGuard } from './native.js'
import { signalEach } from './pidfd.js'

/** Where a cgroup of a command's own can be made here, or why not. */
export interface CgroupSupport {
  /** The cgroup v2 mount point this process's cgroup is under (from /proc/self/mountinfo). */
  mount: string | null
  /** This process's own cgroup v2 directory: new cgroups are made inside it. */
  parent: string | null
  /** The controllers a cgroup made there gets (the parent's `cgroup.subtree_control`). */
  controllers: string[]
  /** Why no cgroup can be made here (null: one can). */
  reason: string | null
}

/** CPU time of every process that was in the cgroup, from its `cpu.stat` (microseconds). */
export interface CgroupCpu {
  usageUs: number
  userUs: number
  systemUs: number
}

/** A cgroup's figures; each null where it cannot be had, with the reason in `missing`. */
export interface CgroupStats {
  /** The tree's peak memory together (`memory.peak`, Linux 5.19, the memory controller), KiB. */
  memoryPeakKiB: number | null
  /** `cpu.stat`: present on every cgroup v2, with or without the cpu controller. */
  cpu: CgroupCpu | null
  /** The most processes (and threads) at once (`pids.peak`, Linux 6.1, the pids controller). */
  pidsPeak: number | null
  /** Why a figure is null, by its name. */
  missing: { memoryPeak?: string; cpu?: string; pidsPeak?: string }
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** Whether `rel` (a kernel release, `os.release()`'s form) is at least major.minor. @internal */
export function kernelAtLeast(major: number, minor: number, rel: string = release()): boolean {
  const [a = 0, b = 0] = rel.split('.').map((n) => parseInt(n, 10))
  return a > major || (a === major && b >= minor)
}

/**
 * This process's cgroup v2 directory: its `0::` line of /proc/self/cgroup under the cgroup2
 * mount whose root holds it (a hybrid host mounts v2 beside v1, at /sys/fs/cgroup/unified).
 */
function locate(): { mount: string | null; dir: string | null; reason: string | null } {
  // The mountinfo lookup is the native side's, which info() uses too.
  return locateIn(read('/proc/self/cgroup'), (own) => binding.cgroup2Place(own))
}

/**
 * locate() from /proc/self/cgroup's text (null: unreadable) and the lookup of a cgroup path
 * under the cgroup2 mount. @internal Exported for its tests, which feed it other hosts' files.
 */
export function locateIn(
  procCgroup: string | null,
  place: (own: string) => { mount?: string | null; dir?: string | null },
): { mount: string | null; dir: string | null; reason: string | null } {
  const own = /^0::(.*)$/m.exec(procCgroup ?? '')?.[1]
  if (own === undefined) return { mount: null, dir: null, reason: 'this process is in no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)' }
  const found = place(own)
  const mount = found.mount ?? null
  if (found.dir != null) return { mount, dir: found.dir, reason: null }
  return {
    mount,
    dir: null,
    reason: mount === null ? 'no cgroup v2 hierarchy is mounted (no cgroup2 line in /proc/self/mountinfo)' : `this process's cgroup ${own} is not under the cgroup v2 mount ${mount}`,
  }
}

/** Where a cgroup could be made here, or why not; read anew at each call. */
export function cgroupSupport(): CgroupSupport {
  const { mount, dir, reason } = locate()
  if (dir === null) return { mount, parent: null, controllers: [], reason }
  try {
    accessSync(dir, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { mount, parent: null, controllers: [], reason: `this process's cgroup ${dir} is not writable (${code}): cgroup v2 needs root or a subtree delegated to this user` }
  }
  const controllers = (read(join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/).filter(Boolean)
  return { mount, parent: dir, controllers, reason: null }
}

let made = 0
/** How many taken names create() passes over before it gives up with EEXIST. */
const MAX_NAME_TRIES = 1000

/** Why a file a controller adds is missing: the controller (not available, not enabled), or the kernel. */
function whyMissing(file: string, controller: string, linux: [number, number], parent: string): string {
  const available = (read(join(parent, 'cgroup.controllers')) ?? '').split(/\s+/)
  const enabled = (read(join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/)
  if (!available.includes(controller)) {
    return `no ${file}: the ${controller} controller is not available in ${parent} (not in its cgroup.controllers; a hybrid host keeps it in cgroup v1)`
  }
  if (!enabled.includes(controller)) return `no ${file}: the ${controller} controller is not enabled in ${join(parent, 'cgroup.subtree_control')}`
  if (!kernelAtLeast(...linux)) return `no ${file}: it needs Linux ${linux.join('.')} (this is ${release()})`
  return `no ${file} in the cgroup`
}

/** The pids a cgroup's `cgroup.procs` lists (none where it cannot be read). */
function procsOf(dir: string): number[] {
  return (read(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number)
}

/** `dir` and every cgroup below it, parents before their children. */
function subtree(dir: string): string[] {
  const dirs = [dir]
  for (let i = 0; i < dirs.length; i++) {
    try {
      for (const e of readdirSync(dirs[i]!, { withFileTypes: true })) if (e.isDirectory()) dirs.push(join(dirs[i]!, e.name))
    } catch {
      // gone meanwhile, or not readable: rmdir says so
    }
  }
  return dirs
}

/**
 * A cgroup v2 directory of a command's own: `Cgroup.create()` makes it inside this process's
 * cgroup; spawn a child into it with `spawn(file, args, { cgroup })`. Read its figures with
 * `stats()` (they last after its processes are gone), end everything in it with `kill()`, and
 * `remove()` it once `populated()` is false.
 */
export class Cgroup {
  /** Its directory. */
  readonly path: string
  /** The cgroup it was made in (this process's own). */
  readonly parent: string

  /** With `guard`: what ends it if this process dies first; released by remove(). */
  #guard: NativeGuard | null = null

  private constructor(path: string, parent: string) {
    this.path = path
    this.parent = parent
  }

  /**
   * Makes a new cgroup inside this process's own (`pidfd-<pid>-<n>`, the next `n` free). Throws (ENOENT with the
   * reason, or the mkdir's error: EACCES, EROFS) where none can be made.
   *
   * `guard: true`: if this process dies before `remove()` (SIGKILL, a crash, the OOM killer), a
   * small guard process that outlives it kills everything in the cgroup and removes it. Where
   * the guard cannot start (the spawn helper's program cannot run here), `guarded` is false.
   */
  static create(options: { guard?: boolean } = {}): Cgroup {
    const support = cgroupSupport()
    if (support.parent === null) {
      throw Object.assign(new Error(`cannot make a cgroup: ${support.reason}`), { code: 'ENOENT' })
    }
    // The name may already be taken: a run that died with the same pid left it behind (pids are
    // small and repeat in containers and PID namespaces). The next number is tried then.
    let path = ''
    for (let tries = 0; ; tries++) {
      path = join(support.parent, `pidfd-${process.pid}-${++made}`)
      try {
        mkdirSync(path)
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries === MAX_NAME_TRIES) throw e
      }
    }
    const cgroup = new Cgroup(path, support.parent)
    if (options.guard) {
      try {
        cgroup.#guard = binding.guardCgroup(path)
      } catch {
        // unguarded, as `guarded` says
      }
    }
    return cgroup
  }

  /** Whether a guard ends and removes it if this process dies before remove(). */
  get guarded(): boolean {
    return this.#guard !== null
  }

  /** The processes in it now (`cgroup.procs`). */
  pids(): number[] {
    return procsOf(this.path)
  }

  /** Whether any process is in it (`cgroup.events`' populated; `cgroup.procs` where there is no such file). */
  populated(): boolean {
    const events = read(join(this.path, 'cgroup.events'))
    if (events === null) return this.pids().length > 0
    return /^populated 1$/m.test(events)
  }

  /** Sends `signal` to every process in it, each through a pidfd; returns how many it reached. */
  signal(signal: NodeJS.Signals | number): number {
    return signalEach(this.pids(), signal)
  }

  /**
   * SIGKILL to everything in it at once, a process forking meanwhile included: `cgroup.kill`
   * (Linux 5.14). Returns how: 'cgroup.kill', or 'signals' (SIGKILL to each process it
   * holds, where the file is missing).
   */
  kill(): 'cgroup.kill' | 'signals' {
    try {
      writeFileSync(join(this.path, 'cgroup.kill'), '1')
      return 'cgroup.kill'
    } catch {
      this.signal('SIGKILL')
      return 'signals'
    }
  }

  /** Waits until it is empty, up to `timeoutMs`; whether it is. */
  async waitEmpty(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs
    while (this.populated()) {
      if (Date.now() >= end) return false
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return true
  }

  /** Its figures now; they last after its processes are gone, until it is removed. */
  stats(): CgroupStats {
    const missing: CgroupStats['missing'] = {}
    const peak = read(join(this.path, 'memory.peak'))
    const memoryPeakKiB = peak === null ? null : Math.round(Number(peak.trim()) / 1024)
    if (peak === null) missing.memoryPeak = whyMissing('memory.peak', 'memory', [5, 19], this.parent)
    const cpuStat = read(join(this.path, 'cpu.stat'))
    const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(cpuStat ?? '')?.[1] ?? NaN)
    let cpu: CgroupCpu | null = null
    if (cpuStat === null) missing.cpu = 'no cpu.stat in the cgroup'
    else cpu = { usageUs: field('usage_usec'), userUs: field('user_usec'), systemUs: field('system_usec') }
    const pids = read(join(this.path, 'pids.peak'))
    const pidsPeak = pids === null ? null : Number(pids.trim())
    if (pids === null) missing.pidsPeak = whyMissing('pids.peak', 'pids', [6, 1], this.parent)
    return { memoryPeakKiB, cpu, pidsPeak, missing }
  }

  /**
   * Moves every process still in it, or in a cgroup the command made inside it, to `to`
   * (default: the cgroup it was made in), so it can be removed while they run on; returns the
   * pids moved. A process forking meanwhile is moved too (it is read again until empty, a
   * bounded number of times).
   */
  moveOut(to: string = this.parent): number[] {
    const moved: number[] = []
    for (let round = 0; round < 50; round++) {
      const pids = subtree(this.path).flatMap((dir) => procsOf(dir))
      if (pids.length === 0) break
      for (const pid of pids) {
        try {
          writeFileSync(join(to, 'cgroup.procs'), String(pid))
          if (!moved.includes(pid)) moved.push(pid)
        } catch {
          // gone meanwhile
        }
      }
    }
    return moved
  }

  /**
   * Removes it (rmdir), and first the cgroups made inside it (deepest first: a command that
   * made its own would otherwise keep it); false while processes are in any (EBUSY) or it is
   * gone already.
   */
  remove(): boolean {
    try {
      for (const dir of subtree(this.path).reverse()) rmdirSync(dir)
    } catch {
      return false
    }
    this.#guard?.release()
    this.#guard = null
    return true
  }
}

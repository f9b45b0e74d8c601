// The package's own child_process functions, as pidfd/child_process exports them where the
// package can serve (lib/serving.ts says where): every child reports its resource usage and its
// own maxRSS. Importing this loads the native binding.

// First: under Deno, a load refused a permission says which (load.ts).
import './load.js'
import * as node from 'node:child_process'

export { spawn, Subprocess } from './subprocess.js'
export { fork } from './fork.js'
export { exec, execFile } from './exec.js'
export { spawnSync, execSync, execFileSync } from './sync.js'

/** Node's class: a `Subprocess` is `instanceof ChildProcess` too. */
export const ChildProcess = node.ChildProcess
/** @internal Node's own: what the child side of an IPC channel runs at its start (not the package's to serve). */
export const _forkChild = (node as unknown as { _forkChild: unknown })._forkChild

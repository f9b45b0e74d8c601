// pidfd/child_process: the whole of node:child_process, with this package's functions where it
// has them, so switching a module is one line:
//   import * as cp from 'pidfd/child_process'     (ESM)
//   const cp = require('pidfd/child_process')     (CommonJS)
// Every child it starts reports its resource usage and its own maxRSS.

// First: under Deno, a load refused a permission says which (load.ts).
import './load.js'
import * as node from 'node:child_process'

export { spawn, Subprocess } from './subprocess.js'
export { fork } from './fork.js'
export { exec, execFile } from './exec.js'
export { spawnSync, execSync, execFileSync } from './sync.js'

/** Node's class: a `Subprocess` is `instanceof ChildProcess` too. */
export const ChildProcess = node.ChildProcess

// pidfd/child_process: the whole of node:child_process, with this package's functions where it
// has them, so switching a module is one line:
//   import * as cp from 'pidfd/child_process'     (ESM)
//   const cp = require('pidfd/child_process')     (CommonJS)
// Every child it starts reports its resource usage and its own maxRSS.

import * as node from 'node:child_process'

export { spawn, Subprocess } from './subprocess.js'
export { exec, execFile } from './exec.js'
export { spawnSync, execSync, execFileSync } from './sync.js'

/** Node's class: a `Subprocess` is `instanceof ChildProcess` too. */
export const ChildProcess = node.ChildProcess
/**
 * Node's own for now. The package's `fork` (`import { fork } from 'pidfd'`) does not yet receive
 * handles from the child, nor track a server's sockets sent to it as Node does; until it does,
 * the module that stands for child_process keeps Node's.
 */
export const fork = node.fork

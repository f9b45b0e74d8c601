// pidfd/child_process: the whole of node:child_process, with this package's functions where it
// has them, so switching a module is one line:
//   import * as cp from 'pidfd/child_process'     (ESM)
//   const cp = require('pidfd/child_process')     (CommonJS)
// Every child it starts reports its resource usage and its own maxRSS. Where the package cannot
// serve (not Linux, no binary for this machine, Linux older than 5.4: lib/serving.ts), these are
// Node's own functions, whose children report a usage of null (lib/fallback.ts).

import type * as Served from './served.js'
import { served } from './serving.js'

const chosen = served() ?? (require('./fallback.js') as typeof Served)

// One assignment per name: Node's cjs-module-lexer reads the names from them, so that ESM's
// `import { spawn } from 'pidfd/child_process'` works whichever functions serve.
export const spawn = chosen.spawn
export const Subprocess = chosen.Subprocess
export type Subprocess = Served.Subprocess
export const fork = chosen.fork
export const exec = chosen.exec
export const execFile = chosen.execFile
export const spawnSync = chosen.spawnSync
export const execSync = chosen.execSync
export const execFileSync = chosen.execFileSync
/** Node's class: a `Subprocess` is `instanceof ChildProcess` too. */
export const ChildProcess = chosen.ChildProcess
/** @internal Node's own, as node:child_process exports it. */
export const _forkChild = chosen._forkChild

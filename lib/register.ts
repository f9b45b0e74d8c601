// pidfd/register: one flag swaps child_process for the whole app.
//   node --import pidfd/register app.js        (or -r pidfd/register, or either in NODE_OPTIONS,
//                                                 so that Node children inherit it)
// `node:child_process` and `child_process`, from ESM and CommonJS, then give this package's
// functions: every child an app starts reports its usage and its own maxRSS (and, with
// PIDFD_TRACE=FILE, leaves a line there at its exit). A call the package cannot serve goes to
// Node's own function unchanged. Nothing is printed, and nothing is loaded until a first call.

import childProcess = require('node:child_process')
import { syncBuiltinESMExports } from 'node:module'
import { promisify } from 'node:util'

import type * as Serving from './serving.js'

type Fn = (...args: unknown[]) => unknown
type Module = Record<string, Fn>

// The module object itself (an `import * as` would be a copy): what every require and, after
// syncBuiltinESMExports, every import of it sees.
const cp = childProcess as unknown as Module
/** Node's own functions, as they were before this module replaced them. */
const node: Module = { ...cp }

let ours: Module | null | undefined
/** The package's functions, loaded at the first call; null where it cannot serve them (serving.ts). */
function load(): Module | null {
  if (ours !== undefined) return ours
  try {
    ours = (require('./serving.js') as typeof Serving).served() as unknown as Module | null
  } catch {
    // Under Deno, a permission refused: child_process as it is, as everywhere the package cannot load.
    ours = null
  }
  return ours
}

/** Every function the package has; a kernel it cannot serve (load() null) keeps Node's. */
const served = ['spawn', 'fork', 'exec', 'execFile', 'spawnSync', 'execSync', 'execFileSync']

for (const name of served) {
  const own = node[name]!
  const replacement = {
    [name](this: unknown, ...args: unknown[]): unknown {
      return Reflect.apply(load()?.[name] ?? own, this, args)
    },
  }[name]!
  // exec and execFile: util.promisify gives their { stdout, stderr } form, from whichever serves.
  const custom = (own as unknown as Record<symbol, Fn | undefined>)[promisify.custom]
  if (custom) {
    Object.defineProperty(replacement, promisify.custom, {
      enumerable: false,
      value: {
        [name](this: unknown, ...args: unknown[]): unknown {
          const pidfd = load()
          const theirs = pidfd ? (pidfd[name] as unknown as Record<symbol, Fn>)[promisify.custom] : undefined
          return Reflect.apply(theirs ?? custom, this, args)
        },
      }[name],
    })
  }
  Object.defineProperty(replacement, 'length', { value: own.length })
  cp[name] = replacement
}

// ESM's named exports of node:child_process follow the module object.
syncBuiltinESMExports()

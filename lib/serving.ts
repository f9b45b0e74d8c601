// Where the package serves child_process: on Linux, with a binary for this machine that loads,
// and a kernel with pidfd_open and waitid(P_PIDFD) (5.4). Elsewhere (macOS, Windows, FreeBSD, an
// older kernel, an install without its platform package) pidfd/child_process and pidfd/register
// give Node's own functions, so that a library can depend on the package on every platform.

import type * as Served from './served.js'

/** Deno's refusal of a permission, as load.js words it: the user's to hear, not a platform's limit. */
function refusedByDeno(err: unknown): boolean {
  return process.versions.deno !== undefined && /\bDeno's --allow-[a-z-]+ permission\b/.test(String((err as Error | null)?.message))
}

/**
 * The package's child_process functions where it can serve them here; null where it cannot.
 * Loads the native binding on Linux (to ask the kernel), and the package's functions only where
 * they serve. Deno's refusal of a permission is thrown, as loading the package throws it.
 */
export function served(): typeof Served | null {
  if (process.platform !== 'linux') return null
  let supported: boolean
  try {
    require('./load.js')
    supported = (require('./native.js') as typeof import('./native.js')).binding.isSupported()
  } catch (err) {
    if (refusedByDeno(err)) throw err
    // No binary for this machine, or one that does not load here.
    return null
  }
  return supported ? (require('./served.js') as typeof Served) : null
}

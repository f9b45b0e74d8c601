// Loads the native binding (native.js) before the rest of the package does, so that where Deno
// refused the load a permission, the error says which. Without the permission, Deno answers the
// loader's look for the C library (/usr/bin/ldd: --allow-read, else a process report:
// --allow-sys) or its dlopen of the binary (--allow-ffi) with a NotCapable error, or an Error with
// the same sentence, which may sit among the causes of the loader's own error. The entry points
// (index.js, child_process.js) import this first. Under Node, and for any other failure, the
// error is the one native.js threw, unchanged.

/** Deno's refusal in the chain of causes of `err`: its sentence and the flag it names, if any.
 * @internal exported for its test (loader.test.ts). */
export function refusal(err: unknown): { sentence: string; flag: string } | null {
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0) {
    const e = queue.shift()
    if (e === null || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const { message, cause, errors } = e as { message?: unknown; cause?: unknown; errors?: unknown }
    if (typeof message === 'string') {
      const flag = /run again with the (--allow-[a-z-]+) flag/.exec(message)?.[1]
      if (flag !== undefined) return { sentence: message, flag }
    }
    queue.push(cause)
    // The loader's errors for each candidate binary, where they come as a list.
    if (Array.isArray(errors)) queue.push(...errors)
  }
  return null
}

try {
  require('./native.js')
} catch (err) {
  const refused = process.versions.deno === undefined ? null : refusal(err)
  if (refused === null) throw err
  throw new Error(
    `The pidfd package cannot load without Deno's ${refused.flag} permission (${refused.sentence}). ` +
      'It needs --allow-ffi and --allow-read to load, and --allow-env to spawn (the environment a child gets), or -A.',
    { cause: err },
  )
}

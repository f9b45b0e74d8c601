// Where the CLI writes, and what happens when it cannot. A reader that has gone away (EPIPE:
// `| head -c 100` has had its bytes) is nobody's failure: nothing is said, and the exit status
// stays what it would have been. Any other failure is one line on stderr, never a stack trace.

import { writeSync } from 'node:fs'

export function isBrokenPipe(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EPIPE'
}

/** The errno name (ENOENT) where there is one: the path is already in the caller's line. */
export function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string') return e.code
  return typeof e?.message === 'string' ? e.message : String(err)
}

/** How long a write waits on a reader that takes nothing (then it fails with EAGAIN). */
const STALLED_MS = 10_000

/**
 * Writes all of `text` before returning. The command may have left the descriptor's file
 * description (shared with pidfd) non-blocking: a pipe whose reader is behind then takes part of
 * the text, or none (EAGAIN). The rest waits for the reader, in pauses of up to 50 ms (Node has
 * no synchronous poll), and gives up after `stalledMs` in which the reader took nothing (0: at
 * the first EAGAIN).
 */
export function writeAllSync(fd: number, text: string, stalledMs = STALLED_MS): void {
  const bytes = Buffer.from(text)
  const pause = new Int32Array(new SharedArrayBuffer(4))
  let stalled = 0
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done)
      stalled = 0
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== 'EAGAIN' || stalled >= stalledMs) throw err
      const ms = Math.min(50, 1 + stalled)
      Atomics.wait(pause, 0, 0, ms)
      stalled += ms
    }
  }
}

/**
 * Writes to stderr before returning (pidfd may kill itself with a signal next) and never throws:
 * when stderr itself cannot be written there is nobody left to tell. writeSync on fd 2, not
 * process.stderr: opening that stream makes a pipe non-blocking, for the command sharing it too.
 */
export function toStderr(text: string): void {
  try {
    writeAllSync(2, text)
  } catch {
    // stderr is gone or full; the exit status still says how things ended
  }
}

let stdoutGuarded = false

/**
 * Writes to stdout and resolves once the text is out, or quietly when the reader has gone;
 * rejects on any other failure (ENOSPC) with the message main() prints as its one line.
 */
export function print(text: string): Promise<void> {
  if (!stdoutGuarded) {
    // The failure reaches the write's callback below; Node also emits it as an 'error' event,
    // which without a listener is an uncaught exception and a stack trace.
    process.stdout.on('error', () => {})
    stdoutGuarded = true
  }
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err && !isBrokenPipe(err) ? reject(new Error(`cannot write to stdout: ${reason(err)}`)) : resolve()))
  })
}

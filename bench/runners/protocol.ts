// What every JavaScript runner shares (Node's and Bun's): the runner protocol of bench/floor.c.
// Only node: modules, so both runtimes load it.

import { readFileSync } from 'node:fs'

/** A field of /proc/self/status, as a number (VmRSS in KiB, Threads). */
export function status(key: string): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(key))
  return Number(line?.slice(key.length).trim().split(/\s+/)[0] ?? -1)
}

/** `cycles` mode: 5 warm-up cycles, then `n` timed ones. */
export async function cycles(
  n: number,
  one: () => Promise<{ cycle: number; latency: number }>,
): Promise<{ cycleNs: number[]; latencyNs: number[] }> {
  for (let i = 0; i < 5; i++) await one()
  const cycleNs: number[] = []
  const latencyNs: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await one()
    cycleNs.push(r.cycle)
    latencyNs.push(r.latency)
  }
  return { cycleNs, latencyNs }
}

/** Runs `main` and prints its result as one JSON object on stdout; an error goes to stderr. */
export function report(main: () => Promise<unknown>): void {
  main().then(
    (result) => {
      process.stdout.write(JSON.stringify(result) + '\n')
      process.exit(0)
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    },
  )
}

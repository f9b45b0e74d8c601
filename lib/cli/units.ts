// Sizes and durations on the command line, read by a strict grammar (docs/cli.md, "Sizes and
// durations"), and humanised in reports (with `pretty-bytes` and `pretty-ms`).
//
// The grammar is small on purpose: what it refuses is a usage error (exit 2), and what it takes
// means what it says. The `bytes` and `ms` packages it replaces took `1.5.5M` as 1 byte (the
// check before them let any run of digits and dots through, and `bytes` fell back to parseInt),
// and durations like `.5s`, `1 s`, `10 minutes`, `1w`, `1y` that the documentation never promised.

import { UsageError } from './usage.js'

/** The largest amount either kind takes, in its base unit (bytes, milliseconds): 2^53 − 1. */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER

// A number is ASCII digits, then optionally a dot and more digits: no sign, no exponent, no
// leading or trailing dot, no space between it and its unit. Units in any case.
const NUMBER = '([0-9]+(?:\\.[0-9]+)?)'
/** K, M, G, T (KiB … TiB), each optionally followed by i, iB or B; none: KiB. */
const SIZE = new RegExp(`^${NUMBER}(?:([kmgt])(?:ib?|b)?)?$`, 'i')
/** ms, s, m, h, d; none: seconds. */
const DURATION = new RegExp(`^${NUMBER}(ms|s|m|h|d)?$`, 'i')

const KIB_PER: Record<string, number> = { k: 1, m: 1024, g: 1024 ** 2, t: 1024 ** 3 }
const MS_PER: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * "512M" → KiB. K, M, G and T are KiB, MiB, GiB and TiB (with or without i, iB, B, any case); a
 * bare number is KiB. More than 0, at most 2^53 − 1 bytes.
 */
export function parseSizeKiB(option: string, text: string): number {
  const match = SIZE.exec(text.trim())
  if (!match) {
    throw new UsageError(`${option}: '${text}' is not a size (digits, optionally .digits, then K, M, G or T for KiB, MiB, GiB, TiB: 512M, 1.5G, 100K)`)
  }
  // Powers of two: the product is exact, so the bounds below are the number's own.
  const value = Number(match[1]) * KIB_PER[(match[2] ?? 'k').toLowerCase()]!
  if (!(value > 0)) throw new UsageError(`${option}: '${text}' is not a size: it must be more than 0`)
  if (value * 1024 > MAX_AMOUNT) throw new UsageError(`${option}: '${text}' is too large: at most 2^53 - 1 bytes (about 8 PiB)`)
  return value
}

/**
 * "30s", "10m", "1.5h", "250ms", "25d" → milliseconds (ms, s, m, h, d, any case); a bare number
 * is seconds. More than 0, at most 2^53 − 1 ms (the timers re-arm past Node's 24.8 days: see
 * timer.ts).
 */
export function parseDurationMs(option: string, text: string): number {
  const match = DURATION.exec(text.trim())
  if (!match) {
    throw new UsageError(`${option}: '${text}' is not a duration (digits, optionally .digits, then ms, s, m, h or d; a bare number is seconds: 250ms, 30s, 1.5h, 25d)`)
  }
  const value = Number(match[1]) * MS_PER[(match[2] ?? 's').toLowerCase()]!
  if (!(value > 0)) throw new UsageError(`${option}: '${text}' is not a duration: it must be more than 0`)
  if (value > MAX_AMOUNT) throw new UsageError(`${option}: '${text}' is too long: at most 2^53 - 1 ms (about 104 million days)`)
  return value
}

type PrettyBytes = (n: number, options?: { binary?: boolean; maximumFractionDigits?: number }) => string
type PrettyMs = (n: number, options?: { secondsDecimalDigits?: number; millisecondsDecimalDigits?: number }) => string
let prettyBytes: PrettyBytes
let prettyMs: PrettyMs

/** The humanisers are ES modules: loaded once, before any report is written. */
export async function loadHumanisers(): Promise<void> {
  prettyBytes ??= (await import('pretty-bytes')).default as PrettyBytes
  prettyMs ??= (await import('pretty-ms')).default as PrettyMs
}

export function kib(value: number): string {
  return prettyBytes(value * 1024, { binary: true, maximumFractionDigits: 1 })
}

export function millis(value: number): string {
  if (value === 0) return '0ms'
  // Under 1 ms in whole µs, unless it rounds to 1000 of them (0.9996 ms reads as 1.0ms).
  const micros = Math.round(value * 1000)
  return micros < 1000 ? `${micros}µs` : prettyMs(value, { secondsDecimalDigits: 2, millisecondsDecimalDigits: 1 })
}

export function count(value: number): string {
  return value.toLocaleString('en-US')
}

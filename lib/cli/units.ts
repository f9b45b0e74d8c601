// Sizes and durations on the command line (parsed with `bytes` and `ms`), and humanised in
// reports (with `pretty-bytes` and `pretty-ms`).

import bytes from 'bytes'
import ms from 'ms'

import { UsageError } from './usage.js'

/** "512M" → KiB. K, M, G and T are KiB, MiB, GiB and TiB; a bare number is KiB. */
export function parseSizeKiB(option: string, text: string): number {
  const trimmed = text.trim()
  const withUnit = /^\d+(\.\d+)?$/.test(trimmed) ? `${trimmed}kb` : trimmed.replace(/^(.*\d)\s*([kmgt])(i?b)?$/i, '$1$2b')
  const parsed = bytes.parse(withUnit)
  if (parsed === null || !Number.isFinite(parsed) || parsed <= 0 || !/^[\d.]+\s*[kmgt]b$/i.test(withUnit)) {
    throw new UsageError(`${option}: '${text}' is not a size (examples: 512M, 2G, 100K; K/M/G are KiB/MiB/GiB)`)
  }
  return parsed / 1024
}

/** "30s", "10m", "1.5h", "250ms" → milliseconds; a bare number is seconds. */
export function parseDurationMs(option: string, text: string): number {
  const trimmed = text.trim()
  const value = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : ms(trimmed as ms.StringValue)
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${option}: '${text}' is not a duration (examples: 30s, 10m, 1h, 250ms)`)
  }
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
  return value < 1 ? `${Math.round(value * 1000)}µs` : prettyMs(value, { secondsDecimalDigits: 2, millisecondsDecimalDigits: 1 })
}

export function count(value: number): string {
  return value.toLocaleString('en-US')
}

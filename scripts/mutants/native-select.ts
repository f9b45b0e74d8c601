// Which tests a native mutant gets, from the measured map (native-coverage.ts writes it,
// native.ts reads it). Apart from both, which import it: native-coverage.ts imports native.ts.

import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { root } from './common.js'

export const NATIVE_COVERAGE_PATH = join(root, 'scripts', 'mutants', 'native-coverage.json')

export interface NativeCoverage {
  /** src file → every function's span ("first-last" line) the instrumented build has. */
  functions: Record<string, string[]>
  /** test file → its seconds, and per src file the spans of the functions it ran. */
  tests: Record<string, { seconds: number; exitCode: number | null; covers: Record<string, string[]> }>
}

export function readNativeCoverage(): NativeCoverage | null {
  return existsSync(NATIVE_COVERAGE_PATH) ? (JSON.parse(readFileSync(NATIVE_COVERAGE_PATH, 'utf8')) as NativeCoverage) : null
}

export const spanOf = (span: string): [number, number] => span.split('-').map(Number) as [number, number]

/**
 * The tests for a mutant at `file`:`line`: those that ran the innermost function holding the
 * line, `hand` (native-map.json's for the file) first, then those that ran more of the file's
 * functions, then the quicker, while their measured time stays within `maxSeconds` (at least
 * one), and then `unseen` (native-map.json's tests whose runs write no profile, for this file);
 * `hand` where no test ran that function (or no function of the build holds the line). `left`
 * are those cut by the time.
 */
export function testsForLine(
  cov: NativeCoverage | null,
  file: string,
  line: number,
  hand: string[],
  maxSeconds: number,
  unseen: string[] = [],
): { tests: string[]; by: 'coverage' | 'hand'; left: string[] } {
  const holding = (cov?.functions[file] ?? [])
    .map(spanOf)
    .filter(([a, b]) => a <= line && line <= b)
    .sort(([a1, b1], [a2, b2]) => b1 - a1 - (b2 - a2))[0]
  if (!cov || !holding) return { tests: hand, by: 'hand', left: [] }
  const span = holding.join('-')
  const ran = Object.entries(cov.tests).filter(([, t]) => t.exitCode === 0 && t.covers[file]?.includes(span))
  if (ran.length === 0) return { tests: hand, by: 'hand', left: [] }
  // A test that runs more of the file runs more of what its mutants change: those first (as
  // lib.ts's testsFor orders a file's tests), then the quicker.
  const reach = (t: NativeCoverage['tests'][string]) => t.covers[file]?.length ?? 0
  ran.sort(([a, ta], [b, tb]) => Number(hand.includes(b)) - Number(hand.includes(a)) || reach(tb) - reach(ta) || ta.seconds - tb.seconds)
  const tests: string[] = []
  const left: string[] = []
  let seconds = 0
  for (const [test, t] of ran) {
    if (tests.length > 0 && seconds + t.seconds > maxSeconds) left.push(test)
    else {
      tests.push(test)
      seconds += t.seconds
    }
  }
  return { tests: [...tests, ...unseen.filter((u) => !tests.includes(u))], by: 'coverage', left }
}

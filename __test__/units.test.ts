// The grammar of sizes and durations on the command line (docs/cli.md, "Sizes and durations"),
// checked as a property against a reference written here on its own: what the reference refuses
// throws a UsageError naming the option (exit 2 at the CLI), and what it takes gives the amount
// it means, computed here exactly with BigInt fractions. Strings come from the grammar itself,
// from an alphabet of the characters near it, from anywhere, and as one-character edits of valid
// ones. UNITS_RUNS sets the runs per property (default 5,000).

import test from 'ava'
import fc from 'fast-check'

import { count, kib, loadHumanisers, MAX_AMOUNT, millis, parseDurationMs, parseSizeKiB } from '../lib/cli/units.js'
import { UsageError } from '../lib/cli/usage.js'

const runs = Number(process.env.UNITS_RUNS ?? 5_000)

// The reference: surrounding whitespace, digits, an optional fraction, an optional unit.
const SIZE_REFERENCE = /^\s*(\d+)(?:\.(\d+))?([KMGT](?:i|iB|B)?)?\s*$/i
const DURATION_REFERENCE = /^\s*(\d+)(?:\.(\d+))?(ms|s|m|h|d)?\s*$/i
/** Bytes per size unit (the first letter), milliseconds per duration unit; '' is none. */
const BYTES: Record<string, bigint> = { '': 1024n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n }
const MILLIS: Record<string, bigint> = { '': 1000n, ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n }
const MAX = BigInt(MAX_AMOUNT)
if (MAX !== 2n ** 53n - 1n) throw new Error('the documented bound is 2^53 - 1')

/** A fraction num/den, den > 0. */
interface Fraction {
  num: bigint
  den: bigint
}

/**
 * What the reference makes of `text`: null where it is refused, 'either' where the exact amount
 * is so near the upper bound that the double's rounding decides, else the amount (in the base
 * unit: bytes, ms) and what the parser returns (KiB, ms), exactly.
 */
function reference(kind: 'size' | 'duration', text: string): null | 'either' | { result: Fraction } {
  const m = (kind === 'size' ? SIZE_REFERENCE : DURATION_REFERENCE).exec(text)
  if (!m) return null
  const [, whole, fraction = '', unit = ''] = m as unknown as [string, string, string | undefined, string | undefined]
  const perUnit = kind === 'size' ? BYTES[unit.slice(0, 1).toLowerCase()]! : MILLIS[unit.toLowerCase()]!
  const num = BigInt(whole + fraction) * perUnit
  const den = 10n ** BigInt(fraction.length)
  if (num === 0n) return null
  // Within 2^-50 of the bound (relative), either answer is the bound read through a double.
  const distance = num - MAX * den
  if ((distance < 0n ? -distance : distance) * 2n ** 50n <= MAX * den) return 'either'
  if (num > MAX * den) return null
  return { result: kind === 'size' ? { num, den: den * 1024n } : { num, den } }
}

/** A finite double as an exact fraction. */
function exact(x: number): Fraction {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  const exponent = Number((bits >> 52n) & 0x7ffn)
  const mantissa = (bits & (2n ** 52n - 1n)) + (exponent === 0 ? 0n : 2n ** 52n)
  const shift = (exponent === 0 ? 1 : exponent) - 1075
  const sign = bits >> 63n ? -1n : 1n
  return shift >= 0 ? { num: sign * mantissa * 2n ** BigInt(shift), den: 1n } : { num: sign * mantissa, den: 2n ** BigInt(-shift) }
}

/** |actual − expected| ≤ 2^-51 · expected: two roundings (the number, then the unit) at most. */
function close(actual: number, expected: Fraction): boolean {
  if (!Number.isFinite(actual)) return false
  const a = exact(actual)
  const diff = a.num * expected.den - expected.num * a.den
  return (diff < 0n ? -diff : diff) * 2n ** 51n <= expected.num * a.den
}

const parsers = { size: (text: string) => parseSizeKiB('--max-rss', text), duration: (text: string) => parseDurationMs('--timeout', text) }

/** The parser agrees with the reference on `text`; a string saying how not, else null. */
function disagreement(kind: 'size' | 'duration', text: string): string | null {
  const ref = reference(kind, text)
  let value: number
  try {
    value = parsers[kind](text)
  } catch (err) {
    if (!(err instanceof UsageError)) return `${JSON.stringify(text)}: threw ${String(err)}, not a UsageError`
    const option = kind === 'size' ? '--max-rss' : '--timeout'
    if (!err.message.startsWith(`${option}: '${text}' `)) return `${JSON.stringify(text)}: the message does not name the option and the value: ${err.message}`
    return ref === null || ref === 'either' ? null : `${JSON.stringify(text)}: refused (${err.message}), but it means ${ref.result.num}/${ref.result.den}`
  }
  if (ref === null) return `${JSON.stringify(text)}: taken as ${value}, but the grammar refuses it`
  if (ref === 'either') return Number.isFinite(value) && value > 0 ? null : `${JSON.stringify(text)}: ${value}`
  if (!close(value, ref.result)) return `${JSON.stringify(text)}: ${value}, but it means ${ref.result.num}/${ref.result.den}`
  // A whole amount a double holds exactly is returned exactly.
  if (ref.result.num % ref.result.den === 0n && !text.includes('.') && BigInt(value) !== ref.result.num / ref.result.den) return `${JSON.stringify(text)}: ${value}, not exactly ${ref.result.num / ref.result.den}`
  return null
}

/** The property: fast-check reports the (shrunk) string with the disagreement. */
const agrees = (kind: 'size' | 'duration') => (text: string) => {
  const wrong = disagreement(kind, text)
  if (wrong) throw new Error(wrong)
}

// Strings from the grammar: leading zeros, long fractions, every unit spelling in any case, and
// amounts past the bound (up to 22 digits) as well as below it.
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max })
const anyCase = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''))
const spaces = fc.string({ unit: fc.constantFrom(' ', '\t', '\n'), maxLength: 2 })
const sizeUnit = fc.constantFrom('', ...['k', 'm', 'g', 't'].flatMap((u) => [u, `${u}i`, `${u}ib`, `${u}b`])).chain(anyCase)
const durationUnit = fc.constantFrom('', 'ms', 's', 'm', 'h', 'd').chain(anyCase)
const valid = (unit: fc.Arbitrary<string>) =>
  fc.tuple(spaces, digits(1, 22), fc.option(digits(1, 25), { nil: undefined }), unit, spaces).map(([before, whole, fraction, u, after]) => `${before}${whole}${fraction === undefined ? '' : `.${fraction}`}${u}${after}`)

// Characters near the grammar, for strings that are almost sizes or durations.
const near = fc.constantFrom(...'0123456789.kmgtKMGTiIbBsShHdDwWyY eE+-x,_\t\u00a0'.split(''), 'Infinity', 'NaN', '0x', '١')
const nearly = fc.string({ unit: near, maxLength: 12 })
const edited = (base: fc.Arbitrary<string>) =>
  fc.tuple(base, fc.nat(), near, fc.constantFrom('insert', 'delete', 'replace', 'double')).map(([text, at, c, how]) => {
    const i = at % (text.length + 1)
    if (how === 'insert') return text.slice(0, i) + c + text.slice(i)
    if (how === 'delete') return text.slice(0, i) + text.slice(i + 1)
    if (how === 'replace') return text.slice(0, i) + c + text.slice(i + 1)
    return text.slice(0, i) + text.slice(i, i + 2) + text.slice(i) // two characters twice: 1.5.5M from 1.5M
  })

for (const kind of ['size', 'duration'] as const) {
  const grammar = valid(kind === 'size' ? sizeUnit : durationUnit)
  test(`${kind}: what the grammar produces means what it says (or is refused past the bound)`, (t) => {
    fc.assert(fc.property(grammar, agrees(kind)), { numRuns: runs })
    t.pass()
  })
  test(`${kind}: strings near the grammar, anywhere, and one edit away from it are refused exactly when the grammar refuses them`, (t) => {
    const texts = fc.oneof(nearly, fc.string(), fc.string({ unit: 'binary' }), edited(grammar), edited(edited(grammar)))
    fc.assert(fc.property(texts, agrees(kind)), { numRuns: runs * 2 })
    t.pass()
  })
}

test('sizes: what the documentation promises, and what it refuses', (t) => {
  const taken: Array<[string, number]> = [
    ['512M', 512 * 1024], ['2G', 2 * 1024 ** 2], ['100K', 100], ['1.5G', 1.5 * 1024 ** 2], ['512MiB', 512 * 1024], ['512mb', 512 * 1024],
    ['512Mi', 512 * 1024], ['1T', 1024 ** 3], ['512', 512], [' 64M\n', 64 * 1024], ['007K', 7], ['0.5K', 0.5],
    // The bound itself, 2^53 - 1 bytes (a fraction of a KiB, exact in a double), is taken.
    ['8796093022207.9990234375K', (2 ** 53 - 1) / 1024],
  ]
  for (const [text, kib] of taken) t.is(parseSizeKiB('--max-rss', text), kib, text)
  for (const text of ['1.5.5M', 'M', '-1M', '+1M', '1e3M', '0x10M', 'Infinity', 'NaN', '', ' ', '1 2M', '512 M', '.5M', '5.M', '0', '0.0M', '1P', '1MM', '1Mbit', '8P', '8192T', '8796093022208K']) {
    const err = t.throws(() => parseSizeKiB('--max-rss', text), { instanceOf: UsageError }, JSON.stringify(text))
    t.true(err?.message.startsWith(`--max-rss: '${text}' `), err?.message)
  }
})

test('durations: what the documentation promises, and what it refuses', (t) => {
  const taken: Array<[string, number]> = [
    ['250ms', 250], ['30s', 30_000], ['10m', 600_000], ['1h', 3_600_000], ['1.5h', 5_400_000], ['25d', 25 * 86_400_000], ['30', 30_000],
    ['0.5ms', 0.5], ['10M', 600_000], ['2D', 2 * 86_400_000], ['104249991d', 104_249_991 * 86_400_000],
    // The bound itself, 2^53 - 1 ms, is taken; one more is refused.
    ['9007199254740991ms', 2 ** 53 - 1],
  ]
  for (const [text, ms] of taken) t.is(parseDurationMs('--timeout', text), ms, text)
  for (const text of ['1.5.5s', 's', '-1s', '1e3', '1e3s', 'Infinity', '', '.5s', '5.s', '1 s', '10 minutes', '1w', '1y', '0', '0ms', '104249992d', '1sec', '9007199254740992ms']) {
    const err = t.throws(() => parseDurationMs('--timeout', text), { instanceOf: UsageError }, JSON.stringify(text))
    t.true(err?.message.startsWith(`--timeout: '${text}' `), err?.message)
  }
})

test("reports' amounts: a time under 1 ms in whole µs (one that rounds to 1000 µs as 1.0ms), 0 as 0ms, longer ones with pretty-ms at 1 ms digit and 2 s digits; sizes in binary units at 1 digit; counts grouped", async (t) => {
  await loadHumanisers()
  const times: Array<[number, string]> = [
    [0, '0ms'], [0.25, '250µs'], [0.0004, '0µs'], [0.9994, '999µs'], [0.9996, '1.0ms'], [1, '1.0ms'], [1.25, '1.3ms'], [59.5, '59.5ms'], [1234, '1.23s'], [61_234, '1m 1.23s'],
  ]
  for (const [ms, text] of times) t.is(millis(ms), text, String(ms))
  const sizes: Array<[number, string]> = [[0, '0 B'], [1, '1 KiB'], [1536, '1.5 MiB'], [1_310_720, '1.2 GiB']]
  for (const [k, text] of sizes) t.is(kib(k), text, String(k))
  t.is(count(1_234_567), '1,234,567')
})

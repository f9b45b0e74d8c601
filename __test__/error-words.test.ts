// lib/errors.ts words each ERR_* error as Node's own internal/errors does, for every way the
// package calls it and for values of every kind: Node's classes are the oracle, in a child run
// with --expose-internals (the running Node's wording, whichever version it is).

import test from 'ava'
import { join } from 'node:path'

import { root, runNode } from './helpers.js'

/** What an error looks like from outside: its class name, code, message, string, first line of
 * its stack, and whether its code is its own property. */
interface Face {
  name: string
  code: unknown
  message: string
  string: string
  stack: string
  ownCode: boolean
  replaced: unknown
}

/** Runs `body` (JavaScript pushing `[label, ours, theirs]` onto `cases`, each an error) in a
 * child with our errors as `ours`, Node's codes as `codes` and the values below as `values`;
 * what differs (the first 20) and how many cases there were. */
async function compare(body: string): Promise<Compared> {
  const script = `
    const ours = require(${JSON.stringify(join(root, 'lib', 'errors.js'))})
    const { codes, AbortError } = require('internal/errors')
    const { inspect, isDeepStrictEqual } = require('node:util')
    // Last, whether its string can be replaced, as a user may (assigned in strict mode, then
    // redefined): Node's errors take their toString from the prototype.
    const replaced = (e) => { 'use strict'; try { e.toString = () => 'assigned'; const a = String(e); Object.defineProperty(e, 'toString', { value: () => 'defined', enumerable: true }); return [a, String(e)] } catch (x) { return String(x) } }
    const face = (e) => ({ name: e.name, code: e.code, message: e.message, string: String(e), stack: String(e.stack).split('\\n')[0], ownCode: Object.hasOwn(e, 'code'), replaced: replaced(e) })
    const cases = []
    const values = ${VALUES}
    ${body}
    const differ = cases.map(([label, a, b]) => [label, face(a), face(b)]).filter(([, a, b]) => !isDeepStrictEqual(a, b))
    console.log(JSON.stringify({ values: values.length, count: cases.length, differ: differ.slice(0, 20) }))
  `
  const run = await runNode(script, { nodeArgs: ['--expose-internals'], prelude: false })
  if (run.code !== 0) throw new Error(`the comparison failed: ${run.stderr}`)
  return JSON.parse(run.stdout) as Compared
}

interface Compared {
  values: number
  count: number
  differ: Array<[string, Face, Face]>
}

/** Values of every kind, as JavaScript source (a Symbol and functions do not go through JSON). */
const VALUES = `[
  null, undefined, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 32 + 1, -(2 ** 32) - 1,
  1e21, -1e21, 1.2345e25, -(2 ** 40), 123456789012, -123456789012, Number.MAX_SAFE_INTEGER, 2 ** 53, 0.1 + 0.2,
  0n, 5n, -5n, 2n ** 32n, 2n ** 32n + 1n, -(2n ** 32n), -(2n ** 32n) - 1n, 12345678901234567890n,
  true, false, Symbol('s'), Symbol(), Symbol.iterator,
  '', 'abc', "it's", 'x'.repeat(28), 'x'.repeat(29), "'".repeat(30), 'a"b', 'a\\nb', '\\u00e9\\u{1F600}',
  function named() {}, () => {}, class Klass {}, async function* gen() {},
  {}, { a: 1 }, Object.create(null), [], [1, 2], new Map([[1, 2]]), Buffer.from('a'), new Uint8Array(2),
  new URL('http://x/'), /re/g, new Date(0), new Error('e'), new (class Named {})(), { constructor: { name: 'Fake' } },
  { constructor: {} }, Object.assign(Object.create(null), { x: 1 }), new Proxy({}, {}), { a: { b: { c: {} } } },
  'x'.repeat(200), ['y'.repeat(150)], 'x'.repeat(125), 'x'.repeat(126),
]`

// How the package calls each: the names and expectations it passes (lib/*.ts).
const ARG_TYPES: Array<[string, string | string[]]> = [
  ['options', 'Object'],
  ['options.detached', 'boolean'],
  ['options.env', 'Object'],
  ['options.signal', 'AbortSignal'],
  ['options.argv0', 'string'],
  ['options.uid', 'int32'],
  ['options.timeout', 'number'],
  ['callback', 'Function'],
  ['timeout', 'number'],
  ['targetFd', 'number'],
  ['signal', ['string', 'number']],
  ['pid', 'number'],
  ['options.stdio[0]', ['Buffer', 'TypedArray', 'DataView', 'string']],
  ['options.shell', ['boolean', 'string']],
  ['options.maxBuffer', 'number'],
  ['options.killSignal', ['string', 'number']],
  ['options.cwd', ['string', 'Buffer', 'URL']],
  ['modulePath', ['string', 'Buffer', 'URL']],
  ['message', ['string', 'object', 'number', 'boolean']],
  ['kind', 'string'],
  ['child', 'ChildProcess'],
  ['args', 'object'],
  ['args', 'Array'],
  ['The "file" argument', 'string'],
  // Node's other type names, which the package does not pass yet.
  ['value', 'function'],
  ['value', ['bigint', 'symbol']],
  ['value', ['symbol', 'Function', 'Object', 'null', 'URL']],
  // Descriptions, not type or class names (one, two, three; capitalised or not), and what looks
  // like a class name only in part; 'object' beside a class.
  ['value', 'a thing'],
  ['value', 'Foo bar'],
  ['value', ['xFoo', 'Foo bar']],
  ['value', ['a', 'b', 'c']],
  ['value', ['object', 'Foo']],
]

const ARG_VALUES: Array<[string, string | undefined]> = [
  ['stdio', undefined],
  ['modulePath', 'must be a string, Uint8Array, or URL without null bytes'],
  ['options.cwd', 'must be a string, Uint8Array, or URL without null bytes'],
  ['args[0]', 'must be a string without null bytes'],
  ['file', 'cannot be empty'],
  ['options.serialization', "must be one of: undefined, 'json', 'advanced'"],
]

const RANGES: Array<[string, string]> = [
  ['options.uid', 'an integer'],
  ['options.uid', '>= -2147483648 && <= 2147483647'],
  ['timeout', 'an unsigned integer'],
  ['timeout', 'an integer'],
  ['timeout', `>= 0 && <= ${Number.MAX_SAFE_INTEGER}`],
  ['options.maxBuffer', 'a positive number'],
  ['options.maxBuffer', '>= 0'],
  ['targetFd', 'an integer >= 0 and <= 2147483647'],
  ['pid', 'an integer >= 1 and <= 2147483647'],
]

/** Every case alike, and as many as the calls make for the values (`perValue` each) and `fixed` more. */
function same(t: import('ava').ExecutionContext, { values, count, differ }: Compared, perValue: number, fixed = 0): void {
  t.true(values >= 60, `${values} values`)
  t.is(count, values * perValue + fixed)
  for (const [label, ours, theirs] of differ) t.deepEqual(ours, theirs, label)
  t.is(differ.length, 0)
}

test("ERR_INVALID_ARG_TYPE: for each name and expectation the package passes, and values of every kind, Node's words, string and stack line", async (t) => {
  const pairs = await compare(`
    for (const [name, expected] of ${JSON.stringify(ARG_TYPES)}) {
      for (const [i, v] of values.entries()) cases.push([name + ' ' + JSON.stringify(expected) + ' #' + i, ours.invalidArgType(name, expected, v), new codes.ERR_INVALID_ARG_TYPE(name, expected, v)])
    }
  `)
  same(t, pairs, ARG_TYPES.length)
})

test("ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE and ERR_UNKNOWN_SIGNAL: Node's words for values of every kind, short and long", async (t) => {
  const pairs = await compare(`
    for (const [name, reason] of ${JSON.stringify(ARG_VALUES)}) {
      for (const [i, v] of values.entries()) {
        const args = reason === null ? [name, v] : [name, v, reason]
        cases.push(['value ' + name + ' #' + i, ours.invalidArgValue(...args), new codes.ERR_INVALID_ARG_VALUE(...args)])
      }
    }
    for (const [name, range] of ${JSON.stringify(RANGES)}) {
      for (const [i, v] of values.entries()) cases.push(['range ' + name + ' ' + range + ' #' + i, ours.outOfRange(name, range, v), new codes.ERR_OUT_OF_RANGE(name, range, v)])
    }
    for (const [i, v] of values.entries()) cases.push(['signal #' + i, ours.unknownSignal(v), new codes.ERR_UNKNOWN_SIGNAL(v)])
  `)
  same(t, pairs, ARG_VALUES.length + RANGES.length + 1)
})

test("the package's other ERR_* errors and its AbortError: Node's class name, code, words, string and stack line", async (t) => {
  const pairs = await compare(`
    for (const [i, v] of values.entries()) cases.push(['sync fork input #' + i, ours.invalidSyncForkInput(v), new codes.ERR_INVALID_SYNC_FORK_INPUT(inspect(v))])
    for (const stream of ['stdout', 'stderr']) cases.push(['maxBuffer ' + stream, ours.maxBufferExceeded(stream), new codes.ERR_CHILD_PROCESS_STDIO_MAXBUFFER(stream)])
    for (const name of ['options.stdio', 'stdio']) cases.push(['ipc required ' + name, ours.ipcRequired(name), new codes.ERR_CHILD_PROCESS_IPC_REQUIRED(name)])
    for (const name of ['message', 'options']) cases.push(['missing ' + name, ours.missingArgs(name), new codes.ERR_MISSING_ARGS(name)])
    cases.push(['ipc sync fork', ours.ipcSyncFork(), new codes.ERR_IPC_SYNC_FORK()])
    cases.push(['channel closed', ours.ipcChannelClosed(), new codes.ERR_IPC_CHANNEL_CLOSED()])
    cases.push(['closed before reply', ours.childClosedBeforeReply(), new codes.ERR_CHILD_CLOSED_BEFORE_REPLY()])
    cases.push(['disconnected', ours.ipcDisconnected(), new codes.ERR_IPC_DISCONNECTED()])
    cases.push(['one pipe', ours.ipcOnePipe(), new codes.ERR_IPC_ONE_PIPE()])
    cases.push(['handle type', ours.invalidHandleType(), new codes.ERR_INVALID_HANDLE_TYPE()])
    const reason = new Error('why')
    cases.push(['abort', ours.abortError(reason), new AbortError(undefined, { cause: reason })])
  `)
  same(t, pairs, 1, 13)
})

test("errno names come from Node's tables: libuv's first, then the OS constants, else E<n>; a system error is 'syscall CODE' with the negative errno", async (t) => {
  const run = await runNode(
    `
    const { errnoName, systemError } = require(${JSON.stringify(join(root, 'lib', 'errors.js'))})
    const { getSystemErrorMap } = require('node:util')
    const { errno } = require('node:os').constants
    const names = []
    for (let n = 1; n <= 140; n++) names.push([n, errnoName(n), getSystemErrorMap().get(-n)?.[0] ?? null, Object.entries(errno).find(([, v]) => v === n)?.[0] ?? null])
    // Every name either table has gets its number; one like a number that is not one gets 0.
    const numbers = Object.entries(errno).map(([name, n]) => [name, systemError(name, 'x').errno, -n])
      .concat([...getSystemErrorMap()].map(([n, [name]]) => [name, systemError(name, 'x').errno, n]))
      .concat(['XE12', 'E12X', 'E', 'E-1', 'e12'].map((name) => [name, systemError(name, 'x').errno, 0]))
    const errors = [['ESRCH', 'pidfd_open'], ['EPERM', 'pidfd_send_signal', 'not the owner'], ['E200', 'waitid'], ['ENOSYS', 'clone3'], ['EWHAT', 'x']].map((a) => {
      const e = systemError(...a)
      return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, keys: Object.keys(e) }
    })
    console.log(JSON.stringify({ names, errors, numbers }))
  `,
    { prelude: false },
  )
  t.is(run.code, 0, run.stderr)
  const { names, errors, numbers } = JSON.parse(run.stdout) as { names: Array<[number, string, string | null, string | null]>; errors: unknown[]; numbers: Array<[string, number, number]> }
  t.true(numbers.length > 100)
  for (const [name, ours, expected] of numbers) t.is(ours, expected, name)
  for (const [n, ours, uv, os] of names) t.is(ours, uv ?? os ?? `E${n}`, String(n))
  // Linux numbers: ESRCH 3, EPERM 1, ENOSYS 38; a name no table has has errno 0.
  t.deepEqual(errors, [
    { message: 'pidfd_open ESRCH', code: 'ESRCH', errno: -3, syscall: 'pidfd_open', keys: ['code', 'errno', 'syscall'] },
    { message: 'pidfd_send_signal EPERM (not the owner)', code: 'EPERM', errno: -1, syscall: 'pidfd_send_signal', keys: ['code', 'errno', 'syscall'] },
    { message: 'waitid E200', code: 'E200', errno: -200, syscall: 'waitid', keys: ['code', 'errno', 'syscall'] },
    { message: 'clone3 ENOSYS', code: 'ENOSYS', errno: -38, syscall: 'clone3', keys: ['code', 'errno', 'syscall'] },
    { message: 'x EWHAT', code: 'EWHAT', errno: 0, syscall: 'x', keys: ['code', 'errno', 'syscall'] },
  ])
  // Among 1..140 are names only libuv has, names only the OS constants have, and numbers neither has.
  t.true(names.some(([, , uv]) => uv !== null))
  t.true(names.some(([, , uv, os]) => uv === null && os !== null), 'a name only os.constants has')
  t.true(names.some(([, , uv, os]) => uv === null && os === null), 'a number no table names')
})

// An object's `constructor` is the caller's to set. Newer Nodes (26, and 24 from some release
// after 24.19) name an instance only where `constructor.name` is a non-empty string, read once;
// older ones (22, musl's 24.19) name an anonymous class's instance "an instance of " and throw a
// TypeError of their own at `{ constructor: 5 }`. The package words these as the newer ones do,
// under every Node, and never throws for them.
test('ERR_INVALID_ARG_TYPE for an object whose constructor is odd: worded as the newer Nodes word it, under every Node', async (t) => {
  const run = await runNode(
    `
    const ours = require(${JSON.stringify(join(root, 'lib', 'errors.js'))})
    let reads = 0
    const counted = { get constructor() { reads++; return { name: 'Counted' } } }
    const values = [{ constructor: 5 }, { constructor: null }, new (class {})(), Object.create({ constructor: { name: '' } }), { constructor: { name: 7 } }, counted]
    const messages = values.map((v) => ours.invalidArgType('options', 'Object', v).message)
    const ourReads = reads
    // Node's own where it reads a constructor this way (Node 24.? and later, 26); an older one
    // throws its TypeError at { constructor: 5 }.
    let theirs = null
    const { codes } = require('internal/errors')
    try {
      theirs = values.map((v) => new codes.ERR_INVALID_ARG_TYPE('options', 'Object', v).message)
    } catch {}
    console.log(JSON.stringify({ messages, reads: ourReads, theirs }))
  `,
    { nodeArgs: ['--expose-internals'], prelude: false },
  )
  t.is(run.code, 0, run.stderr)
  const { messages, reads, theirs } = JSON.parse(run.stdout) as { messages: string[]; reads: number; theirs: string[] | null }
  const start = 'The "options" argument must be of type object. Received '
  t.deepEqual(messages, [
    `${start}[Object]`,
    `${start}[Object]`,
    `${start}{}`,
    `${start}{}`,
    `${start}[Object]`,
    `${start}an instance of Counted`,
  ])
  t.is(reads, 1, 'the constructor read once')
  if (theirs === null) t.log(`Node ${process.version} throws a TypeError of its own here: only the package's wording checked`)
  else t.deepEqual(messages, theirs)
})

// What the binding throws carries `code` as the kernel named it ("E12" where Rust had no name)
// and a message "syscall CODE (detail)": the user gets Node's system error from it.
test("an error from the binding becomes Node's system error: the errno named, syscall and detail read from its message; anything else passes unchanged", async (t) => {
  const run = await runNode(
    `
    const { fromNative } = require(${JSON.stringify(join(root, 'lib', 'errors.js'))})
    const coded = (message, code) => Object.assign(new Error(message), { code })
    const show = (input) => {
      const e = fromNative(input)
      return { same: e === input, message: e.message, code: e.code ?? null, errno: e.errno ?? null, syscall: e.syscall ?? null }
    }
    console.log(JSON.stringify([
      coded('waitid E12', 'E12'), coded('pidfd_open ESRCH', 'ESRCH'), coded('pidfd_send_signal EPERM (not yours)', 'EPERM'),
      coded('open EPERM (a) then more', 'EPERM'), coded('open EPERM (a\\nb)', 'EPERM'), coded('', 'EAGAIN'),
      coded('x EE12', 'EE12'), coded('x XE12', 'XE12'), coded('x XEPERM', 'XEPERM'), coded('x EPERMx', 'EPERMx'), coded('x', 'ERR_SOMETHING'),
      coded('x', 12), new Error('plain'), 'a string',
    ].map(show)))
  `,
    { prelude: false },
  )
  t.is(run.code, 0, run.stderr)
  const system = (message: string, code: string, errno: number, syscall: string) => ({ same: false, message, code, errno, syscall })
  const unchanged = (message: string, code: string | number | null) => ({ same: true, message, code, errno: null, syscall: null })
  t.deepEqual(JSON.parse(run.stdout), [
    system('waitid ENOMEM', 'ENOMEM', -12, 'waitid'),
    system('pidfd_open ESRCH', 'ESRCH', -3, 'pidfd_open'),
    system('pidfd_send_signal EPERM (not yours)', 'EPERM', -1, 'pidfd_send_signal'),
    system('open EPERM', 'EPERM', -1, 'open'),
    system('open EPERM (a\nb)', 'EPERM', -1, 'open'),
    system('unknown EAGAIN', 'EAGAIN', -11, 'unknown'),
    system('x EE12', 'EE12', 0, 'x'),
    unchanged('x XE12', 'XE12'),
    unchanged('x XEPERM', 'XEPERM'),
    unchanged('x EPERMx', 'EPERMx'),
    unchanged('x', 'ERR_SOMETHING'),
    unchanged('x', 12),
    unchanged('plain', null),
    { same: false, message: 'a string', code: null, errno: null, syscall: null },
  ])
})

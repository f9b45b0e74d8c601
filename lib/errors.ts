// Errors shaped as Node shapes them: system errors with code/errno/syscall, and the
// ERR_* argument errors of Node's own APIs.

import { constants } from 'node:os'
import { format, getSystemErrorMap, inspect } from 'node:util'

export interface SystemError extends Error {
  code: string
  errno: number
  syscall: string
}

type Coded<E extends Error> = E & { code: string }

/**
 * Gives an argument error Node's face: an own `code`, `toString()` as `TypeError [CODE]: …`,
 * and the same first line in its stack.
 */
function coded<E extends Error>(error: E, code: string): Coded<E> {
  const header = `${error.name} [${code}]: ${error.message}`
  Object.assign(error, { code })
  Object.defineProperty(error, 'toString', { value: () => header, enumerable: false, configurable: true, writable: true })
  const stack = error.stack
  if (stack !== undefined) {
    const plain = `${error.name}: ${error.message}`
    error.stack = stack.startsWith(plain) ? header + stack.slice(plain.length) : stack
  }
  return error as Coded<E>
}

/** The name of a (positive) errno, from Node's own tables: libuv's, then the OS constants. */
export function errnoName(errno: number): string {
  const name = getSystemErrorMap().get(-errno)?.[0]
  if (name !== undefined) return name
  const entry = Object.entries(constants.errno as Record<string, number>).find(([, n]) => n === errno)
  // Neither table names it (Node knows about 80 of Linux's 133): its number, never a made-up name.
  return entry?.[0] ?? `E${errno}`
}

/** The (positive) errno of a name, from the same tables. */
function errnoOf(code: string): number | undefined {
  const known = (constants.errno as Record<string, number>)[code]
  if (known !== undefined) return known
  for (const [negative, [name]] of getSystemErrorMap()) if (name === code) return -negative
  return /^E\d+$/.test(code) ? Number(code.slice(1)) : undefined
}

/** A system error as Node makes one: `message` "syscall CODE", negative `errno`. */
export function systemError(code: string, syscall: string, detail?: string): SystemError {
  const errno = errnoOf(code)
  const message = `${syscall} ${code}${detail ? ` (${detail})` : ''}`
  return Object.assign(new Error(message), {
    code,
    errno: errno === undefined ? 0 : -errno,
    syscall,
  })
}

/** Turns an error thrown by the native binding into the error users see. */
export function fromNative(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err))
  let code = (err as { code?: unknown }).code
  if (typeof code === 'string' && /^E[0-9]+$/.test(code)) code = errnoName(Number(code.slice(1)))
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    const syscall = err.message.split(' ', 1)[0] || 'unknown'
    const detail = /\((.*)\)$/s.exec(err.message)?.[1]
    return systemError(code, syscall, detail)
  }
  return err
}

/** Runs a native call, translating what it throws. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw fromNative(err)
  }
}

/** How Node names a received value in ERR_INVALID_ARG_TYPE. */
function received(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`
    case 'number':
      return `type number (${Object.is(value, -0) ? '-0' : String(value)})`
    case 'boolean':
      return `type boolean (${value})`
    case 'symbol':
      return `type symbol (${String(value)})`
    case 'function':
      return `function ${value.name}`
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`
    }
    default: {
      // As newer Nodes read it (26, and 24.22; not 24.19): `constructor` is the caller's to set
      // (a number, a getter, an anonymous class), so it is read once and its name used only where
      // it is a non-empty string. Node 22 and 24.19 throw a TypeError of their own for
      // `{ constructor: 5 }` here.
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      if (typeof name === 'string' && name !== '') return `an instance of ${name}`
      return inspect(value, { depth: -1 })
    }
  }
}

/** "a", "a or b", "a, b, or c", as Node lists alternatives. */
function list(items: string[]): string {
  if (items.length <= 2) return items.join(' or ')
  return `${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`
}

/** Node's primitive type names (written lower case in messages). */
const TYPES = new Set(['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'])

/** "argument" or "property", as Node calls `name` (a dotted name is an options property). */
function kind(name: string): string {
  return name.includes('.') ? 'property' : 'argument'
}

/**
 * ERR_INVALID_ARG_TYPE, worded as Node words it: `expected` lists type names ('string'), class
 * names ('AbortSignal') or other descriptions, as Node's own validators pass them.
 */
export function invalidArgType(name: string, expected: string | string[], value: unknown): Coded<TypeError> {
  const types: string[] = []
  const instances: string[] = []
  const other: string[] = []
  for (const e of Array.isArray(expected) ? expected : [expected]) {
    if (TYPES.has(e)) types.push(e.toLowerCase())
    else if (/^([A-Z][a-z0-9]*)+$/.test(e)) instances.push(e)
    else other.push(e)
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1)
    instances.push('Object')
  }
  const parts: string[] = []
  if (types.length > 0) parts.push(`${types.length > 1 ? 'one of type' : 'of type'} ${list(types)}`)
  if (instances.length > 0) parts.push(`an instance of ${list(instances)}`)
  if (other.length > 1) parts.push(`one of ${list(other)}`)
  else if (other.length === 1) parts.push(other[0]!.toLowerCase() !== other[0] ? `an ${other[0]}` : other[0]!)
  const subject = name.endsWith(' argument') ? name : `"${name}" ${kind(name)}`
  return coded(new TypeError(`The ${subject} must be ${parts.join(' or ')}. Received ${received(value)}`), 'ERR_INVALID_ARG_TYPE')
}

/** ERR_INVALID_ARG_VALUE: "The argument 'name' <reason>. Received <value>". */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): Coded<TypeError> {
  let shown = inspect(value)
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`
  return coded(new TypeError(`The ${kind(name)} '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE')
}

/** 1234567890 as Node shows a large number: 1_234_567_890. Node groups the characters of the
 * number's string by three from its end, whatever they are: 1e21 reads 1e_+21 there, and here. */
function separated(text: string): string {
  const start = text.startsWith('-') ? 1 : 0
  let end = text.length
  let groups = ''
  while (end - start > 3) {
    groups = `_${text.slice(end - 3, end)}${groups}`
    end -= 3
  }
  return text.slice(0, end) + groups
}

/** ERR_OUT_OF_RANGE: "The value of "name" is out of range. It must be <range>. Received <value>". */
export function outOfRange(name: string, range: string, value: unknown): Coded<RangeError> {
  let shown: string
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > 2 ** 32) shown = separated(String(value))
  else if (typeof value === 'bigint') {
    shown = value > 2n ** 32n || value < -(2n ** 32n) ? separated(String(value)) : String(value)
    shown += 'n'
  } else shown = inspect(value)
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`), 'ERR_OUT_OF_RANGE')
}

/** ERR_INVALID_SYNC_FORK_INPUT: a Buffer or string as an asynchronous child's stdio entry. */
export function invalidSyncForkInput(value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`Asynchronous forks do not support Buffer, TypedArray, DataView or string input: ${inspect(value)}`),
    'ERR_INVALID_SYNC_FORK_INPUT',
  )
}

/** ERR_IPC_SYNC_FORK: an 'ipc' stdio entry for a synchronous child. */
export function ipcSyncFork(): Coded<Error> {
  return coded(new Error('IPC cannot be used with synchronous forks'), 'ERR_IPC_SYNC_FORK')
}

export function unknownSignal(signal: unknown): Coded<TypeError> {
  // As Node words it: '%s' of the value ('Unknown signal: {}' for an object).
  return coded(new TypeError(`Unknown signal: ${format('%s', signal)}`), 'ERR_UNKNOWN_SIGNAL')
}

/** ERR_CHILD_PROCESS_STDIO_MAXBUFFER: exec's or execFile's output went past `maxBuffer`. */
export function maxBufferExceeded(stream: 'stdout' | 'stderr'): Coded<RangeError> {
  return coded(new RangeError(`${stream} maxBuffer length exceeded`), 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
}

export function closedError(): Coded<Error> {
  return coded(new Error('The pidfd is closed'), 'ERR_PIDFD_CLOSED')
}

/** Node's AbortError class: name 'AbortError', code 'ABORT_ERR'. */
class AbortError extends Error {
  code = 'ABORT_ERR'
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options)
    this.name = 'AbortError'
  }
}

/** Node's AbortError, the signal's reason as `cause`. */
export function abortError(cause: unknown): Error & { code: string } {
  // Not one of Node's ERR_* errors: its string is plain "AbortError: …", as Node's is.
  return new AbortError(undefined, { cause })
}

/** send() after the channel was closed (through the callback, or 'error'). */
export function ipcChannelClosed(): Coded<Error> {
  return coded(new Error('Channel closed'), 'ERR_IPC_CHANNEL_CLOSED')
}

/** A question about sockets sent to a child, which disconnected before it answered. */
export function childClosedBeforeReply(): Coded<Error> {
  return coded(new Error('Child closed before reply received'), 'ERR_CHILD_CLOSED_BEFORE_REPLY')
}

/** disconnect() on a channel that is no longer connected (emitted as 'error'). */
export function ipcDisconnected(): Coded<Error> {
  return coded(new Error('IPC channel is already disconnected'), 'ERR_IPC_DISCONNECTED')
}

/** An 'ipc' entry under Bun, whose event loop has no libuv pipe handle for the channel. */
export function ipcUnavailable(): Coded<Error> {
  return coded(
    new Error("pidfd's IPC channel ('ipc' in stdio, fork) needs Node's libuv pipe handle, which Bun does not have: use Bun's own child_process.fork or Bun.spawn's ipc there"),
    'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM',
  )
}

/** Two 'ipc' entries in stdio. */
export function ipcOnePipe(): Coded<Error> {
  return coded(new Error('Child process can have only one IPC pipe'), 'ERR_IPC_ONE_PIPE')
}

/** fork() with a stdio array without 'ipc'. */
export function ipcRequired(name: string): Coded<Error> {
  return coded(new Error(`Forked processes must have an IPC channel, missing value 'ipc' in ${name}`), 'ERR_CHILD_PROCESS_IPC_REQUIRED')
}

/** A required argument left out ("The "message" argument must be specified"). */
export function missingArgs(name: string): Coded<TypeError> {
  return coded(new TypeError(`The "${name}" argument must be specified`), 'ERR_MISSING_ARGS')
}

/** send() with a sendHandle that is no handle at all. */
export function invalidHandleType(): Coded<TypeError> {
  return coded(new TypeError('This handle type cannot be sent'), 'ERR_INVALID_HANDLE_TYPE')
}

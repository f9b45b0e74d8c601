// Errors shaped as Node shapes them: system errors with code/errno/syscall, and the
// ERR_* argument errors of Node's own APIs.

import { constants } from 'node:os'
import { getSystemErrorName, inspect } from 'node:util'

export interface SystemError extends Error {
  code: string
  errno: number
  syscall: string
}

type Coded<E extends Error> = E & { code: string }

function coded<E extends Error>(error: E, code: string): Coded<E> {
  return Object.assign(error, { code })
}

/** The name of a (positive) errno, from Node's own tables: libuv's, then the OS constants. */
export function errnoName(errno: number): string {
  const name = getSystemErrorName(-errno)
  if (/^E[A-Z0-9]+$/.test(name)) return name
  const entry = Object.entries(constants.errno as Record<string, number>).find(([, n]) => n === errno)
  return entry?.[0] ?? name
}

/** A system error as Node makes one: `message` "syscall CODE", negative `errno`. */
export function systemError(code: string, syscall: string, detail?: string): SystemError {
  const errno = (constants.errno as Record<string, number>)[code]
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
    const [syscall = 'unknown'] = err.message.split(' ', 1)
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

function describe(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') return `Received ${inspect(value, { depth: -1 })}`
  const shown = inspect(value).slice(0, 28)
  return `Received type ${typeof value} (${shown})`
}

export function invalidArgType(name: string, expected: string, value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. ${describe(value)}`),
    'ERR_INVALID_ARG_TYPE',
  )
}

export function invalidArgValue(name: string, value: unknown, reason: string): Coded<TypeError> {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${inspect(value).slice(0, 60)}`),
    'ERR_INVALID_ARG_VALUE',
  )
}

export function outOfRange(name: string, range: string, value: unknown): Coded<RangeError> {
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`),
    'ERR_OUT_OF_RANGE',
  )
}

export function unknownSignal(signal: unknown): Coded<TypeError> {
  return coded(new TypeError(`Unknown signal: ${String(signal)}`), 'ERR_UNKNOWN_SIGNAL')
}

export function closedError(): Coded<Error> {
  return coded(new Error('The pidfd is closed'), 'ERR_PIDFD_CLOSED')
}

/** Node's AbortError: name 'AbortError', code 'ABORT_ERR', the signal's reason as `cause`. */
export function abortError(cause: unknown): Error & { code: string } {
  const err = new Error('The operation was aborted', { cause })
  err.name = 'AbortError'
  return coded(err, 'ABORT_ERR')
}

// Signals by Node name or number, from os.constants.signals (as process.kill takes them).

import { constants } from 'node:os'
import { invalidArgType, unknownSignal } from './errors.js'

const byName = constants.signals as Record<string, number>

// First name wins, which gives Node's own choices: SIGABRT over SIGIOT, SIGIO over SIGPOLL.
const byNumber = new Map<number, NodeJS.Signals>()
for (const [name, number] of Object.entries(byName)) {
  if (!byNumber.has(number)) byNumber.set(number, name as NodeJS.Signals)
}

/** The default `killSignal` of spawn and the sync functions, as a number (child_process's SIGTERM). */
export const SIGTERM = byName.SIGTERM!

/** The number to send for `signal` (a Node signal name or an integer, 0 probes). */
export function toSignalNumber(signal: unknown): number {
  if (typeof signal === 'number') {
    if (signal === (signal | 0)) return signal
    throw unknownSignal(signal)
  }
  if (typeof signal === 'string') {
    if (Object.hasOwn(byName, signal)) return byName[signal]!
    throw unknownSignal(signal)
  }
  throw invalidArgType('signal', ['string', 'number'], signal)
}

/**
 * A signal as child_process reads one (its `convertToValidSignal`: `ChildProcess.kill` and every
 * `killSignal` option): a signal number this system names, or a name in any case ('sigterm').
 * Anything else, 0 and other types included, is ERR_UNKNOWN_SIGNAL.
 */
export function toChildSignal(signal: unknown): number {
  if (typeof signal === 'number' && byNumber.has(signal)) return signal
  if (typeof signal === 'string') {
    const name = signal.toUpperCase()
    if (Object.hasOwn(byName, name)) return byName[name]!
  }
  throw unknownSignal(signal)
}

/** Node's name for a signal number; null for real-time signals, which have none. */
export function signalName(signal: number): NodeJS.Signals | null {
  return byNumber.get(signal) ?? null
}

// Signals by Node name or number, from os.constants.signals (as process.kill takes them).

import { constants } from 'node:os'
import { invalidArgType, unknownSignal } from './errors.js'

const byName = constants.signals as Record<string, number>

// First name wins, which gives Node's own choices: SIGABRT over SIGIOT, SIGIO over SIGPOLL.
const byNumber = new Map<number, NodeJS.Signals>()
for (const [name, number] of Object.entries(byName)) {
  if (!byNumber.has(number)) byNumber.set(number, name as NodeJS.Signals)
}

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

/** Node's name for a signal number; null for real-time signals, which have none. */
export function signalName(signal: number): NodeJS.Signals | null {
  return byNumber.get(signal) ?? null
}

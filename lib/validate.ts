// Argument checks, with Node's error codes.

import { invalidArgType, outOfRange } from './errors.js'

const PID_MAX = 2 ** 31 - 1

export function validatePid(pid: unknown): number {
  if (typeof pid !== 'number') throw invalidArgType('pid', 'number', pid)
  if (!Number.isInteger(pid) || pid <= 0 || pid > PID_MAX) {
    throw outOfRange('pid', `an integer >= 1 and <= ${PID_MAX}`, pid)
  }
  return pid
}

export function validateObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'Object', value)
  }
  return value as Record<string, unknown>
}

export function validateBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw invalidArgType(name, 'boolean', value)
}

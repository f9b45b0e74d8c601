// Node's own child_process, for where the package cannot serve (lib/serving.ts says where). Its
// functions run unchanged; what they give back has the package's usage fields, empty, so that
// code written for the package runs here as it is: a child's resourceUsage() is null, as are a
// spawnSync result's resourceUsage and that of the error execSync or execFileSync throws for a
// child that ran; their withUsage gives { stdout, resourceUsage: null }. An exec or execFile
// error has no resourceUsage, as where the package does not know a child's usage.

import childProcess = require('node:child_process')
import { promisify } from 'node:util'

type Fn = (this: unknown, ...args: unknown[]) => unknown
/** Node's functions as they are when this loads (another module may replace them later). */
const node = childProcess as unknown as Record<string, Fn>

/** A child's resource usage, which only the package can read. */
function resourceUsage(): null {
  return null
}

/** Gives `target` a non-enumerable `resourceUsage` (unless it has its own): its keys, its JSON and its inspection stay Node's. */
function withUsage(target: unknown, value: unknown): void {
  if (target === null || typeof target !== 'object' || Object.hasOwn(target, 'resourceUsage')) return
  Object.defineProperty(target, 'resourceUsage', { value, enumerable: false, writable: true, configurable: true })
}

/** What a call that starts a child returns: the child, with resourceUsage(). */
function child(value: unknown): unknown {
  withUsage(value, resourceUsage)
  return value
}

/** Node's `own`, its result passed through `after`; with Node's name and length. */
function wrap(own: Fn, after: (result: unknown) => unknown): Fn {
  const fn = {
    [own.name](this: unknown, ...args: unknown[]): unknown {
      return after(Reflect.apply(own, this, args))
    },
  }[own.name]!
  Object.defineProperty(fn, 'length', { value: own.length })
  return fn
}

/** exec and execFile: the child they return, and the one util.promisify's form gives as `.child`. */
function buffered(own: Fn): Fn {
  const fn = wrap(own, child)
  const custom = (own as unknown as Record<symbol, Fn>)[promisify.custom]!
  Object.defineProperty(fn, promisify.custom, {
    enumerable: false,
    value: wrap(custom, (promise) => {
      child((promise as { child?: unknown }).child)
      return promise
    }),
  })
  return fn
}

/** execSync and execFileSync: the error thrown for a child that ran (it has its status) has resourceUsage null; withUsage. */
function synchronous(own: Fn): Fn {
  const fn = {
    [own.name](this: unknown, ...args: unknown[]): unknown {
      try {
        return Reflect.apply(own, this, args)
      } catch (err) {
        if (err !== null && typeof err === 'object' && Object.hasOwn(err, 'status')) withUsage(err, null)
        throw err
      }
    },
  }[own.name]!
  Object.defineProperty(fn, 'length', { value: own.length })
  const usage = {
    withUsage(this: unknown, ...args: unknown[]): unknown {
      return { stdout: Reflect.apply(fn, this, args), resourceUsage: null }
    },
  }
  Object.defineProperty(usage.withUsage, 'length', { value: own.length })
  return Object.assign(fn, usage)
}

export const ChildProcess = childProcess.ChildProcess
/** Node's ChildProcess: what every child here is. */
export const Subprocess = childProcess.ChildProcess
export const _forkChild = node._forkChild
export const spawn = wrap(node.spawn!, child)
export const fork = wrap(node.fork!, child)
export const exec = buffered(node.exec!)
export const execFile = buffered(node.execFile!)
export const spawnSync = wrap(node.spawnSync!, (result) => {
  withUsage(result, null)
  return result
})
export const execSync = synchronous(node.execSync!)
export const execFileSync = synchronous(node.execFileSync!)

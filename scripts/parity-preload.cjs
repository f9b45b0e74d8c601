// Loaded with `node -r` by scripts/node-parity.ts: swaps child_process's functions (spawn, fork,
// exec, execFile and the synchronous three) for pidfd's in the process it is loaded into
// (PIDFD_PARITY_MODE=pidfd), or only wraps Node's own (=control, to show the preload itself
// changes nothing). Each call appends one word to PIDFD_PARITY_LOG: "pidfd".
'use strict'

const { openSync, writeSync } = require('node:fs')
const { join } = require('node:path')
const childProcess = require('node:child_process')

const mode = process.env.PIDFD_PARITY_MODE
const log = process.env.PIDFD_PARITY_LOG
const nodeSpawn = childProcess.spawn
// Loaded now, as an app that swaps child_process loads it at start-up (a test may use up every
// descriptor before its first spawn, and loading a module needs some).
const pidfd = mode === 'pidfd' ? require(join(__dirname, '..', 'index.js')) : null

// Opened now: a test may use up every descriptor before it spawns (test-child-process-emfile).
const logFd = log ? openSync(log, 'a') : -1

function note(word) {
  try {
    if (logFd >= 0) writeSync(logFd, `${word}\n`)
  } catch {
    // the count is lost; the test must not notice
  }
}

childProcess.spawn = function spawn(file, args, options) {
  if (mode !== 'pidfd') return Reflect.apply(nodeSpawn, this, arguments)
  note('pidfd')
  return Reflect.apply(pidfd.spawn, this, arguments)
}

// fork: pidfd's own (Node's calls its module's spawn directly, so it is swapped by itself), as
// pidfd/child_process has it.
const nodeFork = childProcess.fork
childProcess.fork = function fork(modulePath, args, options) {
  if (mode !== 'pidfd') return Reflect.apply(nodeFork, this, arguments)
  note('pidfd')
  return Reflect.apply(pidfd.fork, this, arguments)
}

// exec and execFile (and their promisified forms): pidfd's own, which spawn through pidfd's
// spawn. Node's exec calls the module's execFile, which calls Node's spawn directly, so each is
// swapped by itself.
const { promisify } = require('node:util')
for (const name of ['exec', 'execFile']) {
  const nodeFn = childProcess[name]
  const ours = pidfd?.[name]
  const wrapped = {
    [name]() {
      if (mode !== 'pidfd' || !ours) return Reflect.apply(nodeFn, this, arguments)
      note('pidfd')
      return Reflect.apply(ours, this, arguments)
    },
  }[name]
  const nodeCustom = nodeFn[promisify.custom]
  const oursCustom = ours?.[promisify.custom]
  Object.defineProperty(wrapped, promisify.custom, {
    enumerable: false,
    value: {
      [name]() {
        if (mode !== 'pidfd' || !oursCustom) return Reflect.apply(nodeCustom, this, arguments)
        note('pidfd')
        return Reflect.apply(oursCustom, this, arguments)
      },
    }[name],
  })
  childProcess[name] = wrapped
}

// The synchronous three: pidfd's own (execSync and execFileSync go through pidfd's spawnSync).
for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
  const nodeFn = childProcess[name]
  const ours = pidfd?.[name]
  childProcess[name] = {
    [name]() {
      if (mode !== 'pidfd' || !ours) return Reflect.apply(nodeFn, this, arguments)
      note('pidfd')
      return Reflect.apply(ours, this, arguments)
    },
  }[name]
}


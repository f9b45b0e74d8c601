// Loading the package: what it exports, and the one sentence it throws off Linux.

import test from 'ava'

import * as pidfd from '../index.js'
import { entry, root, runNode } from './helpers.js'

test('exports the API and reports support on this kernel', (t) => {
  // ESM sees the CommonJS module's named exports, plus its exports object as 'default' (and,
  // since Node 23, as 'module.exports').
  const names = Object.keys(pidfd).filter((k) => k !== 'default' && k !== 'module.exports')
  t.deepEqual(names.sort(), ['AsyncPidFd', 'Cgroup', 'Channel', 'PidFd', 'Subprocess', 'Subreaper', 'cgroupSupport', 'combineUsage', 'exec', 'execFile', 'execFileSync', 'execSync', 'features', 'fork', 'isSupported', 'spawn', 'spawnSync'])
  t.true(pidfd.isSupported())
})

test('pidfd/child_process has every export of node:child_process, from ESM and from CommonJS', async (t) => {
  const node = Object.keys(await import('node:child_process')).filter((k) => k !== 'default' && k !== 'module.exports' && !k.startsWith('_'))
  const esm = await runNode(
    `import('pidfd/child_process').then((m) => console.log(JSON.stringify({ keys: Object.keys(m), spawn: m.spawn === require('pidfd').spawn, def: typeof m.default.exec })))`,
    { prelude: false, cwd: root },
  )
  const cjs = await runNode(`const m = require('pidfd/child_process'); console.log(JSON.stringify({ keys: Object.keys(m), exec: m.exec === require('pidfd').exec }))`, {
    prelude: false,
    cwd: root,
  })
  const fromEsm = JSON.parse(esm.stdout) as { keys: string[]; spawn: boolean; def: string }
  const fromCjs = JSON.parse(cjs.stdout) as { keys: string[]; exec: boolean }
  for (const name of node) {
    t.true(fromEsm.keys.includes(name), `import: ${name}`)
    t.true(fromCjs.keys.includes(name), `require: ${name}`)
  }
  t.true(fromEsm.spawn, 'the package\'s spawn')
  t.is(fromEsm.def, 'function')
  t.true(fromCjs.exec, 'the package\'s exec')
})

test('off Linux, loading throws one clear sentence', async (t) => {
  const run = await runNode(
    `Object.defineProperty(process, 'platform', { value: 'darwin' });
     try { require(${JSON.stringify(entry)}); console.log('loaded') } catch (e) { console.log(e.message) }`,
    { prelude: false },
  )
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout.trim(), 'The pidfd package works only on Linux (it is built on pidfd_open and waitid(P_PIDFD)); this is darwin.')
})

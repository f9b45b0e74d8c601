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

test("every key of node:child_process, underscored ones too (_forkChild), is in pidfd/child_process and in the module pidfd/register patches, of the same typeof", async (t) => {
  // Each key with its typeof, from CommonJS and from ESM (whose namespace also has 'default').
  const shapes = (cjs: string, esm: string) => `
const shape = (m) => Object.fromEntries(Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').map((k) => [k, typeof m[k]]))
import(${JSON.stringify(esm)}).then((ns) => console.log(JSON.stringify({ cjs: shape(require(${JSON.stringify(cjs)})), esm: shape(ns) })))`
  const run = async (script: string, nodeArgs: string[] = [], env: Record<string, string> = {}) => {
    const r = await runNode(script, { prelude: false, cwd: root, nodeArgs, env })
    t.is(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as { cjs: Record<string, string>; esm: Record<string, string> }
  }
  const node = await run(shapes('node:child_process', 'node:child_process'))
  t.true('_forkChild' in node.cjs, 'Node has _forkChild')
  t.deepEqual(node.esm, node.cjs)
  const places = {
    'pidfd/child_process': await run(shapes('pidfd/child_process', 'pidfd/child_process')),
    // Where the package cannot serve, it is Node's own functions under the same names.
    'pidfd/child_process, Node serving (PIDFD_DISABLE=pidfdOpen)': await run(shapes('pidfd/child_process', 'pidfd/child_process'), [], { PIDFD_DISABLE: 'pidfdOpen' }),
    'node:child_process under pidfd/register': await run(shapes('node:child_process', 'node:child_process'), ['--require', 'pidfd/register']),
  }
  for (const [place, { cjs, esm }] of Object.entries(places)) {
    for (const [key, type] of Object.entries(node.cjs)) {
      t.is(cjs[key], type, `require: ${place}: ${key}`)
      t.is(esm[key], type, `import: ${place}: ${key}`)
    }
  }
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

// Loading the package: what it exports, and the one sentence it throws off Linux.

import test from 'ava'

import * as pidfd from '../index.js'
import { entry, runNode } from './helpers.js'

test('exports the API and reports support on this kernel', (t) => {
  // ESM sees the CommonJS module's named exports, plus its exports object as 'default' (and,
  // since Node 23, as 'module.exports').
  const names = Object.keys(pidfd).filter((k) => k !== 'default' && k !== 'module.exports')
  t.deepEqual(names.sort(), ['AsyncPidFd', 'PidFd', 'Subprocess', 'execFileSync', 'execSync', 'features', 'isSupported', 'spawn', 'spawnSync'])
  t.true(pidfd.isSupported())
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

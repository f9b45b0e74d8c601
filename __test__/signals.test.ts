// Signals by Node name or number, delivered through the pidfd and reported back by name.

import test from 'ava'
import { constants } from 'node:os'

import { spawn } from '../index.js'

const catchable = ['SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGALRM', 'SIGKILL'] as const

for (const name of catchable) {
  test(`${name} by name and by number reaches the child and comes back as '${name}'`, async (t) => {
    const byName = spawn('sleep', ['10'], { stdio: 'ignore' })
    t.true(byName.kill(name))
    const byNumber = spawn('sleep', ['10'], { stdio: 'ignore' })
    byNumber.pidfd.kill(constants.signals[name])
    for (const exit of [await byName.exited, await byNumber.exited]) {
      t.is(exit.signal, name)
      t.is(exit.signalNumber, constants.signals[name])
    }
  })
}

test("the default signal is 'SIGTERM'", async (t) => {
  const sub = spawn('sleep', ['10'], { stdio: 'ignore' })
  sub.pidfd.kill()
  t.is((await sub.exited).signal, 'SIGTERM')
  const other = spawn('sleep', ['10'], { stdio: 'ignore' })
  other.kill()
  t.is((await other.exited).signal, 'SIGTERM')
})

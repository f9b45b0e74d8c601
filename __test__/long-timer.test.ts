// The CLI's long timer (lib/cli/timer.ts): a delay past Node's setTimeout limit (2^31 − 1 ms,
// 24.8 days) is waited for in steps, not fired after 1 ms. The steps are made small here (a
// parameter) so that re-arming shows in milliseconds. Every check is an order of events or a
// lower bound on a delay (a timer never fires early), so a loaded machine cannot fail it.

import test from 'ava'
import { join } from 'node:path'

import { MAX_TIMER_STEP_MS, setLongTimeout } from '../lib/cli/timer.js'
import { root, runNode } from './helpers.js'

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

test('with a 20 ms step, a 200 ms timer re-arms until its end: it fires no sooner than 200 ms after the call, not after one step', async (t) => {
  // A lower bound only: a timer never fires before its delay, however loaded the machine (a
  // stalled loop makes it later, never sooner). A few ms are allowed for libuv's loop time,
  // which the last step is armed from and which may lag the clock read here.
  const start = performance.now()
  const fired = await new Promise<number>((resolve) => setLongTimeout(() => resolve(performance.now() - start), 200, 20))
  t.true(fired >= 195, `fired after ${fired.toFixed(1)} ms`)
})

test('25 days (past 2^31 − 1 ms) neither fires at once nor warns, as a plain setTimeout does', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.name)
  process.on('warning', onWarning)
  let fired = false
  const timer = setLongTimeout(() => (fired = true), 25 * 86_400_000)
  // A plain setTimeout of 25 days fires after 1 ms, so before this 50 ms one (timers of
  // different deadlines fire in order), and its warning is emitted on the next tick.
  await after(50)
  timer.clear()
  process.off('warning', onWarning)
  t.false(fired)
  t.deepEqual(warnings, [])
  t.is(MAX_TIMER_STEP_MS, 2 ** 31 - 1)
})

test('a step that fires after the deadline (a stalled loop) fires the callback at once, with no TimeoutNegativeWarning', async (t) => {
  // A 21 ms timer in 20 ms steps, and the loop then blocked for 60 ms: the step runs past the
  // deadline, so what is left is negative. Node 24 and later warn of a negative setTimeout delay
  // (Node 22 does not, so there only the 'fired' half can fail).
  const timer = JSON.stringify(join(root, 'lib', 'cli', 'timer.js'))
  const run = await runNode(
    `const { setLongTimeout } = require(${timer});
    process.on('warning', (w) => console.log('warning ' + w.name));
    setLongTimeout(() => console.log('fired'), 21, 20);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60);`,
    { prelude: false },
  )
  t.is(run.stdout, 'fired\n')
  t.is(run.code, 0)
})

test('clear() between two steps: it never fires', async (t) => {
  let fired = false
  const timer = setLongTimeout(() => (fired = true), 100, 10)
  await after(35)
  timer.clear()
  await after(200)
  t.false(fired)
})

test('unref() holds over every step: a process with only an unreferenced long timer exits without it', async (t) => {
  const timer = JSON.stringify(join(root, 'lib', 'cli', 'timer.js'))
  const script = (unref: boolean) => `
    const { setLongTimeout } = require(${timer});
    const long = setLongTimeout(() => console.log('fired'), 1000, 20);
    ${unref ? 'long.unref();' : ''}
    // Holds the process over the first steps, so that re-armed ones are what is left.
    setTimeout(() => {}, 100);
    process.on('exit', () => console.log('exit'));`
  // The control: referenced, it keeps the process until it fires.
  const referenced = await runNode(script(false), { prelude: false })
  t.is(referenced.stdout, 'fired\nexit\n')
  // Unreferenced: a step re-armed referenced would keep the process a second, and fire.
  const unreferenced = await runNode(script(true), { prelude: false })
  t.is(unreferenced.stdout, 'exit\n')
})

test('a delay that is not finite and non-negative, or a step past the limit, is a RangeError that names it', (t) => {
  for (const ms of [NaN, Infinity, -1]) t.throws(() => setLongTimeout(() => {}, ms), { instanceOf: RangeError, message: `setLongTimeout: ${ms} is not a delay` }, String(ms))
  for (const step of [0, 2 ** 31, NaN]) t.throws(() => setLongTimeout(() => {}, 10, step), { instanceOf: RangeError, message: `setLongTimeout: ${step} is not a step` }, String(step))
})

test('the bounds are taken: a delay of 0 fires, and so does a step of 1 ms', async (t) => {
  const fired: string[] = []
  await Promise.all([
    new Promise<void>((resolve) => setLongTimeout(() => (fired.push('delay 0'), resolve()), 0)),
    new Promise<void>((resolve) => setLongTimeout(() => (fired.push('step 1'), resolve()), 5, 1)),
  ])
  t.deepEqual(fired.sort(), ['delay 0', 'step 1'])
})

// A timer for any duration the CLI takes. Node's setTimeout holds at most 2^31 − 1 ms (24.8
// days): a longer delay only warns (TimeoutOverflowWarning) and fires after 1 ms, so a
// `--timeout 25d` killed the command at once. A longer one is armed here in steps of at most
// that, the time left read from a monotonic clock at each step (a change of the wall clock
// neither shortens nor lengthens it).

/** The longest delay Node's setTimeout takes as it is. */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1

export interface LongTimer {
  /** The callback will not run (as clearTimeout). */
  clear(): void
  /** It does not keep the event loop alive, over every step (as Timeout.unref). */
  unref(): LongTimer
}

/**
 * Runs `callback` once `ms` milliseconds have passed, for any finite `ms`. A delay of at most
 * `maxStepMs` is one plain setTimeout; a longer one waits `maxStepMs` at a time until what is
 * left fits in one. `maxStepMs` is a parameter for the tests, which cannot wait 24.8 days.
 */
export function setLongTimeout(callback: () => void, ms: number, maxStepMs = MAX_TIMER_STEP_MS): LongTimer {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`setLongTimeout: ${ms} is not a delay`)
  if (!(maxStepMs >= 1 && maxStepMs <= MAX_TIMER_STEP_MS)) throw new RangeError(`setLongTimeout: ${maxStepMs} is not a step`)
  const deadline = performance.now() + ms
  let handle: NodeJS.Timeout | undefined
  let referenced = true
  const arm = (left: number) => {
    // A step that fired late (a stalled loop) may find the deadline passed: what is left is then
    // 0, not a negative delay (which Node 24 and later warn of, TimeoutNegativeWarning).
    left = Math.max(0, left)
    handle = left <= maxStepMs ? setTimeout(callback, left) : setTimeout(() => arm(deadline - performance.now()), maxStepMs)
    if (!referenced) handle.unref()
  }
  arm(ms)
  const timer: LongTimer = {
    clear() {
      clearTimeout(handle)
      handle = undefined
    },
    unref() {
      referenced = false
      handle?.unref()
      return timer
    },
  }
  return timer
}

// Usage errors: one line on stderr and exit status 2, never a stack trace.

/** Told apart by `instanceof`; `main()` prints its message alone (`pidfd: …`). */
export class UsageError extends Error {}

/** Exit statuses of the CLI besides the command's own. */
export const EXIT = {
  /** --fail-on-leftovers, and processes were left running (wins over the command's own failure). */
  LEFTOVERS: 122,
  /** A --max-rss or --max-cpu budget was exceeded (wins over the command's own failure). */
  BUDGET: 123,
  /** --timeout expired and the command was killed (wins over everything). */
  TIMEOUT: 124,
  /** --cgroup required, and no cgroup could be made or entered here (the command did not run). */
  CGROUP: 125,
  /** The command exists but cannot be run. */
  CANNOT_EXECUTE: 126,
  /** The command was not found. */
  NOT_FOUND: 127,
  /** A bad option, size or duration. */
  USAGE: 2,
} as const

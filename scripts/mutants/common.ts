// What the generated-mutant runners share: the root, the cache directory, the time budget.

import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Results and Stryker's incremental files live here (ignored by git: /.tmp). */
export const cacheDir = join(root, '.tmp', 'mutants')
mkdirSync(cacheDir, { recursive: true })

/** A deadline from `--budget <minutes>` (default: none). */
export function deadline(minutes: string | undefined): number {
  return minutes === undefined ? Infinity : Date.now() + Number(minutes) * 60_000
}

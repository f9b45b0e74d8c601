// The mutation list stays applicable: each mutation's text occurs exactly once in its file, so
// `npm run mutate` still breaks what it says it breaks after the code moves (a stale one would be
// skipped, and its claim left unguarded without anyone noticing).

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { mutations } from '../scripts/mutations.js'
import { root } from './helpers.js'

test('every mutation in scripts/mutations.ts applies to exactly one place', (t) => {
  t.true(mutations.length >= 60, `${mutations.length} mutations`)
  const stale = mutations
    .map((m) => ({ m, count: readFileSync(join(root, m.file), 'utf8').split(m.find).length - 1 }))
    .filter(({ count }) => count !== 1)
    .map(({ m, count }) => `${m.file}: ${m.why} (found ${count} times)`)
  t.deepEqual(stale, [])
})

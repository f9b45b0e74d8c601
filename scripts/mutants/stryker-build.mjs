// Stryker's buildCommand, run once in its sandbox (<root>/.stryker-tmp/sandbox-*) after the
// mutants are compiled in: opens the sandbox to other users, links the project's node_modules and bench/'s (Stryker's own search walks the
// whole tree, target/ and the native runner's cargo builds included, and gives up on a directory
// that vanishes under it; so symlinkNodeModules is off), then builds the JavaScript that the
// tests' Node children require (index.js, lib/*.js), mutants switched by __STRYKER_ACTIVE_MUTANT__.

import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(process.cwd(), '..', '..')
// mkdtemp made the sandbox 0700: the tests that drop privileges run sh and the helper from it.
chmodSync('.', 0o755)
chmodSync('..', 0o755)
if (!existsSync('node_modules')) symlinkSync(join(root, 'node_modules'), 'node_modules', 'dir')
// Bun and Deno (bench/'s tools, left out of the copy) for the tests that run the package under them.
if (!existsSync('bench/node_modules') && existsSync(join(root, 'bench', 'node_modules'))) symlinkSync(join(root, 'bench', 'node_modules'), 'bench/node_modules', 'dir')
const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
process.exit(r.status ?? 1)

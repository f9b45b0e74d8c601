// StrykerJS for lib/: generated mutants, not chosen by whoever wrote the tests. Run it through
// `npm run mutants:lib` (scripts/mutants/lib.ts), which picks the files, the tests (by
// coverage: scripts/mutants/coverage-map.json) and the time budget, and sets these variables:
//
//   PIDFD_STRYKER_MUTATE  what to mutate: a file, or file:from-to (lines)   (lib/signals.ts)
//   PIDFD_STRYKER_TESTS   the ava test files to run per mutant, space-separated
//   PIDFD_STRYKER_NAME    the name of the report and incremental files under .tmp/mutants/lib/
//
// Each mutant is one ava run (the command runner: there is no ava plugin), a mutant being killed
// when ava fails. Mutant schemata: every mutant of the file is compiled in at once and chosen at
// run time by __STRYKER_ACTIVE_MUTANT__, which the tests' Node children inherit; so the sandbox
// is built once (buildCommand: tsc, for the children that require the built index.js) and not
// per mutant. The TypeScript checker drops the mutants that do not type-check before any run.

const mutate = process.env.PIDFD_STRYKER_MUTATE ?? 'lib/signals.ts'
const tests = process.env.PIDFD_STRYKER_TESTS ?? '__test__/signals.test.ts'
const name = process.env.PIDFD_STRYKER_NAME ?? 'manual'

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [mutate],
  testRunner: 'command',
  // In a PID namespace of its own (as root): a mutant that makes a pid -1 would otherwise
  // SIGKILL every process on the machine (scripts/mutants/common.ts, ISOLATE).
  // Its init is a shell that reaps what is orphaned to it, as init does (ISOLATE there too).
  commandRunner: { command: `unshare --pid --fork --mount-proc --kill-child sh -c '"$@"; exit $?' sh node node_modules/ava/entrypoints/cli.js --fail-fast ${tests}` },
  coverageAnalysis: 'off',
  buildCommand: 'node scripts/mutants/stryker-build.mjs',
  symlinkNodeModules: false,
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  concurrency: 1,
  timeoutFactor: 2,
  timeoutMS: 20000,
  dryRunTimeoutMinutes: 15,
  incremental: true,
  incrementalFile: `.tmp/mutants/lib/${name}.incremental.json`,
  reporters: ['json', 'clear-text', 'progress-append-only'],
  jsonReporter: { fileName: `.tmp/mutants/lib/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // The sandbox needs the built .node and pidfd-helper (ignored by git, so listed by nothing).
  ignorePatterns: ['/target', '/.tmp', '/.stryker-tmp', '/bench/node_modules', '/bench/out', '/npm', '*.tgz'],
}

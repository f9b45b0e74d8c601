#!/usr/bin/env node
// The `pidfd` command (see lib/cli/main.ts).

import { main } from '../lib/cli/main.js'

main(process.argv.slice(2))

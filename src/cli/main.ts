#!/usr/bin/env node
/** The `baton` executable: runs the CLI with the process arguments and exits with its code. */

import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2));
// Let buffered output reach a pipe before exiting (process.exit would cut it short).
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

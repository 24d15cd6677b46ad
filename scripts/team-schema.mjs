#!/usr/bin/env node
/** Writes schema/team.schema.json from the zod team schema (src/team); `--check` exits 1 when it is stale. */

import { readFileSync, writeFileSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const target = new URL('../schema/team.schema.json', import.meta.url);
const { formatTeamJsonSchema } = await tsImport('../src/team/team-json-schema.ts', import.meta.url);
const generated = formatTeamJsonSchema();

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (committed !== generated) {
    process.stderr.write('schema/team.schema.json is out of date; run: node scripts/team-schema.mjs\n');
    process.exit(1);
  }
  process.stdout.write('schema/team.schema.json is up to date.\n');
} else {
  writeFileSync(target, generated);
  process.stdout.write('Wrote schema/team.schema.json\n');
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTeamFile, TeamFileError } from './index.js';

// Checking a team file must grow linearly with its agents. Times are not asserted (they flake);
// instead every array element that loading visits is counted (iteration, spreads, includes, find,
// join, ...: the YAML parser, zod and Baton's checks alike), and a file twice as big must cost at
// most a little over twice as much. A check that scans every agent once per agent costs four times.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-scale-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/**
 * A team of `count` agents on `pattern`, each handing off to the next, allowed to call it as a
 * tool and asking for approval before it; with `typo`, every handoff names an agent that does not exist.
 */
function bigTeam(
  count: number,
  pattern: 'sequential' | 'supervisor' | 'groupChat',
  typo = false,
  offline = false,
): string {
  const names = Array.from({ length: count }, (_, index) => `agent-${index}`);
  const list = (key: string, items: string[]) => [`${key}:`, ...items.map((name) => `  - ${name}`)];
  const lines = ['name: big', 'model: openai:gpt-4o-mini', `pattern: ${pattern}`];
  const base = `${pattern}-${count}${typo ? '-typo' : ''}${offline ? '-offline' : ''}`;
  if (offline) {
    // A script with one turn for every agent.
    const script = names.flatMap((name) => [`${name}:`, `  - text: ${name} is done.`]);
    writeFileSync(join(workspace, `${base}.script.yaml`), `${script.join('\n')}\n`);
    lines.push('offline:', `  script: ./${base}.script.yaml`);
  }
  if (pattern === 'sequential') lines.push(...list('stages', names));
  if (pattern === 'supervisor') lines.push(`manager: ${names[0]}`, ...list('workers', names.slice(1)));
  if (pattern === 'groupChat')
    lines.push(
      ...list('members', names),
      'select:',
      `  selector: ${names[0]}`,
      '  candidates:',
      ...names.map((name) => `    - ${name}`),
    );
  lines.push('agents:');
  for (const [index, name] of names.entries()) {
    const next = names[(index + 1) % count] as string;
    lines.push(
      `  - name: ${name}`,
      `    instructions: Do step ${index}.`,
      `    handoffs: [${typo ? `${next}x` : next}]`,
      `    permissions: { tools: [${next}] }`,
      `    approvals: { ${next}: always }`,
    );
  }
  const file = join(workspace, `${base}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const scanning = [
  'includes',
  'indexOf',
  'lastIndexOf',
  'find',
  'findIndex',
  'some',
  'every',
  'filter',
  'map',
  'flatMap',
  'forEach',
  'reduce',
  'join',
  'slice',
  'concat',
] as const;

/** Array elements visited while `work` runs: every iterator step, plus the length of every array a scanning method ran over. */
async function elementsVisited(work: () => Promise<unknown>): Promise<number> {
  let visited = 0;
  const iteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]()) as { next: () => unknown };
  const next = iteratorPrototype.next;
  const prototype = Array.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = scanning.map((name) => [name, prototype[name]] as const);
  iteratorPrototype.next = function (this: unknown) {
    visited += 1;
    return next.call(this);
  };
  for (const [name, original] of originals) {
    prototype[name] = function (this: unknown[], ...args: unknown[]) {
      visited += this.length;
      return original?.apply(this, args);
    };
  }
  try {
    await work();
  } finally {
    iteratorPrototype.next = next;
    for (const [name, original] of originals) prototype[name] = original as (...args: unknown[]) => unknown;
  }
  return visited;
}

const load = (file: string) => () => loadTeamFile(file, { model: 'openai:gpt-4o-mini', cwd: workspace });
const loadOffline = (file: string) => () =>
  loadTeamFile(file, { model: 'offline', cwd: workspace, offlineChunkDelayMs: 0 });

const failure = (file: string) => async () => {
  const error = await load(file)().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return error;
};

describe('checking a big team file', () => {
  // One-time work (zod compiling the schema on first use, ...) is not part of what grows.
  beforeAll(async () => {
    await load(bigTeam(4, 'sequential'))();
  });

  it.each(['sequential', 'supervisor', 'groupChat'] as const)(
    'a valid %s team twice as big costs about twice as much to check',
    async (pattern) => {
      const small = await elementsVisited(load(bigTeam(400, pattern)));
      const large = await elementsVisited(load(bigTeam(800, pattern)));
      expect(large / small).toBeLessThan(2.3);
    },
  );

  it('a valid team run offline on a script with turns for every agent twice as big costs about twice as much to load', async () => {
    const small = await elementsVisited(loadOffline(bigTeam(400, 'sequential', false, true)));
    const large = await elementsVisited(loadOffline(bigTeam(800, 'sequential', false, true)));
    expect(large / small).toBeLessThan(2.3);
  });

  it('a team with a typo in every handoff twice as big costs about twice as much to check and report', async () => {
    const small = await elementsVisited(failure(bigTeam(400, 'sequential', true)));
    const large = await elementsVisited(failure(bigTeam(800, 'sequential', true)));
    expect(large / small).toBeLessThan(2.3);
  });

  it('still reports a key written twice in one mapping, at the second one', async () => {
    const file = join(workspace, 'twice.yaml');
    writeFileSync(
      file,
      'name: t\npattern: agent\nmodel: openai:gpt-4o-mini\nagents:\n  - name: a\n    instructions: x\n    name: b\n',
    );
    const error = (await failure(file)()) as TeamFileError;
    expect(error).toMatchObject({ line: 7, column: 5 });
    expect(error.message).toContain('invalid YAML: this key appears twice in the same mapping.');
  });

  it('still reports every problem of a big file, with its suggestion, and shows the first ones', async () => {
    const error = (await failure(bigTeam(800, 'sequential', true))()) as TeamFileError;
    expect(error.problems).toHaveLength(800);
    expect(error.problems[799]?.message).toMatch(
      /^unknown agent "agent-0x" \(known: agent-0, agent-1, [-\w, ]*, agent-19 and 780 more\)\. Did you mean "agent-0"\?$/,
    );
    expect(error.message.split('\n')[0]).toMatch(
      /agents\[0\]\.handoffs\[0\]: unknown agent "agent-1x" .*Did you mean "agent-1"\?$/,
    );
    expect(error.message).toContain('799 more problems:');
    expect(error.message).toMatch(/\.\.\. and \d+ more problems; error\.problems lists them all\.$/);
  });
});

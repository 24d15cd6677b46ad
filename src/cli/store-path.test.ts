import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStoreFolder, resolveStorePath } from './store-path.js';

const scratch = mkdtempSync(join(tmpdir(), 'baton-store-path-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('resolveStorePath', () => {
  it('takes --store, else BATON_STORE, else .baton/baton.db, relative to the working folder', () => {
    expect(resolveStorePath('runs.db', { BATON_STORE: '/var/baton.db' }, '/app')).toEqual({
      path: '/app/runs.db',
      origin: '--store',
    });
    expect(resolveStorePath(undefined, { BATON_STORE: 'data/runs.db' }, '/app')).toEqual({
      path: '/app/data/runs.db',
      origin: 'BATON_STORE',
    });
    expect(resolveStorePath(undefined, { BATON_STORE: '/var/baton.db' }, '/app').path).toBe('/var/baton.db');
    expect(resolveStorePath(undefined, { BATON_STORE: '' }, '/app')).toEqual({
      path: '/app/.baton/baton.db',
      origin: 'default',
    });
  });
});

describe('resolveStorePath with a Postgres URL', () => {
  it('keeps a postgres:// or postgresql:// URL as it is instead of resolving it as a path', () => {
    expect(resolveStorePath('postgres://baton@db/runs?schema=team_a', {}, '/app')).toEqual({
      path: 'postgres://baton@db/runs?schema=team_a',
      origin: '--store',
    });
    expect(resolveStorePath(undefined, { BATON_STORE: 'postgresql://db/runs' }, '/app')).toEqual({
      path: 'postgresql://db/runs',
      origin: 'BATON_STORE',
    });
    expect(resolveStorePath('postgres-runs.db', {}, '/app').path).toBe('/app/postgres-runs.db');
  });
});

describe('ensureStoreFolder', () => {
  it('creates the folder, and names the path and its origin when a file is in the way', () => {
    ensureStoreFolder(join(scratch, 'a', 'b', 'runs.db'), 'default');
    const blocker = join(scratch, 'file');
    writeFileSync(blocker, '');
    expect(() => ensureStoreFolder(join(blocker, 'runs.db'), 'BATON_STORE')).toThrow(
      `Cannot create the folder ${blocker} for the store ${join(blocker, 'runs.db')} (set by BATON_STORE): a file is in the way of a folder on that path.`,
    );
  });
});

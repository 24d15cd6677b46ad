import { describe, expect, it } from 'vitest';
import { BatonError } from '../../core/errors.js';
import { loadPg } from './postgres-driver.js';

describe('loadPg', () => {
  // The store loads pg only when it connects, so a project without Postgres never needs it.
  it('says to install pg when the package is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg' imported from /app/x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await loadPg(() => Promise.reject(missing)).catch((caught: unknown) => caught);
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('STORE_OPEN_FAILED');
    expect((error as BatonError).message).toContain('npm install pg');
    expect((error as BatonError).cause).toBe(missing);
  });

  it('loads the installed driver', async () => {
    const pg = await loadPg();
    expect(typeof pg.Pool).toBe('function');
  });
});

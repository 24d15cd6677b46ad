/** The optional Redis packages: a missing one is named with the command that installs it; other failures pass through. */

import { describe, expect, it } from 'vitest';
import { importPeer } from '../../src/distributed/redis/redis-packages.js';

describe('importPeer', () => {
  it('names a missing package and how to install it', async () => {
    const missing = 'baton-test-missing-peer';
    const error = await importPeer(missing, () => import(/* @vite-ignore */ missing)).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'CONFIG', fault: 'user' });
    expect((error as Error).message).toContain(
      `needs the package ${missing}, an optional peer dependency of batonjs that is not installed. Install it in your project: npm install ${missing}`,
    );
  });

  it('passes any other failure through unchanged', async () => {
    const broken = new Error('boom');
    await expect(importPeer('ioredis', () => Promise.reject(broken))).rejects.toBe(broken);
  });
});

import { describe, expect, it } from 'vitest';
import { planBatch } from './postgres-batch-plan.js';
import type { PostgresWriteGroup } from './postgres-write-groups.js';

const group = (id: string, sameKey: boolean): PostgresWriteGroup<unknown> => ({
  id,
  sameKey,
  runMany: async () => [],
});
const journal = group('journal', true);
const update = group('update', false);

/** The plan as `group:members` strings (`-` for a write's own statement). */
const plan = (writes: Parameters<typeof planBatch>[0]) =>
  planBatch(writes).map((step) => `${step.group?.id ?? '-'}:${step.members.join(',')}`);

describe('planBatch', () => {
  it('writes each kind of a batch on different runs with one statement', () => {
    expect(
      plan([
        { group: journal, key: 'run:a' },
        { group: update, key: 'run:b' },
        { group: journal, key: 'run:c' },
        { group: update, key: 'run:d' },
      ]),
    ).toEqual(['journal:0,2', 'update:1,3']);
  });

  it('lets a group that keeps order take several writes on one key', () => {
    expect(
      plan([
        { group: journal, key: 'run:a' },
        { group: journal, key: 'run:a' },
      ]),
    ).toEqual(['journal:0,1']);
  });

  it('starts a new statement for a second write on a key its group cannot share', () => {
    expect(
      plan([
        { group: update, key: 'run:a' },
        { group: update, key: 'run:b' },
        { group: update, key: 'run:a' },
      ]),
    ).toEqual(['update:0,1', 'update:2']);
  });

  it('never moves a write before an earlier write of another kind on its key', () => {
    expect(
      plan([
        { group: journal, key: 'run:a' },
        { group: update, key: 'run:a' },
        { group: journal, key: 'run:a' },
        { group: journal, key: 'run:b' },
      ]),
    ).toEqual(['journal:0,3', 'update:1', 'journal:2']);
  });

  it('writes runs that each append then update with two statements, however many runs', () => {
    expect(
      plan([
        { group: journal, key: 'run:a' },
        { group: update, key: 'run:a' },
        { group: journal, key: 'run:b' },
        { group: update, key: 'run:b' },
        { group: journal, key: 'run:c' },
      ]),
    ).toEqual(['journal:0,2,4', 'update:1,3']);
  });

  it('gives a write of no group its own statement, and one without a key a segment of its own', () => {
    expect(
      plan([
        { group: journal, key: 'run:a' },
        { key: 'stream:s' },
        { key: 'stream:s' },
        { group: journal, key: 'run:b' },
        {},
        { group: journal, key: 'run:c' },
      ]),
    ).toEqual(['journal:0,3', '-:1', '-:2', '-:4', 'journal:5']);
  });
});

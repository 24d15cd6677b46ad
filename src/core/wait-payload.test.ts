import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryStore } from '../stores/memory/index.js';
import { checkSignalPayload, payloadProblem, waitSchemaJson, waitsStream } from './wait-payload.js';

/** The shape of an approval answer: `true`/`false` or a strict `{ approved, reason? }`. */
const approvalAnswerSchema = z.union([
  z.boolean(),
  z.strictObject({ approved: z.boolean(), reason: z.string().optional() }),
]);

describe('wait payloads', () => {
  it('says what is wrong in the alternative of a union that came closest, from the zod schema or its recorded JSON Schema', () => {
    const recorded = waitSchemaJson(approvalAnswerSchema);
    expect(recorded).toBeDefined();
    for (const schema of [approvalAnswerSchema, recorded as Record<string, unknown>]) {
      expect(payloadProblem(schema, { approve: true })).toMatch(
        /^approved: Invalid input: expected boolean, received undefined; Unrecognized key: "approve"$/,
      );
      expect(payloadProblem(schema, 'yes')).toMatch(/expected (boolean|object), received string/);
      expect(payloadProblem(schema, { approved: false, reason: 'too much' })).toBeUndefined();
    }
  });

  it('checks a signal against the newest recorded waits, and passes when the record is missing, junk or has no schema', async () => {
    const store = createMemoryStore();
    await expect(checkSignalPayload(store, 'run_1', 'approval', { approve: true })).resolves.toBeUndefined();
    await store.appendRecord(waitsStream('run_1'), { waits: 'junk' });
    await expect(checkSignalPayload(store, 'run_1', 'approval', { approve: true })).resolves.toBeUndefined();
    await store.appendRecord(waitsStream('run_1'), {
      waits: [
        { signal: 'approval', schema: waitSchemaJson(z.object({ approved: z.boolean() })) },
        { signal: 'note' },
      ],
    });
    await expect(checkSignalPayload(store, 'run_1', 'approval', { approve: true })).rejects.toMatchObject({
      code: 'INVALID_SIGNAL_PAYLOAD',
      runId: 'run_1',
      message: expect.stringContaining('Run run_1 waits for "approval"'),
    });
    await expect(checkSignalPayload(store, 'run_1', 'approval', { approved: true })).resolves.toBeUndefined();
    await expect(checkSignalPayload(store, 'run_1', 'note', { anything: 1 })).resolves.toBeUndefined();
    await expect(checkSignalPayload(store, 'run_1', 'other', 42)).resolves.toBeUndefined();
  });
});

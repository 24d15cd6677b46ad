import { describe, expect, it } from 'vitest';
import {
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  type Tool,
  type ToolContext,
} from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const question = 'I was charged twice for my order A-1001, please refund the duplicate.';

interface Refund {
  refundId: string;
  orderId: string;
  chargeId: string;
  amount: number;
}

describe('customer-support example', () => {
  it('triage looks the order up, hands off to billing with a payload, billing refunds the duplicate once', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const handle = await runtime.start(team.runnable, question);
    const answer = await handle.result();

    const refunds = refundsOf(team.toolsModule);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      orderId: 'A-1001',
      chargeId: 'ch_1001_2',
      amount: 129,
      refundId: 'RF-A-1001-1',
    });
    expect(answer).toMatch(/refunded the duplicate charge of \$129\.00/);
    expect(answer).toContain('RF-A-1001-1');

    const handoff = events.find((event) => event.type === 'handoff');
    expect(handoff).toMatchObject({ from: 'triage', to: 'billing', payload: { orderId: 'A-1001' } });
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'model:triage',
      'tool:lookup_order',
      'model:triage',
      'model:billing',
      'tool:refund_order',
      'model:billing',
    ]);
    // The lookup after the refund shows it, and the order is no longer charged twice.
    const lookup = team.tools.get('lookup_order') as Tool<{ orderId: string }, { duplicateCharge: boolean }>;
    expect((await lookup.execute({ orderId: 'A-1001' }, context('check'))).duplicateCharge).toBe(false);
    await runtime.close();
  });

  it('refuses a second refund of the same charge and the last live charge, but returns the same refund to a retried call', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const refund = team.tools.get('refund_order') as Tool<
      { orderId: string; chargeId: string; reason: string },
      Refund
    >;
    const input = { orderId: 'A-1001', chargeId: 'ch_1001_2', reason: 'duplicate' };
    const first = await refund.execute(input, context('call-1'));
    expect(await refund.execute(input, context('call-1'))).toEqual(first);
    await expect(async () => refund.execute(input, context('call-2'))).rejects.toThrow(
      /already refunded \(RF-A-1001-1\)/,
    );
    await expect(async () =>
      refund.execute({ ...input, chargeId: 'ch_1001_1' }, context('call-3')),
    ).rejects.toThrow(/only charge left/);
    expect(refundsOf(team.toolsModule)).toHaveLength(1);
  });
});

/** The refund ledger of the tools module instance the team loaded. */
function refundsOf(module: Readonly<Record<string, unknown>> | undefined): Refund[] {
  const refunds = module?.refunds;
  if (typeof refunds !== 'function') throw new Error('tools.ts should export refunds()');
  return refunds() as Refund[];
}

function context(idempotencyKey: string): ToolContext {
  return {
    runId: 'test',
    agent: 'billing',
    toolCallId: idempotencyKey,
    idempotencyKey,
    signal: new AbortController().signal,
  };
}

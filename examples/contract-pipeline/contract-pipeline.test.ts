import { describe, expect, it } from 'vitest';
import { type BatonEvent, createMemoryStore, createRuntime } from '../../src/index.js';
import { loadTeamFile } from '../../src/team/index.js';
import { loadScript, scriptedModel } from '../../src/testing/index.js';

const teamFile = new URL('./team.yaml', import.meta.url).pathname;
const scriptFile = new URL('./script.yaml', import.meta.url);
const request =
  'Draft a mutual NDA between Acme Robotics GmbH (Munich, Germany) and Northwind Analytics Inc. (Delaware, USA). ' +
  'They will evaluate a joint predictive-maintenance product and share machine sensor logs that can include names ' +
  'and shift data of EU machine operators. Disclosures for 2 years, confidentiality for 5 years.';
const stages = ['template-drafter', 'clause-writer', 'compliance-reviewer', 'risk-assessor'];

interface CheckResult {
  regulation: string;
  compliant: boolean;
  met: number;
  of: number;
  missing: string[];
}
type CheckClause = (regulation: string, clause: string) => CheckResult;

/** The numbered clause `number` of an agreement's text, without its number. */
function clause(text: string, number: number): string {
  const match = new RegExp(`^${number}\\. (.+)$`, 'm').exec(text);
  if (match?.[1] === undefined) throw new Error(`no clause ${number} in:\n${text}`);
  return match[1];
}

describe('contract-pipeline example', () => {
  it('runs the four stages in order; the reviewer finds the missing breach notice, fixes it and re-checks', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline', offlineChunkDelayMs: 0 });
    expect(team.offline).toBe(true);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));

    const handle = await runtime.start(team.runnable, request);
    const answer = (await handle.result()) as string;

    expect(answer).toMatch(/^RISK ASSESSMENT - overall risk LOW-MEDIUM; ready to send to Northwind/);
    const finalText = answer.slice(answer.indexOf('FINAL TEXT'));
    expect(finalText).toContain('MUTUAL NON-DISCLOSURE AGREEMENT');
    expect(finalText).not.toMatch(/\{\{|\[\[CLAUSE:/);
    expect(finalText).toContain('For Northwind Analytics Inc.: ______________');

    expect(events.find((event) => event.type === 'pattern-start')).toMatchObject({
      pattern: 'sequential',
      name: 'contract-pipeline',
      members: stages,
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'completed' });
    const started = events.flatMap((event) => (event.type === 'agent-start' ? [event.agent] : []));
    expect(started).toEqual(stages);

    const calls = events.flatMap((event) =>
      event.type === 'tool-call' ? [{ agent: event.agent, tool: event.tool, input: event.input }] : [],
    );
    expect(calls.map((call) => `${call.agent}:${call.tool}`)).toEqual([
      'template-drafter:get_template',
      'clause-writer:get_template',
      'clause-writer:get_template',
      'compliance-reviewer:check_regulation',
      'compliance-reviewer:check_regulation',
      'compliance-reviewer:check_regulation',
    ]);
    const results = events.flatMap((event) =>
      event.type === 'tool-result' && event.tool === 'check_regulation' ? [event.output as CheckResult] : [],
    );
    expect(results.map(({ regulation, met, of, missing }) => ({ regulation, met, of, missing }))).toEqual([
      { regulation: 'GDPR', met: 6, of: 7, missing: ['breach-notification'] },
      { regulation: 'EXPORT_CONTROL', met: 4, of: 4, missing: [] },
      { regulation: 'GDPR', met: 7, of: 7, missing: [] },
    ]);

    // The clauses in the final text are the ones that passed, and they pass again here.
    const check = (team.toolsModule as { checkClause: CheckClause }).checkClause;
    expect(check('GDPR', clause(finalText, 6)).compliant).toBe(true);
    expect(check('EXPORT_CONTROL', clause(finalText, 7)).compliant).toBe(true);
    expect(clause(finalText, 6)).toContain('within 48 hours');
    await runtime.close();
  });

  it('gives each stage the previous stage output as its input', async () => {
    const model = scriptedModel(await loadScript(scriptFile));
    const team = await loadTeamFile(teamFile, { model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    await (await runtime.start(team.runnable, request)).result();
    const firstPromptOf = (agent: string): string =>
      JSON.stringify(model.calls.find((call) => call.providerOptions?.baton?.agent === agent)?.prompt);
    expect(firstPromptOf('template-drafter')).toContain('Draft a mutual NDA between Acme Robotics GmbH');
    expect(firstPromptOf('clause-writer')).toContain('DRAFT 1 - Mutual Non-Disclosure Agreement');
    expect(firstPromptOf('clause-writer')).toContain('[[CLAUSE:data-protection]]');
    expect(firstPromptOf('compliance-reviewer')).toContain('DRAFT 2 - clauses 6 and 7 written');
    expect(firstPromptOf('risk-assessor')).toContain('DRAFT 3 - compliance reviewed');
    expect(firstPromptOf('risk-assessor')).not.toContain('DRAFT 2');
    await runtime.close();
  });

  it('fills the template slots the tool reports, and the library data-protection clause lacks a breach notice', async () => {
    const team = await loadTeamFile(teamFile, { model: 'offline' });
    const module = team.toolsModule as {
      checkClause: CheckClause;
      slotsOf: (text: string) => { placeholders: string[]; clauseSlots: string[] };
    };
    const template = (await team.tools.get('get_template')?.execute({ id: 'mutual-nda' }, context())) as {
      placeholders: string[];
      clauseSlots: string[];
    };
    expect(template.placeholders).toContain('GOVERNING_LAW');
    expect(template.clauseSlots).toEqual(['data-protection', 'export-control']);
    const library = (await team.tools
      .get('get_template')
      ?.execute({ id: 'clause/data-protection' }, context())) as {
      text: string;
    };
    expect(module.checkClause('gdpr', library.text).missing).toEqual([
      'breach-notification',
      'international-transfer',
    ]);

    const script = (await loadScript(scriptFile)) as Record<string, Array<{ text?: string }>>;
    const draft1 = script['template-drafter']?.[1]?.text ?? '';
    expect(module.slotsOf(draft1)).toEqual({
      placeholders: [],
      clauseSlots: ['data-protection', 'export-control'],
    });
    await expect(async () =>
      team.tools.get('get_template')?.execute({ id: 'nda' }, context()),
    ).rejects.toThrow(/No template "nda". Ids: mutual-nda/);
    expect(() => module.checkClause('HIPAA', 'Some clause text here.')).toThrow(
      /Unknown regulation "HIPAA". Known: GDPR, EXPORT_CONTROL/,
    );
  });
});

function context() {
  return {
    runId: 'test',
    agent: 'test',
    toolCallId: 'call',
    idempotencyKey: 'call',
    signal: new AbortController().signal,
  };
}

/** The nested team the pattern crash test kills: magentic -> supervisor -> makerChecker -> an agent with a tool. */

import { z } from 'zod';
import { agent, magentic, makerChecker, supervisor, tool } from '../../src/index.js';
import { type ScriptedTurn, scriptedModel } from '../../src/testing/index.js';
import { effects } from './crash-flow.js';

/** The task the team gets. */
export const teamTask = 'Publish the release note for v2.';

const progress = (done: boolean, speaker: string, instruction: string) =>
  JSON.stringify({
    requestSatisfied: { answer: done, reason: done ? 'the desk delivered an approved note' : 'no note yet' },
    inLoop: { answer: false, reason: 'first request' },
    progressBeingMade: { answer: true, reason: 'the plan is moving' },
    nextSpeaker: { answer: speaker, reason: 'the desk writes and reviews notes' },
    instruction: { answer: instruction, reason: 'step 1 of the plan' },
  });

/**
 * Every model call of the team, by agent and turn. `lead` manages the magentic team (task ledger,
 * two progress ledgers, final answer); `chief` is the supervisor's manager and delegates once to
 * the maker/checker `review`; there `writer` looks up the changelog with a tool, drafts, is
 * rejected by `critic` and revises.
 */
export const teamScript: Readonly<Record<string, readonly ScriptedTurn[]>> = {
  lead: [
    {
      text: JSON.stringify({
        facts: { given: ['v2 is released'], toLookUp: ['the v2 changelog'], toDerive: [], guesses: [] },
        plan: ['desk: write and review the v2 release note', 'publish it'],
      }),
    },
    { text: progress(false, 'desk', 'Write the v2 release note and have it reviewed.') },
    { text: progress(true, 'desk', 'Publish it.') },
    { text: 'Published: v2 adds offline mode and fixes the sync bug.' },
  ],
  chief: [
    { toolCalls: [{ tool: 'review', input: { input: 'Draft the v2 release note from the changelog.' } }] },
    { text: 'The desk has an approved note: v2 adds offline mode and fixes the sync bug.' },
  ],
  writer: [
    { toolCalls: [{ tool: 'changelog', input: { version: 'v2' } }] },
    { text: 'v2 adds offline mode.' },
    { text: 'v2 adds offline mode and fixes the sync bug.' },
  ],
  critic: [{ text: 'REJECTED\nMention the sync bug fix.' }, { text: 'APPROVED' }],
};

/**
 * The team. Every model call and tool call first appends a line to `logPath` (tags
 * `model:<agent>#<turn>` and `tool:changelog@<step key>`); the one tagged `killAt` then hangs
 * after printing `IN-FLIGHT <tag>`, so the test can kill the process in the middle of it.
 */
export function patternCrashTeam(logPath: string, killAt: string | undefined) {
  const effect = effects(logPath, killAt);
  const model = scriptedModel(async ({ agent: name, turn }) => {
    const scripted = name === undefined ? undefined : teamScript[name]?.[turn];
    if (scripted === undefined) throw new Error(`no scripted turn ${turn} for agent ${String(name)}`);
    await effect(`model:${name}#${turn}`, null);
    return scripted;
  });
  const changelog = tool({
    name: 'changelog',
    description: 'Returns the changelog of a version',
    input: z.object({ version: z.string() }),
    execute: ({ version }) =>
      effect(`tool:changelog:${version}`, { version, changes: ['offline mode', 'sync bug fixed'] }),
  });
  const writer = agent({
    name: 'writer',
    instructions: 'Write release notes from the changelog.',
    model,
    tools: [changelog],
  });
  const critic = agent({ name: 'critic', instructions: 'Review release notes.', model });
  const review = makerChecker({
    name: 'review',
    maker: writer,
    checker: critic,
    criteria: ['Mentions every change in the changelog'],
    maxRounds: 3,
  });
  const desk = supervisor({
    name: 'desk',
    manager: agent({ name: 'chief', instructions: 'Delegate the note, then report.', model }),
    workers: [{ run: review, description: 'Writes a release note and has it reviewed', name: 'review' }],
  });
  return magentic({
    name: 'release-team',
    manager: agent({ name: 'lead', instructions: 'Lead the release.', model }),
    members: [desk],
  });
}

/** Phase 1 of a turn: build the prompt (instructions + conversation) and the tool list the model sees. */

import type { LanguageModelV3FunctionTool, LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Message } from '../context/messages.js';
import type { Agent, AnyTool } from './agent.js';
import type { Transfer } from './handoff.js';

/** The tools an agent offers the model (its own tools plus its handoffs), computed once per agent and handoff set. */
export function modelTools(
  agent: Agent<unknown>,
  transfers: readonly Transfer[],
  offered: readonly AnyTool[] = agent.tools,
): LanguageModelV3FunctionTool[] {
  const tools: LanguageModelV3FunctionTool[] = offered.map((tool) => ({
    type: 'function',
    name: tool.name,
    description: tool.description,
    inputSchema: tool.jsonSchema,
  }));
  for (const handoff of transfers) {
    tools.push({
      type: 'function',
      name: handoff.toolName,
      description: handoff.description,
      inputSchema: handoff.jsonSchema,
    });
  }
  return tools;
}

/** The prompt for the next model call: system instructions, then the conversation. */
export function preparePrompt(
  agent: Agent<unknown>,
  history: readonly Message[],
  runId: string,
  payload: unknown,
): LanguageModelV3Prompt {
  const instructions =
    typeof agent.instructions === 'function'
      ? agent.instructions({ agent: agent.name, runId, payload })
      : agent.instructions;
  // `concat` sizes the array exactly; a spread leaves room to grow (168 bytes of elements for a
  // two-message prompt instead of 32), held for as long as the model call takes.
  const system: LanguageModelV3Prompt = [{ role: 'system', content: instructions }];
  return system.concat(history);
}

// Google ADK peer: LlmAgent + InMemoryRunner, a new in-memory session per run (kept, as runAsync does).
import { adkImportSpecifiers, adkPackages, createAdkCase } from '../lib/adk-agent.mjs';
import { assertFinalOutput, PROMPT } from '../lib/workload.mjs';

export const name = 'adk';
export const kind = 'peer';
export const description =
  'LlmAgent + FunctionTool + InMemoryRunner with a fake BaseLlm; createSession + runAsync per run, sessions stay in the in-memory session service.';
export const importSpecifiers = adkImportSpecifiers;
export const packages = adkPackages;

export async function setup() {
  const agent = createAdkCase({ ephemeral: false });
  return {
    runOnce: async () => {
      assertFinalOutput(name, await agent.run(PROMPT));
    },
    close: async () => {},
    toolCalls: agent.toolCalls,
    modelCalls: agent.modelCalls,
  };
}

// Google ADK peer: LlmAgent + InMemoryRunner.runEphemeral, which deletes each run's session at the end.
import { adkImportSpecifiers, adkPackages, createAdkCase } from '../lib/adk-agent.mjs';
import { assertFinalOutput, PROMPT } from '../lib/workload.mjs';

export const name = 'adk-ephemeral';
export const kind = 'peer';
export const description =
  'LlmAgent + FunctionTool + InMemoryRunner with a fake BaseLlm; runEphemeral per run (session deleted when the run ends).';
export const importSpecifiers = adkImportSpecifiers;
export const packages = adkPackages;

export async function setup() {
  const agent = createAdkCase({ ephemeral: true });
  return {
    runOnce: async () => {
      assertFinalOutput(name, await agent.run(PROMPT));
    },
    close: async () => {},
    toolCalls: agent.toolCalls,
    modelCalls: agent.modelCalls,
  };
}

// LangGraph.js peer with the in-memory MemorySaver checkpointer and a new thread id per run.
import { MemorySaver } from '@langchain/langgraph';
import {
  createLanggraphCase,
  langgraphImportSpecifiers,
  langgraphPackages,
} from '../lib/langgraph-agent.mjs';
import { assertFinalOutput, PROMPT } from '../lib/workload.mjs';

export const name = 'langgraph-memorysaver';
export const kind = 'peer';
export const description =
  'createReactAgent with a MemorySaver checkpointer (default durability), one thread id per run; the saver keeps every thread.';
export const importSpecifiers = langgraphImportSpecifiers;
export const packages = langgraphPackages;

export async function setup() {
  const agent = createLanggraphCase({ caseName: name, checkpointer: new MemorySaver() });
  return {
    runOnce: async () => {
      assertFinalOutput(name, await agent.run(PROMPT));
    },
    close: async () => {},
    toolCalls: agent.toolCalls,
    modelCalls: agent.modelCalls,
  };
}

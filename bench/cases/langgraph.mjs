// LangGraph.js peer without a checkpointer: createReactAgent, nothing persisted between runs.
import {
  createLanggraphCase,
  langgraphImportSpecifiers,
  langgraphPackages,
} from '../lib/langgraph-agent.mjs';
import { assertFinalOutput, PROMPT } from '../lib/workload.mjs';

export const name = 'langgraph';
export const kind = 'peer';
export const description = 'createReactAgent (prebuilt) with a fake BaseChatModel; no checkpointer.';
export const importSpecifiers = langgraphImportSpecifiers;
export const packages = langgraphPackages;

export async function setup() {
  const agent = createLanggraphCase({ caseName: name });
  return {
    runOnce: async () => {
      assertFinalOutput(name, await agent.run(PROMPT));
    },
    close: async () => {},
    toolCalls: agent.toolCalls,
    modelCalls: agent.modelCalls,
  };
}

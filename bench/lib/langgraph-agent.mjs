// LangGraph.js peer: a fake BaseChatModel with bindTools, and createReactAgent over the `add` tool.
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { z } from 'zod';
import {
  ADD_ARGUMENTS,
  ADD_TOOL,
  createAddTool,
  createCallIds,
  createCounter,
  FINAL_ANSWER,
} from './workload.mjs';

// LangSmith tracing is opt-in through these variables; unset them so a developer's shell cannot
// turn it on for the benchmark (it would add network export to every run). Unset, not 'false':
// @langchain/core treats any non-empty LANGCHAIN_TRACING value as truthy.
for (const variable of [
  'LANGSMITH_TRACING',
  'LANGSMITH_TRACING_V2',
  'LANGCHAIN_TRACING_V2',
  'LANGCHAIN_TRACING',
]) {
  delete process.env[variable];
}

export const langgraphImportSpecifiers = [
  '@langchain/langgraph',
  '@langchain/langgraph/prebuilt',
  '@langchain/core/language_models/chat_models',
  '@langchain/core/messages',
  '@langchain/core/tools',
];

export const langgraphPackages = [
  '@langchain/langgraph',
  '@langchain/langgraph-checkpoint',
  '@langchain/core',
];

/**
 * A chat model that answers instantly: with a tool result as the last message it answers the
 * final text, otherwise it asks for add(2, 3). It goes through BaseChatModel's normal invoke path
 * (callbacks, run managers, message coercion), like a real provider model without the network.
 */
class FakeAddChatModel extends BaseChatModel {
  #nextCallId = createCallIds();
  #modelCalls;

  constructor(modelCalls) {
    super({});
    this.#modelCalls = modelCalls;
  }

  _llmType() {
    return 'bench-fake';
  }

  // Like real providers, binding tools converts them to the provider's tool format once and
  // returns a configured binding of this model.
  bindTools(tools, kwargs) {
    return this.withConfig({ tools: tools.map((item) => convertToOpenAITool(item)), ...kwargs });
  }

  async _generate(messages) {
    this.#modelCalls.increment();
    const last = messages[messages.length - 1];
    const message = ToolMessage.isInstance(last)
      ? new AIMessage({ content: FINAL_ANSWER })
      : new AIMessage({
          content: '',
          tool_calls: [
            { id: this.#nextCallId(), name: ADD_TOOL.name, args: { ...ADD_ARGUMENTS }, type: 'tool_call' },
          ],
        });
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
  }
}

/**
 * Builds the prebuilt ReAct agent. With a checkpointer every run gets its own thread id, so the
 * saver keeps one thread per finished run (as an application serving many conversations would).
 */
export function createLanggraphCase({ caseName, checkpointer }) {
  const add = createAddTool();
  const modelCalls = createCounter();
  const addTool = tool(async (input) => add.execute(input), {
    name: ADD_TOOL.name,
    description: ADD_TOOL.description,
    schema: z.object({ a: z.number(), b: z.number() }),
  });
  const agent = createReactAgent({
    llm: new FakeAddChatModel(modelCalls),
    tools: [addTool],
    ...(checkpointer ? { checkpointer } : {}),
  });
  let thread = 0;

  return {
    agent,
    toolCalls: add.count,
    modelCalls: modelCalls.count,
    async run(prompt) {
      thread += 1;
      const config = checkpointer ? { configurable: { thread_id: `${caseName}-${thread}` } } : undefined;
      const state = await agent.invoke({ messages: [{ role: 'user', content: prompt }] }, config);
      return state.messages[state.messages.length - 1].content;
    },
  };
}

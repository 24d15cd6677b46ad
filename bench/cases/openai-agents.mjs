// OpenAI Agents SDK peer: Agent + run() + tool() with a custom Model; tracing disabled.
import { Agent, run, setTracingDisabled, tool, Usage } from '@openai/agents';
import { z } from 'zod';
import {
  ADD_ARGUMENTS,
  ADD_TOOL,
  assertFinalOutput,
  createAddTool,
  createCallIds,
  createCounter,
  FINAL_ANSWER,
  PROMPT,
} from '../lib/workload.mjs';

export const name = 'openai-agents';
export const kind = 'peer';
export const description =
  'Agent + run() with a custom Model (getResponse/getStreamedResponse); tracing disabled with setTracingDisabled(true); no session.';
export const importSpecifiers = ['@openai/agents'];
export const packages = ['@openai/agents', '@openai/agents-core', 'openai'];

/**
 * The SDK's Model interface without the network: a function_call_result as the last input item
 * means answer, otherwise request the add tool. The Runner executes tools and loops itself.
 */
class FakeAddModel {
  #nextCallId = createCallIds();
  #modelCalls;

  constructor(modelCalls) {
    this.#modelCalls = modelCalls;
  }

  async getResponse(request) {
    this.#modelCalls.increment();
    const input = request.input;
    const last = Array.isArray(input) ? input[input.length - 1] : undefined;
    if (last?.type === 'function_call_result') {
      return {
        usage: new Usage(),
        output: [
          {
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: FINAL_ANSWER }],
          },
        ],
      };
    }
    return {
      usage: new Usage(),
      output: [
        {
          type: 'function_call',
          callId: this.#nextCallId(),
          name: ADD_TOOL.name,
          arguments: JSON.stringify(ADD_ARGUMENTS),
          status: 'completed',
        },
      ],
    };
  }

  async *getStreamedResponse(request) {
    const response = await this.getResponse(request);
    yield {
      type: 'response_done',
      response: {
        id: 'fake-response',
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        output: response.output,
      },
    };
  }
}

export async function setup() {
  // Without this the SDK batches spans and exports them to OpenAI's tracing endpoint.
  setTracingDisabled(true);
  const add = createAddTool();
  const modelCalls = createCounter();
  const addTool = tool({
    name: ADD_TOOL.name,
    description: ADD_TOOL.description,
    parameters: z.object({ a: z.number(), b: z.number() }),
    execute: async (input) => add.execute(input),
  });
  const agent = new Agent({
    name: 'calculator',
    instructions: 'Use the add tool to answer arithmetic questions.',
    model: new FakeAddModel(modelCalls),
    tools: [addTool],
  });
  return {
    runOnce: async () => {
      const result = await run(agent, PROMPT);
      assertFinalOutput(name, result.finalOutput);
    },
    close: async () => {},
    toolCalls: add.count,
    modelCalls: modelCalls.count,
  };
}

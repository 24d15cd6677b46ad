// Google ADK peer: a fake BaseLlm, an LlmAgent with a FunctionTool, and an InMemoryRunner.
import { BaseLlm, FunctionTool, InMemoryRunner, isFinalResponse, LlmAgent } from '@google/adk';
import { z } from 'zod';
import {
  ADD_ARGUMENTS,
  ADD_TOOL,
  createAddTool,
  createCallIds,
  createCounter,
  FINAL_ANSWER,
} from './workload.mjs';

export const adkImportSpecifiers = ['@google/adk'];
export const adkPackages = ['@google/adk', '@google/genai'];

const APP_NAME = 'bench';
const USER_ID = 'bench-user';

/**
 * A BaseLlm that answers instantly: a functionResponse part in the last content means answer,
 * otherwise emit a functionCall for add(2, 3). ADK's flow runs the tool and calls it again.
 */
class FakeAddLlm extends BaseLlm {
  #nextCallId = createCallIds();
  #modelCalls;

  constructor(modelCalls) {
    super({ model: 'bench-fake' });
    this.#modelCalls = modelCalls;
  }

  async *generateContentAsync(request) {
    this.#modelCalls.increment();
    const last = request.contents[request.contents.length - 1];
    const sawToolResult = last?.parts?.some((part) => part.functionResponse !== undefined) ?? false;
    if (sawToolResult) {
      yield { content: { role: 'model', parts: [{ text: FINAL_ANSWER }] }, turnComplete: true };
      return;
    }
    yield {
      content: {
        role: 'model',
        parts: [
          { functionCall: { id: this.#nextCallId(), name: ADD_TOOL.name, args: { ...ADD_ARGUMENTS } } },
        ],
      },
      turnComplete: true,
    };
  }

  async connect() {
    throw new Error('the benchmark model has no live mode');
  }
}

/**
 * Builds the agent and runner. `ephemeral: false` creates a session per run and leaves it in the
 * in-memory session service (the usual `runAsync` pattern, history kept); `ephemeral: true`
 * uses `runEphemeral`, which deletes the session when the run ends.
 */
export function createAdkCase({ ephemeral }) {
  const add = createAddTool();
  const modelCalls = createCounter();
  const addTool = new FunctionTool({
    name: ADD_TOOL.name,
    description: ADD_TOOL.description,
    parameters: z.object({ a: z.number(), b: z.number() }),
    execute: async (input) => add.execute(input),
  });
  const agent = new LlmAgent({
    name: 'calculator',
    model: new FakeAddLlm(modelCalls),
    instruction: 'Use the add tool to answer arithmetic questions.',
    tools: [addTool],
  });
  const runner = new InMemoryRunner({ agent, appName: APP_NAME });

  async function collectFinalText(events) {
    let finalText;
    for await (const event of events) {
      if (event.errorMessage) throw new Error(`adk run failed: ${event.errorCode} ${event.errorMessage}`);
      if (isFinalResponse(event)) {
        const text = event.content?.parts?.map((part) => part.text ?? '').join('');
        if (text) finalText = text;
      }
    }
    return finalText;
  }

  return {
    toolCalls: add.count,
    modelCalls: modelCalls.count,
    async run(prompt) {
      const newMessage = { role: 'user', parts: [{ text: prompt }] };
      if (ephemeral) return collectFinalText(runner.runEphemeral({ userId: USER_ID, newMessage }));
      const session = await runner.sessionService.createSession({ appName: APP_NAME, userId: USER_ID });
      return collectFinalText(runner.runAsync({ userId: USER_ID, sessionId: session.id, newMessage }));
    },
  };
}

// The floor: a plain-JS agent loop (call model, run the tool, call model again), no framework.
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

export const name = 'handwritten-loop';
export const kind = 'floor';
export const description =
  'Plain JS loop: messages array, fake model, JSON tool arguments, tool result appended, second model call.';
export const importSpecifiers = [];
export const packages = [];

/** The fake model: a tool result as the last message means answer, otherwise call the tool. */
function createFakeModel(modelCalls) {
  const nextCallId = createCallIds();
  return async (messages) => {
    modelCalls.increment();
    const last = messages[messages.length - 1];
    if (last.role === 'tool') return { role: 'assistant', content: FINAL_ANSWER, toolCalls: [] };
    return {
      role: 'assistant',
      content: '',
      toolCalls: [{ id: nextCallId(), name: ADD_TOOL.name, arguments: JSON.stringify(ADD_ARGUMENTS) }],
    };
  };
}

export async function setup() {
  const add = createAddTool();
  const tools = { [ADD_TOOL.name]: async (input) => add.execute(input) };
  const modelCalls = createCounter();
  const model = createFakeModel(modelCalls);

  async function runAgent(prompt, maxTurns = 10) {
    const messages = [{ role: 'user', content: prompt }];
    for (let turn = 0; turn < maxTurns; turn += 1) {
      const reply = await model(messages);
      messages.push(reply);
      if (reply.toolCalls.length === 0) return reply.content;
      for (const call of reply.toolCalls) {
        const tool = tools[call.name];
        if (!tool) throw new Error(`unknown tool ${call.name}`);
        const result = await tool(JSON.parse(call.arguments));
        messages.push({ role: 'tool', toolCallId: call.id, content: String(result) });
      }
    }
    throw new Error(`no final answer after ${maxTurns} turns`);
  }

  return {
    runOnce: async () => {
      assertFinalOutput(name, await runAgent(PROMPT));
    },
    close: async () => {},
    toolCalls: add.count,
    modelCalls: modelCalls.count,
  };
}

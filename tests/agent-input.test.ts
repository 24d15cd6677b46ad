import { InvalidPromptError } from '@ai-sdk/provider';
import type { ModelMessage, UIMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { agent } from '../src/agents/agent.js';
import type { BatonError } from '../src/core/errors.js';
import { createRuntime } from '../src/core/runtime.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { scriptedModel } from '../src/testing/scripted-model.js';

const userText = (prompt: unknown): string[] =>
  (prompt as { role: string; content: unknown }[])
    .filter((message) => message.role !== 'system')
    .map((message) => JSON.stringify(message.content));

describe('agent input from apps: AI SDK ModelMessages and useChat UIMessages', () => {
  it('converts ModelMessage[] and UIMessage[] (bare or in { messages }) to the prompt providers take', async () => {
    const modelMessages: ModelMessage[] = [
      { role: 'user', content: 'Where is order A-1?' },
      { role: 'assistant', content: 'Let me check.' },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ];
    const uiMessages: UIMessage[] = [
      { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi from useChat' }] },
      { id: 'm2', role: 'assistant', parts: [{ type: 'text', text: 'Hello!' }] },
      { id: 'm3', role: 'user', parts: [{ type: 'text', text: 'Refund A-1' }] },
    ];
    const model = scriptedModel(() => ({ text: 'ok' }));
    const helper = agent({ name: 'helper', instructions: 'Help.', model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    for (const input of [modelMessages, { messages: modelMessages }, uiMessages, { messages: uiMessages }]) {
      const handle = await runtime.start(helper, input);
      expect(await handle.result()).toBe('ok');
    }
    expect(userText(model.calls[0]?.prompt)).toEqual([
      '[{"type":"text","text":"Where is order A-1?"}]',
      '[{"type":"text","text":"Let me check."}]',
      '[{"type":"text","text":"Thanks"}]',
    ]);
    expect(model.calls[1]?.prompt).toEqual(model.calls[0]?.prompt);
    expect(userText(model.calls[2]?.prompt)).toEqual([
      '[{"type":"text","text":"Hi from useChat"}]',
      '[{"type":"text","text":"Hello!"}]',
      '[{"type":"text","text":"Refund A-1"}]',
    ]);
    expect(model.calls[3]?.prompt).toEqual(model.calls[2]?.prompt);
    await runtime.close();
  });

  it('refuses malformed input at start with INVALID_INPUT, storing no run', async () => {
    const model = scriptedModel(() => ({ text: 'never' }));
    const helper = agent({ name: 'helper', instructions: 'Help.', model });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const cases: [unknown, string][] = [
      [
        { messages: [{ role: 'user', text: 'hi' }] },
        'messages[0] "content" must be a string or an array of parts',
      ],
      [
        [{ role: 'system', content: 'be nice' }],
        "input[0] is a system message; put system text in the agent's instructions",
      ],
      [[{ role: 'user', content: [{ type: 'txt', text: 'hi' }] }], 'input[0] content[0] has type "txt"'],
      [42, 'expected a string, an array of messages or { messages, context? }, got number'],
    ];
    for (const [input, message] of cases) {
      const error = (await runtime
        .start(helper, input as string)
        .catch((caught: unknown) => caught)) as BatonError;
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain('Invalid input for "helper"');
      expect(error.message).toContain(message);
    }
    expect(await runtime.list()).toEqual([]);
    expect(model.calls).toHaveLength(0);
    await runtime.close();
  });

  it('the scripted model refuses a prompt a real provider cannot take', async () => {
    const model = scriptedModel([{ text: 'never' }]);
    const call = (prompt: unknown) => model.doGenerate({ prompt: prompt as never });
    await expect(call([{ role: 'user', content: 'hi' }])).rejects.toThrow(InvalidPromptError);
    await expect(call([{ role: 'user', content: 'hi' }])).rejects.toThrow(
      'prompt[0] (user): "content" is a string; a provider needs an array of parts',
    );
    await expect(call([{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }])).rejects.toThrow(
      'this looks like a useChat UIMessage',
    );
    await expect(
      call([{ role: 'assistant', content: [{ type: 'tool-call', toolName: 'x' }] }]),
    ).rejects.toThrow(
      'prompt[0] (assistant): content[0] (tool-call) needs string "toolCallId" and "toolName"',
    );
    // A valid prompt still plays the script.
    const result = await call([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    expect(result.content).toEqual([{ type: 'text', text: 'never' }]);
  });
});

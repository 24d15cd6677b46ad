/** The API key prompt: shown when the server answers 401 (no key, or one it refuses); the key is kept in this browser. */

import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { saveKey } from './api.js';

/** Asks for an API key, saying why. */
export function KeyPrompt({ message }: { message: string }) {
  const value = useSignal('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <section class="key-prompt card" aria-labelledby="key-title">
      <h1 id="key-title">API key needed</h1>
      <p class="problem" role="alert">
        {message}
      </p>
      <p>
        Create a key where the server's store is and paste it here:
        <code class="block">baton keys create --scope read,run,approve --name dashboard</code>
        <span class="hint">
          read: every page; run: cancel; approve: answer the inbox. The key stays in this browser (local
          storage) and goes only to this server.
        </span>
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const key = value.value.trim();
          if (key !== '') saveKey(key);
        }}
      >
        <label for="api-key">API key</label>
        <div class="row">
          <input
            id="api-key"
            class="key-input"
            ref={input}
            type="password"
            autocomplete="off"
            spellcheck={false}
            placeholder="bk_…"
            value={value.value}
            onInput={(event) => {
              value.value = event.currentTarget.value;
            }}
          />
          <button type="submit" class="primary">
            Use this key
          </button>
        </div>
      </form>
    </section>
  );
}

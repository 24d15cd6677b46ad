import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // expect.poll waits for something that happens on its own (a browser page, another process):
    // on a loaded 2-core machine 1 s (the default) is too short to mean "never".
    expect: { poll: { timeout: 10_000 } },
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts', 'tests/**/*.test-d.ts'] },
  },
});

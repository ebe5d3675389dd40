import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Node 20 runs the `relaxed` flavour only behind this V8 flag (on by default in Node ≥ 22).
    execArgv: ['--expose-gc', ...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [])],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

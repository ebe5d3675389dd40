import { defineConfig } from 'vitest/config';

export default defineConfig({
  // ts/sequence.ts's test knob, compiled in for tests that import ts/ directly (scripts/bundle.mjs).
  define: { __HLA_TESTING__: 'true' },
  test: {
    include: ['tests/**/*.test.ts'],
    // Node 20 runs the `relaxed` flavour only behind this V8 flag (on by default in Node ≥ 22).
    execArgv: ['--expose-gc', ...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [])],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

// The browser side of `npm run bench:full`: the same matrix as Node (bench/matrix.ts) on the
// package's browser build. bench/chromium.ts bundles this page, serves it cross-origin isolated
// and calls window.__runMatrix(config); progress goes to the console (forwarded to Node).
import * as tfCore from '@tensorflow/tfjs-core';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { init } from '../../target/testing/dist/index.browser.mjs';
import { runMatrix, type MatrixConfig, type MatrixResult, type Peers } from '../matrix.js';
import { tfjsHla2, useTfjs } from '../tfjs.js';

declare global {
  interface Window { __runMatrix?: (config: MatrixConfig) => Promise<MatrixResult> }
}

const logEl = document.getElementById('log')!;
logEl.textContent = `ready (crossOriginIsolated: ${crossOriginIsolated})\n`;
const log = (s: string) => {
  console.log(s);
  logEl.textContent += s + '\n';
};
window.__runMatrix = async (config) => {
  // The tfjs-wasm peer (hla2 prefill), its .wasm files served under ./tfjs/ by bench/chromium.ts.
  const tfjs = await useTfjs(tfCore, tfWasm, new URL('./tfjs/', location.href).href).catch((e: Error) => (log(`tfjs-wasm unavailable: ${e.message}`), null));
  const peers: Peers = (op, { q, k, v, config: c }): Record<string, () => unknown> =>
    tfjs && op === 'hla2' ? { 'tfjs-wasm/chunk64': () => tfjsHla2(q.data, k.data, v.data, c.T, c.H, c.d, c.d, { decay: c.decay, chunkSize: 64 }) } : {};
  const result = await runMatrix('chromium', init, config, { peers, log });
  if (!tfjs) result.notes.push('chromium: tfjs-wasm peer unavailable in the page');
  else result.notes.push(`chromium: tfjs-wasm peer on ${tfjs.binary.split('/').pop()}, ${tfjs.threads} thread`);
  return result;
};

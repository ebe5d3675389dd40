// The golden check every runtime runs (tests/runtimes.test.ts): per flavour, a fixed-seed
// forward and a session snapshot, reduced to SHA-256 digests of their bytes, so a runtime's
// results can be compared bit for bit with Node 20's. Plain JS and Web APIs only.
import { init } from 'hla-wasm';

/** A fixed-seed uniform generator in [-0.5, 0.5) (LCG; same sequence in every runtime). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `{ [flavour]: { forward, snapshot, sample } | { error } }` for the three flavours. */
export async function golden() {
  const out = {};
  for (const backend of ['relaxed', 'simd128', 'scalar']) {
    let hla;
    try {
      hla = await init({ backend });
    } catch (e) {
      out[backend] = { error: e.message };
      continue;
    }
    const r = rng(20261201);
    const rows = (n) => Float32Array.from({ length: n }, r);
    const [B, T, H, dk, dv] = [1, 40, 2, 16, 16];
    const q = { data: rows(B * T * H * dk), shape: [B, T, H, dk] };
    const k = { data: rows(B * T * H * dk), shape: [B, T, H, dk] };
    const v = { data: rows(B * T * H * dv), shape: [B, T, H, dv] };
    const { o } = hla.hla2(q, k, v, { decay: 0.97, ridge: 0.1 });
    const s = hla.session('hla3', { heads: 2, dk: 8, dv: 8, decay: 0.95 });
    for (let t = 0; t < 24; t++) s.step(rows(16), rows(16), rows(16));
    const snapshot = s.snapshot();
    s.free();
    out[backend] = {
      backend: hla.backend,
      forward: await sha256(new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength)),
      snapshot: await sha256(snapshot),
      sample: Array.from(o.data.subarray(0, 64)),
    };
  }
  return out;
}

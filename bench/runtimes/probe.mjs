// One runtime's share of the cross-runtime benchmark (bench/runtimes.ts): hla2 prefill
// (B=1, H=8, dk=dv=64, T=2048) and decode (session.stepInPlace) per flavour. Plain JS and Web
// APIs, so the same file runs in Node, Deno, Bun, workerd and browsers. It times itself with
// performance.now(), except on workerd, whose clock stands still while code runs: there the
// driver times whole requests that each run `work` (see worker.mjs).
import { init } from 'hla-wasm';

export const SHAPE = { B: 1, H: 8, d: 64, T: 2048, steps: 200, decay: 0.999 };

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const prepared = new Map();

/** The two timed calls for `backend`, or null where the runtime cannot run that flavour. */
export async function prepare(backend) {
  if (prepared.has(backend)) return prepared.get(backend);
  let hla;
  try {
    hla = await init({ backend });
  } catch {
    prepared.set(backend, null);
    return null;
  }
  const { B, H, d, T, steps, decay } = SHAPE;
  const r = rng(7);
  const t = (n) => ({ data: Float32Array.from({ length: n }, r), shape: [B, T, H, d] });
  const q = t(B * T * H * d), k = t(B * T * H * d), v = t(B * T * H * d);
  const s = hla.session('hla2', { heads: H, dk: d, dv: d, decay });
  s.inputs.q.set(q.data.subarray(0, H * d));
  s.inputs.k.set(k.data.subarray(0, H * d));
  s.inputs.v.set(v.data.subarray(0, H * d));
  const calls = {
    prefill: () => hla.hla2(q, k, v, { decay }),
    // Many steps per call: one step is microseconds, too short to time alone.
    decode: () => {
      for (let i = 0; i < steps; i++) s.stepInPlace();
      s.reset();
    },
  };
  prepared.set(backend, calls);
  return calls;
}

/** Runs `kind` n times (workerd: the driver times the request). */
export async function work(backend, kind, n) {
  const calls = await prepare(backend);
  if (!calls) return false;
  for (let i = 0; i < n; i++) calls[kind]();
  return true;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds per call after a time-based warm-up (V8 tiers wasm up in the background). */
function time(fn, warmupSeconds, runs) {
  const w0 = performance.now();
  do fn(); while ((performance.now() - w0) / 1e3 < warmupSeconds);
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1e3);
  }
  return median(out);
}

/** Whether relaxed madd is fused here: relaxed's bits differ from simd128's (mul + add) on one call. */
export async function relaxedFused() {
  const outputs = [];
  for (const backend of ['relaxed', 'simd128']) {
    const hla = await init({ backend });
    const r = rng(3);
    const t = () => ({ data: Float32Array.from({ length: 64 * 2 * 16 }, r), shape: [1, 64, 2, 16] });
    outputs.push(hla.hla2(t(), t(), t(), { decay: 0.99 }).o.data);
  }
  return outputs[0].some((x, i) => !Object.is(x, outputs[1][i]));
}

/** `{ [backend]: { prefill_tok_s, decode_us } | null, fused }` for relaxed and simd128. */
export async function measure({ warmupSeconds = 1, runs = 5 } = {}) {
  const out = {};
  for (const backend of ['relaxed', 'simd128']) {
    const calls = await prepare(backend);
    if (!calls) {
      out[backend] = null;
      continue;
    }
    const prefill = time(calls.prefill, warmupSeconds, runs);
    const decode = time(calls.decode, warmupSeconds, runs);
    out[backend] = { prefill_tok_s: (SHAPE.B * SHAPE.T) / prefill, decode_us: (decode / SHAPE.steps) * 1e6 };
  }
  out.fused = out.relaxed ? await relaxedFused() : null;
  return out;
}

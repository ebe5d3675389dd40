import { init } from 'hla-wasm';

const hla = await init(); // best SIMD flavour this runtime supports
const [B, T, H, dk, dv] = [1, 128, 4, 64, 64];
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const q = { data: rand(B * T * H * dk), shape: [B, T, H, dk] };
const k = { data: rand(B * T * H * dk), shape: [B, T, H, dk] };
const v = { data: rand(B * T * H * dv), shape: [B, T, H, dv] };

// Second-order HLA with decay; keep the state to continue later.
const { o, finalState } = hla.hla2(q, k, v, { decay: 0.99, outputFinalState: true });
console.log(hla.backend, o.shape, finalState.byteLength, 'bytes of state');

// Continue where it stopped: identical to one run over the concatenated sequence.
const next = hla.hla2(q, k, v, { decay: 0.99, initialState: finalState });
console.log(next.o.data.length);

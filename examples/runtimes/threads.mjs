// The worker pool in this runtime (Node worker_threads, or module Workers in Deno): hla.run over
// 2 threads equals the synchronous call. Prints the flavour, the threads and whether they agree.
import { init } from 'hla-wasm';

const hla = await init({ threads: 2 });
const q = { data: Float32Array.from({ length: 1 * 16 * 4 * 8 }, (_, i) => Math.sin(i)), shape: [1, 16, 4, 8] };
const pooled = (await hla.run('hla2', q, q, q, { decay: 0.9 })).o.data;
const direct = hla.hla2(q, q, q, { decay: 0.9 }).o.data;
console.log(hla.backend, hla.threads, pooled.every((x, i) => Math.abs(x - direct[i]) <= 1e-5 * Math.max(1, Math.abs(direct[i]))));
hla.close();

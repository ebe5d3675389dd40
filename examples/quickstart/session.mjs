import { init } from 'hla-wasm';

const hla = await init();
const s = hla.session('hla3', { heads: 8, dk: 64, dv: 64, decay: 0.99 });
try {
  // Zero-copy decoding: write the token into the input views, step, read the output view.
  for (let t = 0; t < 16; t++) {
    s.inputs.q.fill(0.01 * t);
    s.inputs.k.fill(0.02);
    s.inputs.v.fill(1);
    const out = s.stepInPlace(); // a view: valid until the next step
    if (t === 15) console.log('position', s.position, 'o[0]', out[0]);
  }
  // Persist between requests, restore anywhere (another instance, runtime or backend).
  const bytes = s.snapshot();
  const restored = hla.restore(bytes, { op: 'hla3' });
  console.log('restored at position', restored.position, `(${bytes.length} bytes)`);
  restored.free();
} finally {
  s.free();
}

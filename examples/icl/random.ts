// Gaussian draws for the Monte Carlo, on top of the repo's seeded PRNG (mulberry32 from the
// browser example), so Node and the page draw the same numbers from the same seed.
import { mulberry32 } from '../browser/seeded.ts';

/** Standard normal draws (Box–Muller on mulberry32's uniforms; both outputs used). */
export function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    // mulberry32 gives [-1, 1); map to (0, 1] so the log never sees 0.
    const u1 = 1 - (u() + 1) / 2, u2 = (u() + 1) / 2;
    const rad = Math.sqrt(-2 * Math.log(u1)), ang = 2 * Math.PI * u2;
    spare = rad * Math.sin(ang);
    return rad * Math.cos(ang);
  };
}

/** `m` orthonormal vectors of R^d (Gram–Schmidt on Gaussian draws): a random frame. */
export function orthonormalFrame(d: number, m: number, normal: () => number): Float64Array[] {
  const cols: Float64Array[] = [];
  while (cols.length < m) {
    const v = Float64Array.from({ length: d }, normal);
    for (let pass = 0; pass < 2; pass++) {
      // Twice ("twice is enough"): one pass of classical Gram–Schmidt loses orthogonality in floats.
      for (const c of cols) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += v[i] * c[i];
        for (let i = 0; i < d; i++) v[i] -= dot * c[i];
      }
    }
    const norm = Math.hypot(...v);
    if (norm < 1e-6) continue;
    for (let i = 0; i < d; i++) v[i] /= norm;
    cols.push(v);
  }
  return cols;
}

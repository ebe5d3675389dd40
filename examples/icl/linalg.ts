// Small dense float64 linear algebra for the closed-form risks (d ≤ 20): square row-major
// matrices, products, traces and one inverse. Enough for docs/icl-math.md's formulas; not a
// general library.

/** A square d×d float64 matrix, row-major. */
export interface Mat {
  d: number;
  a: Float64Array;
}

export function zeros(d: number): Mat {
  return { d, a: new Float64Array(d * d) };
}

export function identity(d: number, s = 1): Mat {
  const m = zeros(d);
  for (let i = 0; i < d; i++) m.a[i * d + i] = s;
  return m;
}

/** u vᵀ (or u uᵀ when v is left out). */
export function outer(u: ArrayLike<number>, v: ArrayLike<number> = u): Mat {
  const d = u.length, m = zeros(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.a[i * d + j] = u[i] * v[j];
  return m;
}

/** Σ c_i A_i (a linear combination of matrices of one size). */
export function combine(...terms: [number, Mat][]): Mat {
  const d = terms[0][1].d, m = zeros(d);
  for (const [c, x] of terms) for (let i = 0; i < d * d; i++) m.a[i] += c * x.a[i];
  return m;
}

export function matmul(x: Mat, y: Mat): Mat {
  const d = x.d, m = zeros(d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x.a[i * d + k];
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) m.a[i * d + j] += xik * y.a[k * d + j];
    }
  }
  return m;
}

export function transpose(x: Mat): Mat {
  const d = x.d, m = zeros(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.a[j * d + i] = x.a[i * d + j];
  return m;
}

export function trace(x: Mat): number {
  let s = 0;
  for (let i = 0; i < x.d; i++) s += x.a[i * x.d + i];
  return s;
}

/** A v (matrix times vector). */
export function apply(x: Mat, v: ArrayLike<number>): Float64Array {
  const d = x.d, out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x.a[i * d + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** A⁻¹ by Gauss–Jordan elimination with partial pivoting (the matrices here are symmetric
 *  positive definite and well conditioned; a singular one is a bug, so it throws). */
export function inverse(x: Mat): Mat {
  const d = x.d, w = 2 * d;
  const m = new Float64Array(d * w);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) m[i * w + j] = x.a[i * d + j];
    m[i * w + d + i] = 1;
  }
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r * w + c]) > Math.abs(m[p * w + c])) p = r;
    const piv = m[p * w + c];
    if (!(Math.abs(piv) > 1e-300)) throw new RangeError(`inverse: expected a non-singular ${d}×${d} matrix, got a zero pivot in column ${c}`);
    if (p !== c) for (let j = 0; j < w; j++) [m[p * w + j], m[c * w + j]] = [m[c * w + j], m[p * w + j]];
    for (let j = 0; j < w; j++) m[c * w + j] /= piv;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r * w + c];
      if (f === 0) continue;
      for (let j = 0; j < w; j++) m[r * w + j] -= f * m[c * w + j];
    }
  }
  const inv = zeros(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) inv.a[i * d + j] = m[i * w + d + j];
  return inv;
}

/** Orthonormal projector U Uᵀ onto the span of the columns `cols` (each of length d, orthonormal). */
export function projector(cols: ArrayLike<number>[]): Mat {
  return combine(...cols.map((c) => [1, outer(c)] as [number, Mat]));
}

// What the Monte Carlo needs from the package, and its running means with standard errors.

/** A float32 tensor as the package takes it (`[B, T, H, d]`, row-major). */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** The one package call the examples make: `hla.la1` (an `Hla` from `init()` fits). */
export interface La1 {
  la1(q: Tensor, k: Tensor, v: Tensor, options?: { scale?: number; decay?: number }): { o: Tensor };
}

/** A Monte Carlo mean with its standard error (sample standard deviation / √count). */
export interface Estimate {
  mean: number;
  se: number;
  count: number;
}

/** Accumulates squared errors; float64 sums are exact enough at these counts (≤ 10⁶). */
export class Mean {
  #sum = 0;
  #sumSq = 0;
  #count = 0;
  add(x: number) {
    this.#sum += x;
    this.#sumSq += x * x;
    this.#count++;
  }
  get estimate(): Estimate {
    const n = this.#count, mean = this.#sum / n;
    const variance = n > 1 ? Math.max(0, (this.#sumSq - n * mean * mean) / (n - 1)) : NaN;
    return { mean, se: Math.sqrt(variance / n), count: n };
  }
}

/** Called after each la1 call with the fraction done; the page awaits it to repaint. */
export type Progress = (fraction: number) => void | Promise<void>;

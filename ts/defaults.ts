/**
 * Defaults picked by measurement (`npm run bench`, table "Every operator"; figures in the
 * README). Results never depend on them: every chunk size reproduces the recurrence.
 */
export const DEFAULT_EPS = 1e-6;

/** Chunk length for mode 'chunk' without `chunkSize`: the fastest measured per operator. */
export const DEFAULT_CHUNK_SIZE: Record<string, number> = { la1: 16, hla2: 32, ahla: 32, hla3: 32 };

/**
 * Without `mode`, sequences at least this long use the chunk form. On one core the chunk form
 * does 2–3× the recurrence's multiply-adds, and measured faster only for la1 (1.26× at
 * chunk 16); the others stay recurrent, whose fused sweeps measured 1.0–1.2× faster.
 */
export const AUTO_CHUNK_MIN_T: Record<string, number> = { la1: 64, hla2: Infinity, ahla: Infinity, hla3: Infinity };

/**
 * Defaults picked by measurement (`npm run bench`, table "Every operator"; figures in the
 * README). Results never depend on them: every chunk size reproduces the recurrence.
 */
export const DEFAULT_EPS = 1e-6;

/** Chunk length for mode 'chunk' without `chunkSize`: the fastest measured per operator. */
export const DEFAULT_CHUNK_SIZE: Record<string, number> = { la1: 16, hla2: 32, ahla: 32, hla3: 32 };

/**
 * Without `mode`, sequences at least this long use the chunk form. On one core the chunk form
 * does 2–3× the recurrence's multiply-adds; across runs it measured 0.84–1.26× the fused
 * recurrence, never reliably faster, so every operator defaults to the recurrence.
 */
export const AUTO_CHUNK_MIN_T: Record<string, number> = { la1: Infinity, hla2: Infinity, ahla: Infinity, hla3: Infinity };

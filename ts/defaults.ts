/**
 * Defaults picked by measurement (`npm run bench`, table "Every operator"; figures in the
 * README). Results never depend on them: every chunk size reproduces the recurrence.
 */
export const DEFAULT_EPS = 1e-6;

/** Chunk length for mode 'chunk' without `chunkSize`: the fastest measured per operator. */
export const DEFAULT_CHUNK_SIZE: Record<string, number> = { la1: 16, hla2: 32, ahla: 32, hla3: 32 };

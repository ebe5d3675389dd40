/**
 * Defaults picked by measurement (`npm run bench`, table "recurrent vs chunk"); see README.
 * Results never depend on them: every chunk size reproduces the recurrence.
 */
export const DEFAULT_EPS = 1e-6;
/** Chunk length used by mode 'chunk' when `chunkSize` is not given. */
export const DEFAULT_CHUNK_SIZE = 64;
/**
 * With no `mode`, sequences at least this long use the chunk form. Chosen per operator from
 * the benchmark: where the chunk form is not faster on this class of CPU, it stays off.
 */
export const AUTO_CHUNK_MIN_T: Record<string, number> = { la1: 64, hla2: Infinity, ahla: 64, hla3: 64 };

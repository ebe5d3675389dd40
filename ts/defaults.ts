/**
 * Defaults picked by measurement (`npm run bench`, table "Every operator"; figures in the
 * README). Results never depend on them: every chunk size reproduces the recurrence.
 */
export const DEFAULT_EPS = 1e-6;
// (Each operator's default chunk length is its `chunk` in the operator table, ts/operators.ts.)

/** A short description of any value for error messages: `Array(12)`, `Float64Array(8)`, `"abc"`. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return String(x);
  if (typeof x === 'function') return 'a function';
  if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${(x as unknown as ArrayLike<unknown>).length ?? x.byteLength})`;
  if (Array.isArray(x)) return x.length <= 8 ? `[${x.map(describe).join(', ')}]` : `Array(${x.length})`;
  const name = (x as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `TypeError` for a value of the wrong kind. */
export function typeError(arg: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`${arg}: expected ${expected}, got ${describe(actual)}`);
}

/** Text already describing the actual value (`rank 3 [6, 2, 3]`), printed as is. */
export class Detail {
  constructor(readonly text: string) {}
}

/** `RangeError` for a value of the right kind but out of range or inconsistent. */
export function rangeError(arg: string, expected: string, actual: unknown): RangeError {
  return new RangeError(`${arg}: expected ${expected}, got ${actual instanceof Detail ? actual.text : describe(actual)}`);
}

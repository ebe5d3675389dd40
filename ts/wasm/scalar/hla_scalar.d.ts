/* tslint:disable */
/* eslint-disable */

/**
 * The SIMD flavour this module was compiled for: "relaxed", "simd128" or "scalar".
 */
export function backend(): string;

/**
 * One functional forward pass. `chunk_size` 0 selects the recurrent form. `state` carries
 * the initial state in (zeros for none) and the final state out; `cu_seqlens` empty = none.
 */
export function forward_f32(op: number, chunk_size: number, dims: Uint32Array | number[], scale: number, decay: Float32Array | number[], normalize: boolean, eps: number, ridge: number, q: Float32Array | number[], k: Float32Array | number[], v: Float32Array | number[], o: Float32Array, state: Float32Array, cu_seqlens: Int32Array | number[]): void;

/**
 * The message of the last Rust panic (empty if none): read by the facade after a trap.
 */
export function last_panic(): string;

export function start(): void;

/**
 * Floats of state for `n_seq` sequences.
 */
export function state_len(op: number, n_seq: number, h: number, hv: number, dk: number, dv: number, ridge: boolean): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly backend: () => [number, number];
    readonly forward_f32: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number, m: number, n: number, o: number, p: number, q: number, r: number, s: any, t: number, u: number, v: any, w: number, x: number) => [number, number];
    readonly last_panic: () => [number, number];
    readonly start: () => void;
    readonly state_len: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number, number];
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;

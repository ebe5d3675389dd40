/* tslint:disable */
/* eslint-disable */
export const memory: WebAssembly.Memory;
export const backend: () => [number, number];
export const forward_f32: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number, m: number, n: number, o: number, p: number, q: number, r: number, s: any, t: number, u: number, v: any, w: number, x: number) => [number, number];
export const last_panic: () => [number, number];
export const start: () => void;
export const state_len: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number, number];
export const __wbindgen_externrefs: WebAssembly.Table;
export const __wbindgen_free: (a: number, b: number, c: number) => void;
export const __wbindgen_malloc: (a: number, b: number) => number;
export const __externref_table_dealloc: (a: number) => void;
export const __wbindgen_start: () => void;

// Browsers and Deno: fetch the .wasm by URL (Deno reads file: URLs with --allow-read).
import { useDefaultWasm } from '../loader.js';
import { wasmUrl } from './wasm-url.js';

useDefaultWasm(wasmUrl);

// Node and Bun: read the .wasm from disk (their fetch does not take file: URLs).
import { readFile } from 'node:fs/promises';
import { useDefaultWasm } from '../loader.js';
import { wasmUrl } from './wasm-url.js';

useDefaultWasm((backend) => readFile(wasmUrl(backend)));

// Deno (run with --allow-read: the .wasm is read from the npm cache).
import './use-fetch.js';

export * from '../index.js';

// Node (ESM and CJS) and Bun.
import './use-fs.js';

export * from '../index.js';

// Browsers, bundlers targeting them, and any runtime with fetch and module URLs (the default).
import './use-fetch.js';

export * from '../index.js';

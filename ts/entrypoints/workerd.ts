// Cloudflare workerd (wrangler, miniflare): the .wasm files arrive as module imports.
import './use-modules.js';

export * from '../index.js';

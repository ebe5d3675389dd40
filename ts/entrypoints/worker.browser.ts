// A module Worker pool worker in browsers and Deno (dist/worker.browser.mjs).
import './use-fetch.js';
import '../worker.js';

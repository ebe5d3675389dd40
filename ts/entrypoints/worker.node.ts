// A Node worker_threads pool worker (dist/worker.mjs).
import './use-fs.js';
import '../worker.js';

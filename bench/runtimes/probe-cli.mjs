// Prints this runtime's measurements as one JSON line (Node, Deno, Bun).
import { measure } from './probe.mjs';

console.log(JSON.stringify(await measure()));

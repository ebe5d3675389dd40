// Prints the golden check as one JSON line (Node, Deno, Bun).
import { golden } from './golden.mjs';

console.log(JSON.stringify(await golden()));

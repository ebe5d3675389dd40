// workerd (Cloudflare Workers): no file system and no module URL, but `.wasm` imports are
// compiled modules. These stay imports in dist/index.workerd.mjs; wrangler's default rules
// (CompiledWasm for **/*.wasm) bundle them with no configuration.
import relaxed from './hla_relaxed.wasm';
import scalar from './hla_scalar.wasm';
import simd128 from './hla_simd128.wasm';
import { useDefaultWasm } from '../loader.js';

const modules = { relaxed, simd128, scalar };
useDefaultWasm((backend) => modules[backend]);

// The npm tarball works in an empty project with no further step: ESM import and CJS require.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hla-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [{ filename, files }] = JSON.parse(out);
  const names = (files as { path: string }[]).map((f) => f.path);
  expect(names).toEqual(expect.arrayContaining(['dist/index.mjs', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.browser.mjs', 'dist/index.deno.mjs', 'dist/index.workerd.mjs', 'dist/worker.mjs', 'dist/worker.browser.mjs', 'dist/hla_simd128.wasm', 'dist/hla_relaxed.wasm', 'dist/hla_scalar.wasm']));
  expect(names.filter((n) => !n.startsWith('dist/') && !['package.json', 'README.md'].includes(n))).toEqual([]);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, filename)], { cwd: dir, stdio: 'ignore' });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = (body: string) => `
const q = { data: new Float32Array(2 * 3 * 4).fill(0.5), shape: [1, 3, 2, 4] };
const v = { data: new Float32Array(2 * 3 * 2).fill(1), shape: [1, 3, 2, 2] };
${body}
  const { o, finalState } = hla.hla2(q, q, v, { decay: 0.9, outputFinalState: true });
  console.log(JSON.stringify({ backend: hla.backend, shape: o.shape, o0: o.data[0], bytes: finalState.byteLength }));
`;

function run(file: string, src: string) {
  writeFileSync(join(dir, file), src);
  return JSON.parse(execFileSync(process.execPath, [join(dir, file)], { cwd: dir, encoding: 'utf8' }));
}

it('ESM: import { init } from "hla-wasm"', () => {
  const r = run('esm.mjs', script("import { init } from 'hla-wasm';\nconst hla = await init();\n{") + '}');
  expect(r.shape).toEqual([1, 3, 2, 2]);
  expect(r.o0).toBeGreaterThan(0);
  expect(['simd128', 'relaxed']).toContain(r.backend);
  expect(r.bytes).toBe(4 * 2 * (16 + 4 + 8));
});

it('CJS: require("hla-wasm")', () => {
  const r = run('cjs.cjs', script("const { init } = require('hla-wasm');\ninit().then((hla) => {") + '});');
  expect(r.shape).toEqual([1, 3, 2, 2]);
  expect(r.o0).toBeGreaterThan(0);
});

it('the .wasm files are exported (hla-wasm/hla_<flavour>.wasm), e.g. for init({ wasm })', () => {
  const r = run('wasm.mjs', script(`import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { init } from 'hla-wasm';
const hla = await init({ wasm: readFileSync(fileURLToPath(import.meta.resolve('hla-wasm/hla_scalar.wasm'))) });
{`) + '}');
  expect(r.backend).toBe('scalar');
  expect(r.shape).toEqual([1, 3, 2, 2]);
});

it('types resolve for TypeScript consumers', () => {
  writeFileSync(join(dir, 'use.ts'), "import { init, type Tensor, type HlaState } from 'hla-wasm';\nexport async function f(t: Tensor): Promise<HlaState | undefined> { const h = await init(); return h.hla3(t, t, t, { outputFinalState: true }).finalState; }\n");
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), join(dir, 'use.ts')], { cwd: dir, stdio: 'pipe' });
});

// The README's quick starts are files under examples/quickstart/: the README must show them
// verbatim, and each must run (importing the package by name, as a user would).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');

/** Code blocks whose first line names their file (`// examples/…` or `<!-- examples/… -->`): [path, body]. */
const snippets = [...readme.matchAll(/```(?:js|ts|html)\n(?:\/\/|<!--) (examples\/\S+)(?: -->)?\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]] as const);

it('the README shows the quick starts verbatim', () => {
  expect(snippets.map(([p]) => p)).toEqual(expect.arrayContaining(['examples/quickstart/node.mjs', 'examples/quickstart/session.mjs', 'examples/browser/quickstart.html', 'examples/quickstart/bundle.mjs', 'examples/quickstart/edge.ts']));
  for (const [path, body] of snippets) expect(body, path).toBe(readFileSync(`${root}${path}`, 'utf8'));
});

it.each(['examples/quickstart/node.mjs', 'examples/quickstart/session.mjs', 'examples/quickstart/require.cjs'])('%s runs', (path) => {
  const out = execFileSync(process.execPath, [`${root}${path}`], { cwd: root, encoding: 'utf8' });
  expect(out.length).toBeGreaterThan(0);
  expect(out).not.toMatch(/NaN/);
});

it('the bundler quick start bundles the package for the browser', () => {
  const out = mkdtempSync(join(tmpdir(), 'hla-qs-'));
  try {
    execFileSync(process.execPath, [`${root}examples/quickstart/bundle.mjs`, out], { cwd: root, encoding: 'utf8' });
    expect(readdirSync(out).sort()).toEqual(['app.js', 'hla_relaxed.wasm', 'hla_scalar.wasm', 'hla_simd128.wasm']);
    expect(readFileSync(join(out, 'app.js'), 'utf8')).not.toMatch(/node:/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

it('the edge quick start answers a step request', () => {
  const out = execFileSync(process.execPath, [`${root}scripts/run-ts.mjs`, `${root}examples/quickstart/edge.ts`], { cwd: root, encoding: 'utf8' });
  expect(out).toMatch(/^200 position 1 o\[0\]\[0\.\.2\]/);
});

// docs/api is generated from the TSDoc comments (`npm run docs`): it must match the source.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

it('docs/api is up to date with the TSDoc comments (run `npm run docs`)', () => {
  const out = mkdtempSync(join(tmpdir(), 'hla-api-'));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], { cwd: root, stdio: 'pipe' });
    const want = files(out).map((f) => relative(out, f)).sort();
    expect(files(join(root, 'docs/api')).map((f) => relative(join(root, 'docs/api'), f)).sort()).toEqual(want);
    for (const f of want) expect(readFileSync(join(root, 'docs/api', f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);

// The README's quick starts are files under examples/quickstart/: the README must show them
// verbatim, and each must run (importing the package by name, as a user would).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');

/** Code blocks whose first line is `// examples/…`: [path, body]. */
const snippets = [...readme.matchAll(/```js\n\/\/ (examples\/\S+)\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]] as const);

it('the README shows the quick starts verbatim', () => {
  expect(snippets.map(([p]) => p)).toEqual(expect.arrayContaining(['examples/quickstart/node.mjs', 'examples/quickstart/session.mjs']));
  for (const [path, body] of snippets) expect(body, path).toBe(readFileSync(`${root}${path}`, 'utf8'));
});

it.each(['examples/quickstart/node.mjs', 'examples/quickstart/session.mjs', 'examples/quickstart/require.cjs'])('%s runs', (path) => {
  const out = execFileSync(process.execPath, [`${root}${path}`], { cwd: root, encoding: 'utf8' });
  expect(out.length).toBeGreaterThan(0);
  expect(out).not.toMatch(/NaN/);
});

// docs/math.md's derivations and errata are backed by running code: the script exits non-zero
// if any formula the doc calls exact is off, or a printed (wrong) formula unexpectedly agrees.
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';

it('tests/reference/errata.mjs confirms every derivation and both errata', () => {
  const out = execFileSync(process.execPath, [new URL('./reference/errata.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  expect(out).toMatch(/All results as stated in docs\/math\.md\./);
  expect(out).toMatch(/paper Alg\. 3 \/ Thm 7\.1 .*DISAGREES/);
  expect(out).toMatch(/§4\.2 decay-aware monoid.*DISAGREES/);
});

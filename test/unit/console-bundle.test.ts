// The web console's first load stays small: index.html and every script and stylesheet it loads,
// gzipped, at most 200 KB (a build into a temporary folder, so the check is of the current sources).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

const FIRST_LOAD_LIMIT = 200 * 1024;

describe('web console bundle', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'console-bundle-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('loads at most 200 KB gzipped on first load', async () => {
    await build({ configFile: 'console/vite.config.ts', logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    const sizes = Object.fromEntries([['index.html', gzipSync(html).length], ...assets.map((a) => [a, gzipSync(readFileSync(join(outDir, a))).length])]);
    const total = Object.values(sizes).reduce((a: number, b) => a + (b as number), 0);
    console.log(`console first load: ${total} bytes gzipped`, sizes);
    expect(total).toBeLessThanOrEqual(FIRST_LOAD_LIMIT);
  }, 60_000);
});

// The copier as the image runs it: bundled by cdk/copier-bundle.ts (the Dockerfile's build step)
// and run under plain `node`, a backup of a small tree and its restore onto an empty share.
import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPIER_ENTRY, COPIER_NODE_OPTIONS, bundleCopier } from '../../cdk/copier-bundle.ts';
import { NATIVE_CRC32_FILE } from '../../copier/fs/checksum.ts';

const run = promisify(execFile);
let dir: string;
let bundle: string;

/** Every path under root with what a restore must reproduce: type, mode, content or link target. */
async function describeTree(root: string, rel = '.'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const abs = join(root, rel);
  const stats = await lstat(abs, { bigint: true });
  const mode = (stats.mode & 0o7777n).toString(8);
  if (stats.isSymbolicLink()) out[rel] = `link ${await readlink(abs)}`;
  // (mtimes to the nanosecond: the native addon fsx.node sets them, in the copy workers too)
  else if (stats.isFile()) out[rel] = `file ${mode} ${stats.mtimeNs} ${await readFile(abs, 'utf8')}`;
  else if (stats.isFIFO()) out[rel] = `fifo ${mode} ${stats.mtimeNs}`;
  else {
    out[rel] = `dir ${mode}`;
    for (const name of (await readdir(abs)).sort()) Object.assign(out, await describeTree(root, rel === '.' ? name : `${rel}/${name}`));
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copier-bundle-'));
  bundle = join(dir, 'image', COPIER_ENTRY);
  await bundleCopier(join(dir, 'image'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the copier bundle (as built into the image)', () => {
  it('is minified ES modules (main, copy worker) with source maps, no AWS SDK client inside, the progress writes signed requests', async () => {
    // crc32.node: the native CRC-32 npm installed for this machine (copier/fs/checksum.ts), which this
    // machine has (linux x64 or arm64, glibc)
    // fsx.node: the copier's own addon (native/fsx.c, built by npm ci)
    expect((await readdir(join(dir, 'image'))).sort()).toEqual(['copier.cjs', 'copier.cjs.map', 'copier.js', 'copier.js.map', 'copy-worker.js', 'copy-worker.js.map', 'crc32.node', 'fsx.node', 'package.json', 'scout-worker.js', 'scout-worker.js.map']);
    const code = await readFile(join(dir, 'image', 'copier.js'), 'utf8');
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(code).not.toMatch(/from\s*["']@smithy\//);
    // dynamodb-http.ts: the progress writes are UpdateItem requests, SigV4-signed; no client of the SDK
    expect(code).toContain('DynamoDB_20120810.UpdateItem');
    expect(code).toContain('AWS4-HMAC-SHA256');
    expect(code).not.toContain('DynamoDBClient');
    expect(code.length).toBeLessThan(200 * 1024);
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    console.info(`copier bundle: ${(code.length / 1024).toFixed(0)} KiB`);
  });

  it('is what the image runs, with the node options the bench uses', async () => {
    const dockerfile = await readFile(join(import.meta.dirname, '../../copier/Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENTRYPOINT ["node", "/app/${COPIER_ENTRY}"]`);
    expect(dockerfile).toContain(`NODE_OPTIONS="${COPIER_NODE_OPTIONS}"`);
  });

  it('backs up a tree and restores it onto an empty share under plain node', async () => {
    const share = join(dir, 'share');
    await mkdir(join(share, 'docs', 'deep'), { recursive: true });
    await writeFile(join(share, 'hello.txt'), 'hello\n', { mode: 0o640 });
    await writeFile(join(share, 'docs', 'deep', 'data.bin'), Buffer.alloc(70_000, 7));
    await symlink('../hello.txt', join(share, 'docs', 'link'));
    await link(join(share, 'hello.txt'), join(share, 'docs', 'hard.txt'));
    await run('mkfifo', ['-m', '0604', join(share, 'docs', 'pipe')]);
    await run('touch', ['-m', '-d', '@1704164645.122999123', join(share, 'hello.txt'), join(share, 'docs', 'pipe')]);
    const backup = join(dir, 'backup');
    const target = join(dir, 'target');
    await mkdir(target);
    // no PROGRESS_*/PERCENT_* variables: no DynamoDB
    const env = { PATH: process.env.PATH ?? '' };
    await run(process.execPath, [bundle], { env: { ...env, COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: backup } });
    const summary = JSON.parse(await readFile(join(backup, 'summary.json'), 'utf8')) as { files: number };
    expect(summary.files).toBeGreaterThanOrEqual(2);
    const restored = await run(process.execPath, [bundle], { env: { ...env, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: target } });
    // the bundle loads the native CRC-32 from beside itself, not from node_modules (the image has none)
    expect(restored.stderr).toContain('CRC-32: native');
    expect(await describeTree(target)).toEqual(await describeTree(share));
    expect((await lstat(join(target, 'docs', 'hard.txt'))).ino).toBe((await lstat(join(target, 'hello.txt'))).ino);
    // as onto EFS: many files in flight, through the same launcher (which, for a restore this short,
    // also sets io-plan.ts v8FlagsFor's flag; that the flag takes effect is not observable from here)
    const networkTarget = join(dir, 'network-target');
    await mkdir(networkTarget);
    await run(process.execPath, [bundle], { env: { ...env, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: networkTarget, COPIER_NETWORK_FS: 'true' } });
    expect(await describeTree(networkTarget)).toEqual(await describeTree(share));
  });

  it('exits 2 with one JSON line on stderr when its configuration is bad', async () => {
    const failed = await run(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '', COPIER_MODE: 'sideways' } }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).toBe(2);
    expect(JSON.parse(failed!.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error: 'ConfigError', reason: expect.stringContaining('COPIER_MODE') });
  });

  it('without a native CRC-32 beside it (a platform npm has no binary for) checks with zlib\'s, and still catches a corrupt file', async () => {
    const image = join(dir, 'image-without-native-crc');
    await mkdir(image);
    for (const file of await readdir(join(dir, 'image'))) if (file !== NATIVE_CRC32_FILE) await copyFile(join(dir, 'image', file), join(image, file));
    const share = join(dir, 'zlib-share');
    await mkdir(join(share, 'sub'), { recursive: true });
    await writeFile(join(share, 'small.txt'), 'small\n');
    await writeFile(join(share, 'sub', 'large.bin'), Buffer.alloc(3 * 1024 * 1024, 9)); // over 1 MiB: read back and checked
    const backup = join(dir, 'zlib-backup');
    const env = { PATH: process.env.PATH ?? '' };
    await run(process.execPath, [join(image, COPIER_ENTRY)], { env: { ...env, COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: backup } });
    const target = join(dir, 'zlib-target');
    await mkdir(target);
    const restored = await run(process.execPath, [join(image, COPIER_ENTRY)], { env: { ...env, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: target } });
    expect(restored.stderr).toContain('CRC-32: zlib');
    expect(await describeTree(target)).toEqual(await describeTree(share));
    await writeFile(join(backup, 'data', 'sub', 'large.bin'), Buffer.alloc(3 * 1024 * 1024, 8));
    const corruptTarget = join(dir, 'zlib-corrupt-target');
    await mkdir(corruptTarget);
    const failed = await run(process.execPath, [join(image, COPIER_ENTRY)], { env: { ...env, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: corruptTarget } }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).toBe(1);
    expect(JSON.parse(failed!.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error: 'ChecksumMismatchError', reason: expect.stringContaining('large.bin') });
  });

  it('names a copy worker\'s failure by its class (the name survives minifying and the thread hop)', async () => {
    const share = join(dir, 'corrupt-share');
    await mkdir(share);
    await writeFile(join(share, 'data.bin'), Buffer.alloc(5000, 1));
    const backup = join(dir, 'corrupt-backup');
    const env = { PATH: process.env.PATH ?? '' };
    await run(process.execPath, [bundle], { env: { ...env, COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: backup } });
    // same size, other bytes: only the checksum can tell
    await writeFile(join(backup, 'data', 'data.bin'), Buffer.alloc(5000, 2));
    const target = join(dir, 'corrupt-target');
    await mkdir(target);
    const failed = await run(process.execPath, [bundle], { env: { ...env, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: target } }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).toBe(1);
    expect(JSON.parse(failed!.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error: 'ChecksumMismatchError', reason: expect.stringContaining('data.bin') });
  });
});

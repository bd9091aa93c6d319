// The copier's fs engine on real temporary trees: backup → restore round trips, restore semantics
// over an existing share, and the safety rules against hand-written malicious manifests.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../copier/backup/index.ts';
import { ChecksumMismatchError, FaultInjectedError, ManifestError, SizeMismatchError, StoppedError, UnsafePathError } from '../../copier/errors.ts';
import { serializeManifestEntry, type ManifestEntry } from '../../copier/manifest/entries.ts';
import { checksumOf } from '../../copier/fs/checksum.ts';
import { KERNEL_COPY_MIN_BYTES } from '../../copier/jobs/copy-jobs.ts';
import type { ProgressSnapshot } from '../../copier/progress/progress.ts';
import { runRestore } from '../../copier/restore/index.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'copier-engine-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const OLD_MTIME = new Date('2001-02-03T04:05:06.789Z');

/** A share tree with every kind of entry the copier handles. */
async function makeShare(root: string): Promise<void> {
  await mkdir(join(root, 'nested/deeper/deepest'), { recursive: true });
  await mkdir(join(root, 'empty'));
  await writeFile(join(root, 'nested/deeper/deepest/leaf.txt'), 'leaf\n');
  await writeFile(join(root, 'secret.txt'), 'only group may read');
  await chmod(join(root, 'secret.txt'), 0o640);
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o755);
  await symlink('nested/deeper/deepest/leaf.txt', join(root, 'leaf-link'));
  await symlink('/nowhere/at/all', join(root, 'nested/dangling'));
  await writeFile(join(root, 'nested/original'), 'shared inode');
  await link(join(root, 'nested/original'), join(root, 'nested/deeper/hard'));
  await writeFile(join(root, 'Grüße, 世界.txt'), 'non-ASCII name');
  await writeFile(join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  await writeFile(join(root, 'empty.txt'), '');
  await utimes(join(root, 'secret.txt'), OLD_MTIME, OLD_MTIME);
  await chmod(join(root, 'nested/deeper'), 0o750);
  await utimes(join(root, 'nested/deeper'), OLD_MTIME, OLD_MTIME);
}

interface TreeEntry {
  type: string;
  mode: number;
  mtimeMs: number;
  content?: string;
  target?: string;
  nlink?: number;
}

/** Everything we compare between two trees, keyed by relative path. */
async function describeTree(root: string, rel = ''): Promise<Map<string, TreeEntry>> {
  const tree = new Map<string, TreeEntry>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const abs = join(root, path);
    const stats = await lstat(abs);
    const base = { mode: stats.mode & 0o7777, mtimeMs: Math.floor(stats.mtimeMs) };
    if (stats.isDirectory()) {
      tree.set(path, { type: 'dir', ...base });
      for (const [childPath, child] of await describeTree(root, path)) tree.set(childPath, child);
    } else if (stats.isSymbolicLink()) {
      tree.set(path, { type: 'symlink', mtimeMs: base.mtimeMs, mode: 0, target: await readlink(abs) });
    } else {
      const content = createHash('sha256').update(await readFile(abs)).digest('hex');
      tree.set(path, { type: 'file', ...base, content, nlink: stats.nlink });
    }
  }
  return tree;
}

/** A backup root written by hand: the manifest lines given, data files, and a matching summary. */
async function writeBackup(root: string, entries: ManifestEntry[], data: Record<string, string | Buffer> = {}, options: { manifestSha256?: boolean } = {}): Promise<void> {
  await mkdir(join(root, 'data'), { recursive: true });
  for (const [path, content] of Object.entries(data)) {
    await mkdir(join(root, 'data', path, '..'), { recursive: true });
    await writeFile(join(root, 'data', path), content);
  }
  const manifest = entries.map((e) => `${serializeManifestEntry(e)}\n`).join('');
  await writeFile(join(root, 'manifest.jsonl'), manifest);
  const files = entries.filter((e) => e.type === 'file');
  // without manifest_sha256 (as backups before 1.1), a restore validates every line before writing
  const digest = options.manifestSha256 ? { manifest_sha256: createHash('sha256').update(manifest).digest('hex') } : {};
  const summary = { version: 1, entries: entries.length, files: files.length, bytes: files.reduce((n, e) => n + e.size, 0), ...digest, created_at: new Date().toISOString() };
  await writeFile(join(root, 'summary.json'), JSON.stringify(summary));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const meta = { mode: 0o644, uid: 0, gid: 0, mtime_ns: '1700000000000000000' };
const rootDir: ManifestEntry = { path: '.', type: 'dir', ...meta, mode: 0o755, size: 0 };
const dir = (path: string): ManifestEntry => ({ path, type: 'dir', ...meta, mode: 0o755, size: 0 });
const file = (path: string, content: string): ManifestEntry => ({ path, type: 'file', ...meta, size: Buffer.byteLength(content), sha256: sha256(content) });

async function exists(path: string): Promise<boolean> {
  return await lstat(path).then(() => true, () => false);
}

describe('backup then restore', () => {
  it.each([
    { where: 'a local disk (blocking calls)', networkFileSystem: false },
    { where: 'a network file system (jobs in flight, streamed)', networkFileSystem: true },
  ])('one job buffer serves files read whole and files streamed, one after the other, on $where', async ({ networkFileSystem }) => {
    // one file in flight: every job runs through the same buffer, grown by the small files and
    // then used for the chunks of the large ones (and the other way round)
    const share = join(work, 'share');
    await mkdir(share);
    const sizes = [3000, 200 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 1, 100, 2 * 1024 * 1024 + 333, 700 * 1024, 5];
    const contents = sizes.map((size, index) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + index * 7) & 0xff)));
    for (const [index, content] of contents.entries()) await writeFile(join(share, `f${index}`), content);
    await runBackup({ source: share, target: join(work, 'backup') });
    await runRestore({ source: join(work, 'backup'), target: join(work, 'restored'), concurrency: 1, networkFileSystem });
    for (const [index, content] of contents.entries()) expect((await readFile(join(work, 'restored', `f${index}`))).equals(content), `f${index}`).toBe(true);
  });

  it('restores a tree equal to the share: content, modes, mtimes, symlinks, hard links', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const restored = join(work, 'restored');
    await mkdir(share);
    await makeShare(share);
    await utimes(share, OLD_MTIME, OLD_MTIME);

    const snapshots: ProgressSnapshot[] = [];
    const sink = { write: async (s: ProgressSnapshot) => void snapshots.push(s), fail: async () => undefined };
    const backupResult = await runBackup({ source: share, target: backup, concurrency: 3, progress: sink });
    expect(backupResult).toMatchObject({ files: 7, symlinks: 2, hardlinks: 1, dirs: 5, entries: 15 });
    expect(snapshots.at(-1)).toMatchObject({ phase: 'done', percent: '100', files_done: 7, files_total: 7 });

    // manifest: documented shape, parents before children, hard link after its first path
    const lines = (await readFile(join(backup, 'manifest.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as ManifestEntry);
    expect(lines[0]).toMatchObject({ path: '.', type: 'dir' });
    const seen = new Set<string>(['.']);
    for (const line of lines) {
      const parent = line.path.includes('/') ? line.path.slice(0, line.path.lastIndexOf('/')) : '.';
      expect(seen.has(parent), `${line.path} after its parent`).toBe(true);
      if (line.type === 'hardlink') expect(seen.has(line.link_to)).toBe(true);
      seen.add(line.path);
    }
    const secret = lines.find((l) => l.path === 'secret.txt');
    expect(secret).toMatchObject({ type: 'file', mode: 0o640, size: 19, sha256: sha256('only group may read'), crc32: crc32(Buffer.from('only group may read')).toString(16).padStart(8, '0'), mtime_ns: `${OLD_MTIME.getTime()}000000` });
    expect(lines.find((l) => l.type === 'symlink' && l.path === 'leaf-link')).toMatchObject({ target: 'nested/deeper/deepest/leaf.txt' });
    expect(JSON.parse(await readFile(join(backup, 'summary.json'), 'utf8'))).toMatchObject({ version: 2, entries: 15, files: 7, bytes: backupResult.bytes });

    // the backup's data/ is itself a faithful tree
    const shareTree = await describeTree(share);
    expect(await describeTree(join(backup, 'data'))).toEqual(shareTree);

    const restoreResult = await runRestore({ source: backup, target: restored, concurrency: 4 });
    expect(restoreResult).toMatchObject({ files: 7, symlinks: 2, hardlinks: 1, dirs: 5, entries: 15, bytes: backupResult.bytes });
    expect(await describeTree(restored)).toEqual(shareTree);
    expect(Math.floor((await stat(restored)).mtimeMs)).toBe(OLD_MTIME.getTime());
    const [original, hard] = await Promise.all([stat(join(restored, 'nested/original')), stat(join(restored, 'nested/deeper/hard'))]);
    expect(hard.ino).toBe(original.ino);
  });

  it('gives every file its exact mode, whether it is created with it or chmod-ed after (set-id, bits the umask strips)', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const restored = join(work, 'restored');
    await mkdir(share);
    const modes = [0o644, 0o600, 0o777, 0o666, 0o4755, 0o2750, 0o1777, 0o400, 0o000];
    for (const mode of modes) {
      await writeFile(join(share, `m${mode.toString(8)}`), `mode ${mode}`);
      await chmod(join(share, `m${mode.toString(8)}`), mode);
    }
    await runBackup({ source: share, target: backup });
    await runRestore({ source: backup, target: restored, concurrency: 2 });
    for (const mode of modes) expect(((await lstat(join(restored, `m${mode.toString(8)}`))).mode & 0o7777).toString(8)).toBe(mode.toString(8));
  });

  it('reads a manifest longer than one read chunk, with CRLF line ends and multi-byte names across chunk boundaries', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const restored = join(work, 'restored');
    await mkdir(join(share, 'many'), { recursive: true });
    // long names make the manifest pass 1 MiB (four of the reader's 256 KiB chunks) with few files;
    // 2- and 3-byte UTF-8 characters, so that chunks end inside a character
    const name = (i: number) => `${String(i).padStart(5, '0')}-${'ü日'.repeat(45)}`;
    for (let i = 0; i < 3000; i++) await writeFile(join(share, 'many', name(i)), `${i}`);
    await runBackup({ source: share, target: backup });
    const manifest = join(backup, 'manifest.jsonl');
    const text = await readFile(manifest, 'utf8');
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    const crlf = text.replaceAll('\n', '\r\n');
    await writeFile(manifest, crlf);
    // the summary vouches for the manifest as it now is
    const summaryPath = join(backup, 'summary.json');
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as Record<string, unknown>;
    await writeFile(summaryPath, JSON.stringify({ ...summary, manifest_sha256: createHash('sha256').update(crlf).digest('hex') }));
    expect(await runRestore({ source: backup, target: restored })).toMatchObject({ files: 3000, dirs: 2 });
    expect(await readFile(join(restored, 'many', name(2999)), 'utf8')).toBe('2999');
  });

  it('reads a line longer than two read chunks whole, and names it by its line number', async () => {
    const backup = join(work, 'backup');
    const restored = join(work, 'restored');
    // line 3 spans three of the reader's 256 KiB chunks (its checksum field is 600 KiB long, which
    // the schema refuses): the lines before it parse, and the failure names it, not a piece of it
    const giant = { ...file('giant.txt', 'x'), sha256: 'f'.repeat(600 * 1024) } as ManifestEntry;
    await writeBackup(backup, [rootDir, file('a.txt', 'one'), giant, file('b.txt', 'two')], { 'a.txt': 'one', 'giant.txt': 'x', 'b.txt': 'two' }, { manifestSha256: true });
    await mkdir(restored);
    await expect(runRestore({ source: backup, target: restored })).rejects.toThrow(/^manifest line 3 is not a valid entry: \/sha256/);
    expect(await exists(join(restored, 'b.txt'))).toBe(false);
  });

  it('is idempotent when a backup is re-run into the same root', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    await writeFile(join(share, 'a'), 'one');
    await runBackup({ source: share, target: join(work, 'backup') });
    await writeFile(join(share, 'b'), 'two');
    const result = await runBackup({ source: share, target: join(work, 'backup') });
    expect(result.files).toBe(2);
    expect(await readdir(join(work, 'backup/data'))).toEqual(['a', 'b']);
  });
});

describe('restore over an existing share', () => {
  it('rewrites differing files, leaves extra files alone', async () => {
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await writeBackup(backup, [rootDir, dir('d'), file('d/same.txt', 'backup version'), file('top.txt', 'top')], { 'd/same.txt': 'backup version', 'top.txt': 'top' });
    await mkdir(join(target, 'd'), { recursive: true });
    await writeFile(join(target, 'd/same.txt'), 'tenant changed this after the backup');
    await writeFile(join(target, 'd/extra.txt'), 'not in the backup');
    await writeFile(join(target, 'extra-top'), 'also not');

    await runRestore({ source: backup, target });
    expect(await readFile(join(target, 'd/same.txt'), 'utf8')).toBe('backup version');
    expect(await readFile(join(target, 'd/extra.txt'), 'utf8')).toBe('not in the backup');
    expect(await readFile(join(target, 'extra-top'), 'utf8')).toBe('also not');
    expect(await readFile(join(target, 'top.txt'), 'utf8')).toBe('top');
  });

  it('puts a directory where the target has a symlink, without touching where it pointed', async () => {
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    const outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'outside');
    await writeBackup(backup, [rootDir, dir('sub'), file('sub/f.txt', 'inside')], { 'sub/f.txt': 'inside' });
    await mkdir(target);
    await symlink(outside, join(target, 'sub'));

    await runRestore({ source: backup, target });
    expect((await lstat(join(target, 'sub'))).isDirectory()).toBe(true);
    expect(await readFile(join(target, 'sub/f.txt'), 'utf8')).toBe('inside');
    expect(await readdir(outside)).toEqual(['keep.txt']);
  });

  it('writes a file where the target has a symlink, instead of writing through it', async () => {
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    const outside = join(work, 'outside.txt');
    await writeFile(outside, 'precious');
    await writeBackup(backup, [rootDir, file('f', 'new')], { f: 'new' });
    await mkdir(target);
    await symlink(outside, join(target, 'f'));

    await runRestore({ source: backup, target });
    expect((await lstat(join(target, 'f'))).isFile()).toBe(true);
    expect(await readFile(join(target, 'f'), 'utf8')).toBe('new');
    expect(await readFile(outside, 'utf8')).toBe('precious');
  });
});

describe('malicious manifests', () => {
  async function restoreFails(entries: ManifestEntry[], data: Record<string, string> = {}, prepare?: (target: string) => Promise<void>) {
    const backup = join(work, 'backup');
    const target = join(work, 'share/target');
    await writeBackup(backup, entries, data);
    await mkdir(target, { recursive: true });
    await prepare?.(target);
    let failure: unknown;
    await runRestore({ source: backup, target }).catch((error: unknown) => (failure = error));
    return failure;
  }

  it('refuses "../x" before writing anything', async () => {
    const failure = await restoreFails([rootDir, file('ok.txt', 'ok'), file('../x', 'pwned')], { 'ok.txt': 'ok' });
    expect(failure).toBeInstanceOf(UnsafePathError);
    expect(await exists(join(work, 'share/x'))).toBe(false);
    expect(await exists(join(work, 'share/target/ok.txt'))).toBe(false);
  });

  it('refuses an absolute path', async () => {
    const victim = join(work, 'abs-victim');
    const failure = await restoreFails([rootDir, file(victim, 'pwned')]);
    expect(failure).toBeInstanceOf(UnsafePathError);
    expect(await exists(victim)).toBe(false);
  });

  it('never writes through a symlink the backup created ("escape -> outside", then "escape/pwned")', async () => {
    const outside = join(work, 'outside');
    await mkdir(outside);
    const failure = await restoreFails(
      [rootDir, { path: 'escape', type: 'symlink', ...meta, mode: 0o777, size: 0, target: outside }, file('escape/pwned', 'pwned')],
      { 'escape/pwned': 'pwned' },
    );
    expect(failure).toBeInstanceOf(UnsafePathError);
    expect((failure as Error).message).toMatch(/symlink/);
    expect(await readdir(outside)).toEqual([]);
  });

  it('never writes through a symlink already in the target, for files and hard links', async () => {
    const outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'victim'), 'precious');
    const linkIn = async (target: string) => void (await symlink(outside, join(target, 'escape')));
    expect(await restoreFails([rootDir, file('escape/pwned', 'x')], { 'escape/pwned': 'x' }, linkIn)).toBeInstanceOf(UnsafePathError);
    await rm(join(work, 'share'), { recursive: true });
    await rm(join(work, 'backup'), { recursive: true });
    const hardlinkIn: ManifestEntry = { path: 'stolen', type: 'hardlink', ...meta, size: 8, link_to: 'escape/victim' };
    expect(await restoreFails([rootDir, hardlinkIn], {}, linkIn)).toBeInstanceOf(UnsafePathError);
    expect(await readdir(outside)).toEqual(['victim']);
    expect(await exists(join(work, 'share/target/stolen'))).toBe(false);
  });

  it('refuses a hard link whose link_to leaves the target', async () => {
    const failure = await restoreFails([rootDir, { path: 'h', type: 'hardlink', ...meta, size: 0, link_to: '../outside' }]);
    expect(failure).toBeInstanceOf(UnsafePathError);
  });

  it('refuses a truncated manifest (it disagrees with summary.json)', async () => {
    const backup = join(work, 'backup');
    await writeBackup(backup, [rootDir, file('a', 'a'), file('b', 'b')], { a: 'a', b: 'b' });
    const manifest = await readFile(join(backup, 'manifest.jsonl'), 'utf8');
    await writeFile(join(backup, 'manifest.jsonl'), manifest.split('\n').slice(0, 2).join('\n'));
    await expect(runRestore({ source: backup, target: join(work, 't') })).rejects.toThrow(ManifestError);
    expect(await exists(join(work, 't/a'))).toBe(false);
  });

  it('records the manifest\'s sha256 in summary.json, and refuses a manifest changed since, before writing anything', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    await writeFile(join(share, 'a'), 'a');
    await writeFile(join(share, 'b'), 'b');
    const backup = join(work, 'backup');
    await runBackup({ source: share, target: backup });
    const manifest = await readFile(join(backup, 'manifest.jsonl'), 'utf8');
    const summary = JSON.parse(await readFile(join(backup, 'summary.json'), 'utf8')) as { manifest_sha256: string };
    expect(summary.manifest_sha256).toBe(sha256(manifest));
    // still valid JSON lines with the right counts: only the digest can tell
    await writeFile(join(backup, 'manifest.jsonl'), manifest.replace('"mode":420', '"mode":511'));
    const failure = await runRestore({ source: backup, target: join(work, 't') }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ManifestError);
    expect((failure as Error).message).toMatch(/does not match its sha256/);
    expect(await exists(join(work, 't/a'))).toBe(false);
  });

  it('with a manifest sha256, validates each line as it copies: an unsafe line fails the restore and writes nothing outside', async () => {
    const backup = join(work, 'backup');
    const target = join(work, 'share/target');
    await mkdir(target, { recursive: true });
    await writeBackup(backup, [rootDir, file('ok.txt', 'ok'), file('../x', 'pwned'), file('after.txt', 'after')], { 'ok.txt': 'ok', 'after.txt': 'after' }, { manifestSha256: true });
    const failure = await runRestore({ source: backup, target }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnsafePathError);
    expect(await exists(join(work, 'share/x'))).toBe(false);
    expect(await exists(join(target, 'after.txt'))).toBe(false);
  });
});

describe('verification and failures', () => {
  it('fails with a checksum mismatch when a data file changed after the backup (same size)', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    await writeFile(join(share, 'good.txt'), 'fine');
    await writeFile(join(share, 'data.txt'), 'original content');
    await runBackup({ source: share, target: join(work, 'backup') });
    await writeFile(join(work, 'backup/data/data.txt'), 'tampered content');
    const failure = await runRestore({ source: join(work, 'backup'), target: join(work, 'restored') }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ChecksumMismatchError);
    expect((failure as Error).message).toMatch(/data\.txt.*checksum mismatch/);
    expect(await exists(join(work, 'restored/data.txt'))).toBe(false);
  });

  it.each([
    { copy: 'a few MiB', size: 2 * 1024 * 1024 + 5 },
    { copy: '64 MiB, many read-back chunks', size: 64 * 1024 * 1024 + 5 },
  ])('fails with a checksum mismatch for a corrupted large file ($copy), and leaves no copy of it', async ({ size }) => {
    expect(size).toBeGreaterThanOrEqual(KERNEL_COPY_MIN_BYTES);
    const share = join(work, 'share');
    await mkdir(share);
    await writeFile(join(share, 'big'), Buffer.alloc(size, 1));
    await runBackup({ source: share, target: join(work, 'backup') });
    await writeFile(join(work, 'backup/data/big'), Buffer.alloc(size, 2));
    await expect(runRestore({ source: join(work, 'backup'), target: join(work, 'restored') })).rejects.toThrow(ChecksumMismatchError);
    // the copy is verified (read back from the target, after a kernel copy) and removed when it does not match
    expect(await exists(join(work, 'restored/big'))).toBe(false);
    // streamed through user space (files in flight, as on a network file system): caught as well
    await expect(runRestore({ source: join(work, 'backup'), target: join(work, 'restored2'), networkFileSystem: true })).rejects.toThrow(ChecksumMismatchError);
    expect(await exists(join(work, 'restored2/big'))).toBe(false);
  });

  it('a large file copied by the kernel keeps its manifest mode, owner and mtime, set-id bits included', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    await writeFile(join(share, 'big'), Buffer.alloc(KERNEL_COPY_MIN_BYTES, 7), { mode: 0o640 });
    await writeFile(join(share, 'big-setuid'), Buffer.alloc(KERNEL_COPY_MIN_BYTES, 8));
    await chmod(join(share, 'big-setuid'), 0o4755);
    const old = new Date('2012-03-04T05:06:07.891Z');
    await utimes(join(share, 'big'), old, old);
    await runBackup({ source: share, target: join(work, 'backup') });
    await runRestore({ source: join(work, 'backup'), target: join(work, 'restored') });
    const big = await stat(join(work, 'restored/big'));
    expect((big.mode & 0o7777).toString(8)).toBe('640');
    expect(big.mtime.toISOString()).toBe(old.toISOString());
    expect((await stat(join(work, 'restored/big-setuid'))).mode & 0o7777).toBe(0o4755);
    expect((await readFile(join(work, 'restored/big'))).equals(Buffer.alloc(KERNEL_COPY_MIN_BYTES, 7))).toBe(true);
  });

  it('fails when a data file does not have the manifest size', async () => {
    const backup = join(work, 'backup');
    await writeBackup(backup, [rootDir, file('a', 'abc')], { a: 'abcd' });
    await expect(runRestore({ source: backup, target: join(work, 't') })).rejects.toThrow(SizeMismatchError);
  });

  it('trips the fault switch after N files, for restore and backup', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    for (let i = 0; i < 10; i++) await writeFile(join(share, `f${i}`), `file ${i}`);
    const reasons: string[] = [];
    const sink = { write: async () => undefined, fail: async (reason: string) => void reasons.push(reason) };
    await expect(runBackup({ source: share, target: join(work, 'broken'), failAfterFiles: 3, progress: sink })).rejects.toThrow(FaultInjectedError);
    expect(await exists(join(work, 'broken/summary.json'))).toBe(false);
    await runBackup({ source: share, target: join(work, 'backup') });
    const failure = await runRestore({ source: join(work, 'backup'), target: join(work, 'restored'), failAfterFiles: 3, concurrency: 1, progress: sink }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FaultInjectedError);
    expect((failure as Error).message).toBe('fault injected after 3 files');
    expect(await readdir(join(work, 'restored'))).toHaveLength(3);
    expect(reasons).toEqual(['fault injected after 3 files', 'fault injected after 3 files']);
  });

  it('stops on an abort signal without starting new files', async () => {
    const share = join(work, 'share');
    await mkdir(share);
    for (let i = 0; i < 50; i++) await writeFile(join(share, `f${i}`), `file ${i}`);
    await runBackup({ source: share, target: join(work, 'backup') });
    const stop = new AbortController();
    stop.abort(new StoppedError('stopped by SIGTERM'));
    await expect(runRestore({ source: join(work, 'backup'), target: join(work, 'restored'), signal: stop.signal })).rejects.toThrow('stopped by SIGTERM');
    expect(await readdir(join(work, 'restored'))).toEqual([]);
  });
});

describe('a copy worker with files in flight', () => {
  it('starts its jobs round-robin over their directories, and starts none after a job of the batch failed', async () => {
    const { CopyWorkerPool } = await import('../../copier/workers/worker-pool.ts');
    const dataRoot = join(work, 'data');
    const targetRoot = join(work, 'target');
    for (const dir of ['a', 'b']) {
      await mkdir(join(dataRoot, dir), { recursive: true });
      await mkdir(join(targetRoot, dir), { recursive: true });
    }
    const contentOf = (path: string) => Buffer.from(`content of ${path}`);
    const jobs = ['a/1', 'a/2', 'a/3', 'b/1', 'b/2', 'b/3'].map((path) => ({
      kind: 'file' as const, path, size: contentOf(path).length, checksum: checksumOf('crc32', contentOf(path)), algorithm: 'crc32' as const,
      fresh: true, mode: 0o644, uid: 0, gid: 0, mtimeNs: '1000000000000000000',
    }));
    // b/1 has no data file: its job fails at once, in the second lane
    for (const { path } of jobs) if (path !== 'b/1') await writeFile(join(dataRoot, path), contentOf(path));
    const pool = new CopyWorkerPool({ workers: 1, jobsInFlight: 2, dataRoot, targetRoot, chown: false, verifyExisting: 'size-mtime', asideTag: 'test0001', kernelCopy: false, backupLocal: true, onBytes: () => undefined });
    try {
      const result = await pool.run(jobs);
      expect(result.error?.name).toBe('ManifestError');
      // in manifest order the two lanes would have taken a/1 and a/2, and a/3 before b/1 failed
      expect(result.outcomes).toHaveLength(1);
      expect((await readdir(join(targetRoot, 'a'))).sort()).toEqual(['1']);
      expect(await readdir(join(targetRoot, 'b'))).toEqual([]);
      expect(await readFile(join(targetRoot, 'a/1'), 'utf8')).toBe('content of a/1');
    } finally {
      await pool.close();
    }
  });
});

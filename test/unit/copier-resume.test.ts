// Restore resume and the copy workers: a re-run keeps what is already in place per the manifest and
// re-applies metadata, a corrupt file of the same size and mtime is repaired unless an administrator
// opted into trusting size and mtime (COPIER_VERIFY_EXISTING=size-mtime), and a multi-worker
// restore of many small and a few large files is exact.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../copier/backup/index.ts';
import { loadCopierConfig } from '../../copier/config.ts';
import { runRestore } from '../../copier/restore/index.ts';
import { MemoryCheckpointStore } from '../../copier/restore/checkpoint.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'copier-resume-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const OLD = new Date('2010-01-01T00:00:00.123Z');

async function makeShare(share: string): Promise<void> {
  for (let d = 0; d < 4; d++) {
    await mkdir(join(share, `d${d}/sub`), { recursive: true });
    for (let f = 0; f < 100; f++) await writeFile(join(share, `d${d}/sub/f${f}.txt`), `dir ${d} file ${f} `.repeat(f + 1));
  }
  await writeFile(join(share, 'large.bin'), Buffer.alloc(20 * 1024 * 1024 + 3, 9));
  await symlink('d0/sub/f1.txt', join(share, 'link'));
  await chmod(join(share, 'd1'), 0o750);
  await utimes(join(share, 'd1'), OLD, OLD);
}

async function digestTree(root: string, rel = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const stats = await lstat(join(root, path));
    const content = stats.isFile() ? createHash('sha256').update(await readFile(join(root, path))).digest('hex') : '';
    lines.push(`${path} ${stats.mode.toString(8)} ${stats.isSymbolicLink() ? 'link' : Math.floor(stats.mtimeMs)} ${content}`);
    if (stats.isDirectory()) lines.push(...(await digestTree(root, path)));
  }
  return lines;
}

// every test runs both ways a copy worker can make its calls: blocking, one file at a time (a local
// disk), and asynchronously with many files in flight (what a network file system gets)
describe.each([
  { io: 'blocking calls', networkFileSystem: false },
  { io: 'files in flight', networkFileSystem: true },
])('restore resume, $io', ({ networkFileSystem }) => {
  const io = { networkFileSystem };

  it('a re-run keeps every file in place, restores what is missing, and re-applies metadata', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    const first = await runRestore({ ...io,  source: backup, target, concurrency: 3 });
    expect(first).toMatchObject({ files: 401, unchanged: 0, symlinks: 1 });

    // an interrupted restore: files missing, a mode and an mtime changed
    await rm(join(target, 'd2'), { recursive: true });
    await rm(join(target, 'large.bin'));
    await chmod(join(target, 'd0/sub/f5.txt'), 0o600);
    await utimes(join(target, 'd1'), new Date(), new Date());
    const inode = (await stat(join(target, 'd3/sub/f7.txt'))).ino;

    const second = await runRestore({ ...io,  source: backup, target, concurrency: 3 });
    // 300 small files and the symlink were in place; d2's 100 files and large.bin were copied
    expect(second).toMatchObject({ files: 401, unchanged: 301 });
    expect((await stat(join(target, 'd3/sub/f7.txt'))).ino).toBe(inode);
    expect(await digestTree(target)).toEqual(await digestTree(share));

    // a third run finds everything in place: the workers read every file to compare its checksum
    const log: string[] = [];
    expect(await runRestore({ ...io, source: backup, target, concurrency: 3, log: (line) => log.push(line) })).toMatchObject({ files: 401, unchanged: 402 });
    expect(log.join('\n')).toMatch(/[1-9]\d* copy workers were started/);
    expect(await digestTree(target)).toEqual(await digestTree(share));

    // trusting size and mtime (the opt-in), on a local disk the main thread sees everything in place
    // and starts no copy worker; on a network file system the workers check, many files in flight
    const trusting: string[] = [];
    expect(await runRestore({ ...io, source: backup, target, concurrency: 3, verifyExisting: 'size-mtime', log: (line) => trusting.push(line) })).toMatchObject({ files: 401, unchanged: 402 });
    expect(trusting.join('\n')).toMatch(networkFileSystem ? /[1-9]\d* copy workers were started/ : /\b0 copy workers were started/);

    // one file missing (trusting size and mtime): on a local disk one batch, so one worker of the
    // three allowed (each costs ~90 ms of CPU to start); on a network file system the workers check
    // every entry
    await rm(join(target, 'd1/sub/f3.txt'));
    const oneMissing: string[] = [];
    expect(await runRestore({ ...io, source: backup, target, concurrency: 3, verifyExisting: 'size-mtime', log: (line) => oneMissing.push(line) })).toMatchObject({ files: 401, unchanged: 401 });
    if (!networkFileSystem) expect(oneMissing.join('\n')).toMatch(/\b1 copy workers were started/);
    expect(await digestTree(target)).toEqual(await digestTree(share));
  }, 30_000); // five restores of 401 files, two of them reading every file back

  it('starts no more copy workers than the backup has files', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    await mkdir(join(share, 'a', 'b'), { recursive: true });
    await writeFile(join(share, 'a', 'b', 'only.txt'), 'one file\n');
    await symlink('b/only.txt', join(share, 'a', 'link'));
    await runBackup({ source: share, target: backup });
    const log: string[] = [];
    await runRestore({ ...io, source: backup, target: join(work, 'target'), concurrency: 8, log: (line) => log.push(line) });
    // 8 allowed, one file: one worker (each costs ~90 ms of CPU to start)
    expect(log.join('\n')).toMatch(/\b1 copy workers,/);
    expect(await digestTree(join(work, 'target'))).toEqual(await digestTree(share));
  });

  it('repairs a same-size, same-mtime corrupt file, unless size and mtime are trusted (the opt-in)', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await mkdir(share);
    await writeFile(join(share, 'a.txt'), 'original');
    await utimes(join(share, 'a.txt'), OLD, OLD);
    await runBackup({ source: share, target: backup });
    await runRestore({ ...io,  source: backup, target });
    await writeFile(join(target, 'a.txt'), 'corruptd');
    await utimes(join(target, 'a.txt'), OLD, OLD);

    expect(await runRestore({ ...io,  source: backup, target, verifyExisting: 'size-mtime' })).toMatchObject({ unchanged: 1 });
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('corruptd');
    expect(await runRestore({ ...io,  source: backup, target })).toMatchObject({ unchanged: 0, warnings: 1 });
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('original');
  });

  // crc32 by default, sha256 when asked, and sha256 for a backup whose manifest has no crc32 (before 0.3)
  it.each([
    { checksum: undefined, legacy: false, algorithm: 'crc32' },
    { checksum: 'sha256' as const, legacy: false, algorithm: 'sha256' },
    { checksum: undefined, legacy: true, algorithm: 'sha256' },
  ])('fails on a corrupt data file ($algorithm, checksum option $checksum, legacy manifest $legacy), reporting it, and leaves no later file half-written', async ({ checksum, legacy, algorithm }) => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    if (legacy) {
      const manifest = (await readFile(join(backup, 'manifest.jsonl'), 'utf8')).replace(/,"crc32":"[0-9a-f]{8}"/g, '');
      await writeFile(join(backup, 'manifest.jsonl'), manifest);
      const summary = JSON.parse(await readFile(join(backup, 'summary.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(backup, 'summary.json'), JSON.stringify({ ...summary, manifest_sha256: createHash('sha256').update(manifest).digest('hex') }));
    }
    // the same size, so only the checksum can tell
    await writeFile(join(backup, 'data/d2/sub/f5.txt'), 'X'.repeat((await stat(join(backup, 'data/d2/sub/f5.txt'))).size));
    await expect(runRestore({ ...io, checksum, source: backup, target: join(work, 'target') })).rejects.toThrow(new RegExp(`f5\\.txt.*checksum mismatch \\(${algorithm} of the data`));
    expect(await lstat(join(work, 'target/d2/sub/f5.txt')).catch(() => undefined)).toBeUndefined();
  });

  it('verifies a large file and removes a copy that does not match', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    const data = await readFile(join(backup, 'data/large.bin'));
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 1, data.length - 1);
    await writeFile(join(backup, 'data/large.bin'), data);
    await expect(runRestore({ ...io, source: backup, target: join(work, 'target') })).rejects.toThrow(/large\.bin.*checksum mismatch \(crc32/);
    expect(await lstat(join(work, 'target/large.bin')).catch(() => undefined)).toBeUndefined();
  });
});

/** The manifest's lines with their byte offsets. */
async function manifestLines(backup: string): Promise<{ line: string; offset: number }[]> {
  const bytes = await readFile(join(backup, 'manifest.jsonl'));
  const lines: { line: string; offset: number }[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const end = bytes.indexOf(0x0a, offset);
    lines.push({ line: bytes.toString('utf8', offset, end), offset });
    offset = end + 1;
  }
  return lines;
}

/** The top directory of the manifest's last file: its files lie in the back half, the scout's. */
async function lateTopDir(backup: string): Promise<string> {
  const files = (await manifestLines(backup)).map(({ line }) => JSON.parse(line) as { path: string; type: string }).filter((entry) => entry.type === 'file' && entry.path.includes('/'));
  return files.at(-1)!.path.split('/')[0]!;
}

describe('the resume scout (a re-run on a local disk: copier/workers/resume-scout.ts)', () => {
  // scoutMinEntries: 1 gives this small manifest a scout; scoutFirst lets it finish before the main
  // thread starts, so that its hints are all there to use (or misuse). The scout settles files by
  // size and mtime, so it runs only when an administrator opted into trusting them.
  const scouted = { scoutMinEntries: 1, scoutFirst: true, concurrency: 3, verifyExisting: 'size-mtime' as const };
  const foundBy = (log: string[]) => Number(/the resume scout found (\d+) entries/.exec(log.join('\n'))?.[1] ?? -1);
  /** A share, its backup, and the backup restored once into a target. */
  async function restoredOnce() {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    const first = await runRestore({ source: backup, target, concurrency: 3 });
    return { share, backup, target, first };
  }

  it('counts the back half of a tree in place from its hints, and restores what changed there', async () => {
    const { share, backup, target, first } = await restoredOnce();
    const late = await lateTopDir(backup);
    await writeFile(join(target, late, 'sub/f99.txt'), 'changed, and of another size');
    await rm(join(target, late, 'sub/f98.txt'));
    await chmod(join(target, late, 'sub/f97.txt'), 0o600);

    const log: string[] = [];
    const result = await runRestore({ source: backup, target, ...scouted, log: (line) => log.push(line) });
    expect(foundBy(log)).toBeGreaterThan(50);
    // the counts are the manifest's, whoever counted each entry; three files were not in place
    expect(result).toMatchObject({ entries: first.entries, files: first.files, bytes: first.bytes, symlinks: 1, hardlinks: 0 });
    expect(result.unchanged).toBe(402 - 2); // (the one whose mode changed was kept, its mode set)
    expect(await digestTree(target)).toEqual(await digestTree(share));
  });

  it('does not trust what it found through a directory the run then replaces', async () => {
    const { share, backup, target } = await restoredOnce();
    const outside = join(work, 'outside');
    // the late directory is moved out of the target and a symlink put in its place: through it, the
    // scout's lstats find every one of its files as the backup has it
    const late = await lateTopDir(backup);
    await rm(join(target, late), { recursive: true });
    await mkdir(outside);
    await runRestore({ source: backup, target: outside, concurrency: 3 });
    await symlink(join(outside, late), join(target, late));
    const outsideBefore = await digestTree(outside);

    const log: string[] = [];
    expect(await runRestore({ source: backup, target, ...scouted, runId: 'run00001', log: (line) => log.push(line) })).toMatchObject({ files: 401 });
    expect(foundBy(log)).toBeGreaterThan(50);
    // the symlink was moved aside for a directory, and the files were written into it
    expect((await lstat(join(target, late))).isDirectory()).toBe(true);
    expect(await readlink(join(target, `${late}.restore-run00001`))).toBe(join(outside, late));
    await rm(join(target, `${late}.restore-run00001`));
    expect(await digestTree(target)).toEqual(await digestTree(share));
    expect(await digestTree(outside)).toEqual(outsideBefore);
  });

  it('names a bad line by its number, past the lines it counted for the main thread', async () => {
    const { backup, target } = await restoredOnce();
    // the last line made unreadable (the summary vouching for the manifest as it now is)
    const lines = await manifestLines(backup);
    const manifest = `${lines.slice(0, -1).map(({ line }) => `${line}\n`).join('')}{"path":\n`;
    await writeFile(join(backup, 'manifest.jsonl'), manifest);
    const summaryPath = join(backup, 'summary.json');
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as Record<string, unknown>;
    await writeFile(summaryPath, JSON.stringify({ ...summary, manifest_sha256: createHash('sha256').update(manifest).digest('hex') }));

    const log: string[] = [];
    await expect(runRestore({ source: backup, target, ...scouted, log: (line) => log.push(line) })).rejects.toThrow(new RegExp(`^manifest line ${lines.length} is not JSON`));
    expect(foundBy(log)).toBeGreaterThan(50);
  });
});

describe('restore configuration', () => {
  const base = { COPIER_MODE: 'restore', COPIER_SOURCE: '/b', COPIER_TARGET: '/t' };

  it('reads COPIER_RUN_ID, else PROGRESS_ID', () => {
    expect(loadCopierConfig({ ...base, COPIER_RUN_ID: 'exec-1', PROGRESS_TABLE: 'p', PROGRESS_ID: 'rec-1' }).runId).toBe('exec-1');
    expect(loadCopierConfig({ ...base, PROGRESS_TABLE: 'p', PROGRESS_ID: 'rec-1' }).runId).toBe('rec-1');
    expect(loadCopierConfig(base).runId).toBeUndefined();
  });

  it('reads COPIER_VERIFY_EXISTING', () => {
    expect(loadCopierConfig({ ...base, COPIER_VERIFY_EXISTING: 'checksum' }).verifyExisting).toBe('checksum');
    expect(loadCopierConfig(base).verifyExisting).toBeUndefined();
    expect(() => loadCopierConfig({ ...base, COPIER_VERIFY_EXISTING: 'maybe' })).toThrow('COPIER_VERIFY_EXISTING');
  });

  it('reads COPIER_CHECKSUM', () => {
    expect(loadCopierConfig({ ...base, COPIER_CHECKSUM: 'sha256' }).checksum).toBe('sha256');
    expect(loadCopierConfig({ ...base, COPIER_CHECKSUM: 'crc32' }).checksum).toBe('crc32');
    expect(loadCopierConfig(base).checksum).toBeUndefined();
    expect(() => loadCopierConfig({ ...base, COPIER_CHECKSUM: 'md5' })).toThrow('COPIER_CHECKSUM');
  });

  it('reads COPIER_NETWORK_FS', () => {
    expect(loadCopierConfig({ ...base, COPIER_NETWORK_FS: 'true' }).networkFileSystem).toBe(true);
    expect(loadCopierConfig({ ...base, COPIER_NETWORK_FS: 'false' }).networkFileSystem).toBe(false);
    expect(loadCopierConfig(base).networkFileSystem).toBeUndefined();
    expect(() => loadCopierConfig({ ...base, COPIER_NETWORK_FS: 'yes' })).toThrow('COPIER_NETWORK_FS');
  });
});

describe('a restore\'s checkpoint (a retry of the same restore: copier/restore/checkpoint.ts)', () => {
  async function corruptedAfterRestore(store: MemoryCheckpointStore) {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    expect(await runRestore({ source: backup, target, concurrency: 3, runId: 'restore-1', checkpoint: store })).toMatchObject({ files: 401 });
    // a file rewritten with the same size, its mtime put back
    const path = join(target, 'd1/sub/f9.txt');
    await corruptKeepingMtime(path);
    return { backup, target, path };
  }

  /** Rewrites a file with as many bytes of 'x' and puts its mtime back to the nanosecond (`touch -r`:
   * utimes through a double would move it by up to a few hundred ns). */
  async function corruptKeepingMtime(path: string): Promise<void> {
    const reference = join(work, 'mtime-reference');
    await writeFile(reference, '');
    execFileSync('touch', ['-r', path, reference]);
    await writeFile(path, 'x'.repeat((await stat(path)).size));
    execFileSync('touch', ['-r', reference, path]);
  }

  it('is written at the end of a restore: every line of the manifest verified', async () => {
    const store = new MemoryCheckpointStore();
    const { backup } = await corruptedAfterRestore(store);
    expect(store.saved).toEqual({ runId: 'restore-1', verifiedBelow: (await stat(join(backup, 'manifest.jsonl'))).size });
  });

  it('lets a retry of the same restore trust size and mtime, and no other restore', async () => {
    const store = new MemoryCheckpointStore();
    const { backup, target, path } = await corruptedAfterRestore(store);
    // another restore id: the checkpoint is not its own, every file is read, the corruption repaired
    const other = new MemoryCheckpointStore({ ...store.saved! });
    expect(await runRestore({ source: backup, target, concurrency: 3, runId: 'restore-2', checkpoint: other })).toMatchObject({ unchanged: 401, warnings: 1 });
    expect(await readFile(path, 'utf8')).toMatch(/^dir 1 file 9 /);
    expect(other.saved?.runId).toBe('restore-2');
    // the same restore id, where its checkpoint covers the file: trusted by size and mtime, not read
    // (what makes a retry cheap; the file is one this restore wrote and verified)
    await corruptKeepingMtime(path);
    const log: string[] = [];
    expect(await runRestore({ source: backup, target, concurrency: 3, runId: 'restore-2', checkpoint: other, log: (line) => log.push(line) })).toMatchObject({ unchanged: 402, warnings: 0 });
    expect(log.join('\n')).toMatch(/this restore verified the entries before manifest byte \d+/);
    // on a local disk the main thread settles every trusted file by looking: no copy worker starts
    expect(log.join('\n')).toMatch(/\b0 copy workers were started/);
    // without a restore id, nothing is trusted
    expect(await runRestore({ source: backup, target, concurrency: 3, checkpoint: other })).toMatchObject({ warnings: 1 });
  });

  it('covers only entries written and verified when a restore fails part-way', async () => {
    const share = join(work, 'share');
    const backup = join(work, 'backup');
    const target = join(work, 'target');
    await makeShare(share);
    await runBackup({ source: share, target: backup });
    const store = new MemoryCheckpointStore();
    await expect(runRestore({ source: backup, target, concurrency: 3, runId: 'restore-1', checkpoint: store, failAfterFiles: 150 })).rejects.toThrow(/fault injected/);
    const verifiedBelow = store.saved!.verifiedBelow;
    expect(store.saved!.runId).toBe('restore-1');
    expect(verifiedBelow).toBeGreaterThan(0);
    const lines = await manifestLines(backup);
    expect(verifiedBelow).toBeLessThan(lines.at(-1)!.offset);
    // every file on a line before it is in the target with the backup's content
    for (const { line, offset } of lines) {
      const entry = JSON.parse(line) as { path: string; type: string; sha256: string };
      if (offset >= verifiedBelow || entry.type !== 'file') continue;
      expect(createHash('sha256').update(await readFile(join(target, entry.path))).digest('hex'), entry.path).toBe(entry.sha256);
    }
    // and the retry finishes the restore
    expect(await runRestore({ source: backup, target, concurrency: 3, runId: 'restore-1', checkpoint: store })).toMatchObject({ files: 401 });
    expect(await digestTree(target)).toEqual(await digestTree(share));
  });
});

// What a restore does to entries already in the target (docs/user-guide.md, "What a restore does
// to what is already there"): a file counts as restored only if its content matches the backup's
// checksum, and an entry of another type than the backup's is moved aside, never deleted. Every
// case runs both ways a copy worker makes its calls (blocking, and many files in flight).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../copier/backup/index.ts';
import { MemoryReportSink } from '../../copier/progress/report.ts';
import { runRestore } from '../../copier/restore/index.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'copier-conflicts-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const OLD = new Date('2010-01-01T00:00:00.123Z');
const RUN_ID = 'abcdef12-3456-7890-abcd-ef1234567890';
const ASIDE = '.restore-abcdef12';

/** Every entry under `root`: type, inode, ctime (ns) and content or link target. */
async function snapshot(root: string, rel = ''): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const abs = join(root, path);
    const stats = await lstat(abs, { bigint: true });
    const what = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? `link ${await readlink(abs)}` : `file ${createHash('sha256').update(await readFile(abs)).digest('hex')}`;
    entries.set(path, `${what} ino ${stats.ino} ctime ${stats.ctimeNs}`);
    if (stats.isDirectory()) for (const [child, value] of await snapshot(root, path)) entries.set(child, value);
  }
  return entries;
}

describe.each([
  { io: 'blocking calls', networkFileSystem: false },
  { io: 'files in flight', networkFileSystem: true },
])('a restore over entries already in the target, $io', ({ networkFileSystem }) => {
  const share = () => join(work, 'share');
  const backup = () => join(work, 'backup');
  const target = () => join(work, 'target');
  const restore = async (options: { runId?: string; report?: MemoryReportSink; verifyExisting?: 'size-mtime' | 'checksum' } = {}) =>
    await runRestore({ networkFileSystem, source: backup(), target: target(), runId: RUN_ID, ...options });

  it('repairs a file rewritten with the same size and its mtime put back, and reports it', async () => {
    await mkdir(share());
    await writeFile(join(share(), 'a.txt'), 'original content');
    await writeFile(join(share(), 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    await utimes(join(share(), 'a.txt'), OLD, OLD);
    await runBackup({ source: share(), target: backup() });
    await restore();
    // the corruption `touch -r` hides: same size, different bytes, the original mtime
    await writeFile(join(target(), 'a.txt'), 'corrupted conten');
    await utimes(join(target(), 'a.txt'), OLD, OLD);
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    big[big.length - 1] = 2;
    // (touch -r: the mtime back to the nanosecond, as utimes through a double would not)
    await writeFile(join(work, 'reference'), '');
    execFileSync('touch', ['-r', join(target(), 'big.bin'), join(work, 'reference')]);
    await writeFile(join(target(), 'big.bin'), big);
    execFileSync('touch', ['-r', join(work, 'reference'), join(target(), 'big.bin')]);

    const report = new MemoryReportSink();
    const result = await restore({ runId: 'a-second-restore', report });
    expect(await readFile(join(target(), 'a.txt'), 'utf8')).toBe('original content');
    expect((await readFile(join(target(), 'big.bin'))).equals(Buffer.alloc(3 * 1024 * 1024, 1))).toBe(true);
    expect(result).toMatchObject({ files: 2, unchanged: 0, warnings: 2 });
    expect(report.entries.map(({ path, what, action }) => ({ path, what, action })).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'a.txt', what: 'content', action: 'repaired' },
      { path: 'big.bin', what: 'content', action: 'repaired' },
    ]);
    expect(report.entries[0]!.why).toMatch(/checksum/);
  });

  it('writes nothing when a new restore runs onto a tree identical to the backup', async () => {
    await mkdir(join(share(), 'd/sub'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(share(), `d/sub/f${i}.txt`), `file ${i} `.repeat(i + 1));
    await writeFile(join(share(), 'big.bin'), Buffer.alloc(2 * 1024 * 1024 + 5, 3));
    await symlink('d/sub/f1.txt', join(share(), 'link'));
    await link(join(share(), 'd/sub/f2.txt'), join(share(), 'hard'));
    await runBackup({ source: share(), target: backup() });
    await restore();
    const before = await snapshot(target());

    const report = new MemoryReportSink();
    const result = await restore({ runId: 'a-second-restore', report });
    expect(result).toMatchObject({ files: 21, unchanged: 22, warnings: 0 });
    expect(report.entries).toEqual([]);
    // same inodes, and no ctime moved: nothing was written, renamed, chmod-ed or touched
    expect(await snapshot(target())).toEqual(before);
  });

  it('moves a directory aside where the backup has a file, deleting nothing', async () => {
    await mkdir(share());
    await writeFile(join(share(), 'dirfile'), 'the backup has a file here');
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'dirfile/inner'), { recursive: true });
    await writeFile(join(target(), 'dirfile/extra'), 'tenant data the backup never had');
    await writeFile(join(target(), 'dirfile/inner/deep'), 'deeper tenant data');

    const report = new MemoryReportSink();
    expect(await restore({ report })).toMatchObject({ warnings: 1 });
    expect(await readFile(join(target(), 'dirfile'), 'utf8')).toBe('the backup has a file here');
    expect(await readFile(join(target(), `dirfile${ASIDE}/extra`), 'utf8')).toBe('tenant data the backup never had');
    expect(await readFile(join(target(), `dirfile${ASIDE}/inner/deep`), 'utf8')).toBe('deeper tenant data');
    expect(report.entries).toEqual([{ path: 'dirfile', what: 'entry', action: 'moved-aside', moved_to: `dirfile${ASIDE}`, why: expect.stringMatching(/directory.*regular file/) as unknown }]);
  });

  it('moves a file aside where the backup has a directory, and restores the directory', async () => {
    await mkdir(join(share(), 'd'), { recursive: true });
    await writeFile(join(share(), 'd/child'), 'in the backup');
    await runBackup({ source: share(), target: backup() });
    await mkdir(target());
    await writeFile(join(target(), 'd'), 'a tenant file where the backup has a directory');

    const report = new MemoryReportSink();
    await restore({ report });
    expect(await readFile(join(target(), 'd/child'), 'utf8')).toBe('in the backup');
    expect(await readFile(join(target(), `d${ASIDE}`), 'utf8')).toBe('a tenant file where the backup has a directory');
    expect(report.entries).toMatchObject([{ path: 'd', what: 'entry', action: 'moved-aside', moved_to: `d${ASIDE}` }]);
  });

  it('moves a symlink aside where the backup has a directory, never following it', async () => {
    const outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'outside the share');
    await mkdir(join(share(), 'sub'), { recursive: true });
    await writeFile(join(share(), 'sub/f.txt'), 'inside');
    await runBackup({ source: share(), target: backup() });
    await mkdir(target());
    await symlink(outside, join(target(), 'sub'));

    const report = new MemoryReportSink();
    await restore({ report });
    expect((await lstat(join(target(), 'sub'))).isDirectory()).toBe(true);
    expect(await readFile(join(target(), 'sub/f.txt'), 'utf8')).toBe('inside');
    expect(await readlink(join(target(), `sub${ASIDE}`))).toBe(outside);
    expect(await readdir(outside)).toEqual(['keep.txt']);
    expect(report.entries).toMatchObject([{ path: 'sub', action: 'moved-aside', moved_to: `sub${ASIDE}` }]);
  });

  it('moves a directory aside where the backup has a symlink, its contents intact', async () => {
    await mkdir(share());
    await symlink('somewhere/else', join(share(), 'l'));
    await writeFile(join(share(), 'other.txt'), 'a file, so that a worker runs');
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'l'), { recursive: true });
    await writeFile(join(target(), 'l/kept'), 'tenant data');

    const report = new MemoryReportSink();
    await restore({ report });
    expect(await readlink(join(target(), 'l'))).toBe('somewhere/else');
    expect(await readFile(join(target(), `l${ASIDE}/kept`), 'utf8')).toBe('tenant data');
    expect(report.entries).toMatchObject([{ path: 'l', what: 'entry', action: 'moved-aside', moved_to: `l${ASIDE}` }]);
  });

  it('moves a planted symlink aside where the backup has a file, never writing through it', async () => {
    const outside = join(work, 'outside.txt');
    await writeFile(outside, 'precious, outside the share');
    await mkdir(share());
    await writeFile(join(share(), 'f'), 'new');
    await runBackup({ source: share(), target: backup() });
    await mkdir(target());
    await symlink(outside, join(target(), 'f'));

    const report = new MemoryReportSink();
    await restore({ report });
    expect((await lstat(join(target(), 'f'))).isFile()).toBe(true);
    expect(await readFile(join(target(), 'f'), 'utf8')).toBe('new');
    expect(await readFile(outside, 'utf8')).toBe('precious, outside the share');
    expect(await readlink(join(target(), `f${ASIDE}`))).toBe(outside);
    expect(report.entries).toMatchObject([{ path: 'f', action: 'moved-aside', moved_to: `f${ASIDE}` }]);
  });

  it('moves a directory aside where the backup has a hard link', async () => {
    await mkdir(share());
    await writeFile(join(share(), 'first'), 'linked');
    await link(join(share(), 'first'), join(share(), 'second'));
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'second'), { recursive: true });
    await writeFile(join(target(), 'second/kept'), 'tenant data');

    const report = new MemoryReportSink();
    await restore({ report });
    expect((await lstat(join(target(), 'second'))).ino).toBe((await lstat(join(target(), 'first'))).ino);
    expect(await readFile(join(target(), `second${ASIDE}/kept`), 'utf8')).toBe('tenant data');
    expect(report.entries).toMatchObject([{ path: 'second', action: 'moved-aside', moved_to: `second${ASIDE}` }]);
  });

  it('reports what it moved aside even when the copy that follows fails', async () => {
    await mkdir(share());
    await writeFile(join(share(), 'big'), Buffer.alloc(2 * 1024 * 1024, 5));
    await runBackup({ source: share(), target: backup() });
    // the data file damaged after the backup (same size): only its checksum can tell, after the copy
    await writeFile(join(backup(), 'data/big'), Buffer.alloc(2 * 1024 * 1024, 6));
    await mkdir(join(target(), 'big'), { recursive: true });
    await writeFile(join(target(), 'big/kept'), 'tenant data');

    const report = new MemoryReportSink();
    await expect(restore({ report })).rejects.toThrow(/checksum mismatch/);
    expect(await readFile(join(target(), `big${ASIDE}/kept`), 'utf8')).toBe('tenant data');
    expect(report.entries).toMatchObject([{ path: 'big', action: 'moved-aside', moved_to: `big${ASIDE}` }]);
  });

  it('picks the next free name when the aside name is taken, and overwrites nothing there', async () => {
    await mkdir(share());
    await writeFile(join(share(), 'x'), 'backup');
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'x'), { recursive: true });
    await writeFile(join(target(), 'x/in-dir'), 'one');
    await writeFile(join(target(), `x${ASIDE}`), 'taken by a file');
    await mkdir(join(target(), `x${ASIDE}-2`));

    const report = new MemoryReportSink();
    await restore({ report });
    expect(await readFile(join(target(), 'x'), 'utf8')).toBe('backup');
    expect(await readFile(join(target(), `x${ASIDE}`), 'utf8')).toBe('taken by a file');
    expect(await readdir(join(target(), `x${ASIDE}-2`))).toEqual([]);
    expect(await readFile(join(target(), `x${ASIDE}-3/in-dir`), 'utf8')).toBe('one');
    expect(report.entries).toMatchObject([{ path: 'x', moved_to: `x${ASIDE}-3` }]);
  });

  it('moves a directory aside whose 255-byte name leaves no room for the suffix, shortening the name, not the suffix', async () => {
    // 255 bytes each: ASCII, and UTF-8 where a cut at 238 bytes would fall inside an "é"
    const ascii = 'n'.repeat(255);
    const utf8 = `x${'é'.repeat(127)}`;
    await mkdir(share());
    for (const name of [ascii, utf8]) await writeFile(join(share(), name), `the backup's ${name.slice(0, 3)}`);
    await runBackup({ source: share(), target: backup() });
    for (const name of [ascii, utf8]) {
      await mkdir(join(target(), name, 'inner'), { recursive: true });
      await writeFile(join(target(), name, 'inner/kept'), `tenant data in ${name.slice(0, 3)}`);
    }

    const report = new MemoryReportSink();
    expect(await restore({ report })).toMatchObject({ warnings: 2 });
    // 255 - 17 bytes (".restore-abcdef12") of each name: 238 "n", and "x" + 118 "é" (237 bytes)
    const asideAscii = `${'n'.repeat(238)}${ASIDE}`;
    const asideUtf8 = `x${'é'.repeat(118)}${ASIDE}`;
    expect(Buffer.byteLength(asideAscii)).toBe(255);
    expect(Buffer.byteLength(asideUtf8)).toBe(254);
    for (const [name, aside] of [[ascii, asideAscii], [utf8, asideUtf8]] as const) {
      expect(await readFile(join(target(), name), 'utf8')).toBe(`the backup's ${name.slice(0, 3)}`);
      expect(await readFile(join(target(), aside, 'inner/kept'), 'utf8')).toBe(`tenant data in ${name.slice(0, 3)}`);
    }
    expect((await readdir(target())).sort()).toEqual([ascii, asideAscii, asideUtf8, utf8].sort());
    expect([...report.entries].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: ascii, what: 'entry', action: 'moved-aside', moved_to: asideAscii, why: expect.stringMatching(/directory.*regular file/) as unknown },
      { path: utf8, what: 'entry', action: 'moved-aside', moved_to: asideUtf8, why: expect.stringMatching(/directory.*regular file/) as unknown },
    ]);
  });

  it('moves aside a 255-byte name that is not UTF-8, its moved_to naming the entry on disk', async () => {
    // "a" and 254 bytes that are not UTF-8: the manifest spells each as \udcff (names.ts)
    const raw = Buffer.concat([Buffer.from('a'), Buffer.alloc(254, 0xff)]);
    const at = (root: string, name: Buffer) => Buffer.concat([Buffer.from(`${root}/`), name]);
    await mkdir(share());
    await writeFile(at(share(), raw), 'the backup has a file');
    await runBackup({ source: share(), target: backup() });
    await mkdir(target());
    await mkdir(at(target(), raw));
    await writeFile(at(target(), Buffer.concat([raw, Buffer.from('/kept')])), 'tenant data');

    const report = new MemoryReportSink();
    expect(await restore({ report })).toMatchObject({ warnings: 1 });
    const asideRaw = Buffer.concat([Buffer.from('a'), Buffer.alloc(237, 0xff), Buffer.from(ASIDE)]);
    expect(asideRaw.length).toBe(255);
    expect(await readFile(at(target(), raw), 'utf8')).toBe('the backup has a file');
    expect(await readFile(at(target(), Buffer.concat([asideRaw, Buffer.from('/kept')])), 'utf8')).toBe('tenant data');
    expect((await readdir(target(), { encoding: 'buffer' })).map((name) => name.toString('hex')).sort()).toEqual([raw, asideRaw].map((name) => name.toString('hex')).sort());
    expect(report.entries).toMatchObject([{ path: `a${'\udcff'.repeat(254)}`, action: 'moved-aside', moved_to: `a${'\udcff'.repeat(237)}${ASIDE}` }]);
  });

  it('moves a directory or a file aside where the backup has a FIFO, deleting nothing, and keeps a FIFO in place', async () => {
    await mkdir(share());
    for (const name of ['pipe', 'pipe2', 'pipe3']) execFileSync('mkfifo', [join(share(), name)]);
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'pipe/inner'), { recursive: true });
    await writeFile(join(target(), 'pipe/inner/deep'), 'tenant data the backup never had');
    await writeFile(join(target(), 'pipe2'), 'a tenant file');
    execFileSync('mkfifo', [join(target(), 'pipe3')]);
    const pipe3 = await lstat(join(target(), 'pipe3'), { bigint: true });

    const report = new MemoryReportSink();
    expect(await restore({ report })).toMatchObject({ warnings: 2 });
    for (const name of ['pipe', 'pipe2', 'pipe3']) expect((await lstat(join(target(), name))).isFIFO()).toBe(true);
    expect((await lstat(join(target(), 'pipe3'), { bigint: true })).ino).toBe(pipe3.ino);
    expect(await readFile(join(target(), `pipe${ASIDE}/inner/deep`), 'utf8')).toBe('tenant data the backup never had');
    expect(await readFile(join(target(), `pipe2${ASIDE}`), 'utf8')).toBe('a tenant file');
    expect([...report.entries].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'pipe', what: 'entry', action: 'moved-aside', moved_to: `pipe${ASIDE}`, why: expect.stringMatching(/directory.*FIFO/) as unknown },
      { path: 'pipe2', what: 'entry', action: 'moved-aside', moved_to: `pipe2${ASIDE}`, why: expect.stringMatching(/regular file.*FIFO/) as unknown },
    ]);
  });

  it('overwrites a file of the same type and merges a directory, leaving what the backup lacks', async () => {
    await mkdir(join(share(), 'd'), { recursive: true });
    await writeFile(join(share(), 'd/f'), 'backup version');
    await runBackup({ source: share(), target: backup() });
    await mkdir(join(target(), 'd'), { recursive: true });
    await writeFile(join(target(), 'd/f'), 'tenant version, longer');
    await writeFile(join(target(), 'd/extra'), 'not in the backup');

    const report = new MemoryReportSink();
    await restore({ report });
    expect(await readFile(join(target(), 'd/f'), 'utf8')).toBe('backup version');
    expect(await readFile(join(target(), 'd/extra'), 'utf8')).toBe('not in the backup');
    expect(await readdir(join(target(), 'd'))).toEqual(['extra', 'f']);
    expect(report.entries).toMatchObject([{ path: 'd/f', what: 'content', action: 'repaired' }]);
  });
});

// Backups and restores as faithful as `cp -a` / `rsync -aHAXS --specials`, checked by oracles that
// share no code with the copier (test/helpers/tree-oracle.ts: rsync, getfattr, getfacl, stat). The
// tree is test/helpers/torture-tree.ts's. Needs root and rsync, attr and acl (.ci/run installs them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../copier/backup/index.ts';
import { MemoryReportSink } from '../../copier/progress/report.ts';
import { runRestore } from '../../copier/restore/index.ts';
import { DEVICE_NAME, makeTortureTree } from '../helpers/torture-tree.ts';
import { aclDump as aclDumpOf, canCompareTrees, expectSameTree as expectSameTreeOf, sh, statDump as statDumpOf, xattrDump as xattrDumpOf } from '../helpers/tree-oracle.ts';

/** Entries the comparison leaves out: what a backup cannot hold (asserted through the report). */
const EXCLUDED = [`types/${DEVICE_NAME}`];
const canRun = canCompareTrees;
const xattrDump = (root: string) => xattrDumpOf(root, EXCLUDED);
const aclDump = (root: string) => aclDumpOf(root, EXCLUDED);
const statDump = (root: string) => statDumpOf(root, EXCLUDED);
const expectSameTree = (src: string, dst: string) => expectSameTreeOf(src, dst, EXCLUDED);

let work: string;
let share: string;
let backup: string;
const backupReport = new MemoryReportSink();
let backupResult: Awaited<ReturnType<typeof runBackup>>;

describe.skipIf(!canRun)('fidelity: a torture tree backed up and restored', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'copier-fidelity-'));
    share = join(work, 'share');
    backup = join(work, 'backup');
    sh('mkdir', [share]);
    makeTortureTree(share, { sparseGiB: 2 });
    backupResult = await runBackup({ source: share, target: backup, report: backupReport });
  }, 300_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the oracle itself sees a difference in each attribute it compares', () => {
    // (what the tests below rely on: a copy made by rsync is equal, a changed one is not)
    const copy = join(work, 'oracle-copy');
    sh('rsync', ['-aHAXS', '--specials', ...EXCLUDED.map((path) => `--exclude=/${path}`), `${share}/`, `${copy}/`]);
    expectSameTree(share, copy);
    sh('setfattr', ['-n', 'user.x', '-v', '2', join(copy, 'attrs/file')]);
    expect(Object.fromEntries(xattrDump(copy))).not.toEqual(Object.fromEntries(xattrDump(share)));
    sh('touch', ['-h', '-m', '-d', '@1600000000.000000001', join(copy, 'types/dangling')]);
    expect(Object.fromEntries(statDump(copy))).not.toEqual(Object.fromEntries(statDump(share)));
    sh('setfacl', ['-m', 'u:99:r', join(copy, 'attrs/acl-file')]);
    expect(Object.fromEntries(aclDump(copy))).not.toEqual(Object.fromEntries(aclDump(share)));
  }, 120_000);

  it('the backup reports exactly what it cannot hold: the device node', () => {
    expect(backupReport.entries).toEqual([
      { path: `types/${DEVICE_NAME}`, what: 'entry', action: 'skipped', why: expect.stringContaining('character device (1:3)') },
    ]);
    expect(backupResult.warnings).toBe(1);
    expect(backupResult.skipped).toBe(1);
  });

  it('the backup keeps the sparse file sparse and its xattrs in the manifest', () => {
    const manifest = readFileSync(join(backup, 'manifest.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const byPath = new Map(manifest.map((entry) => [entry.path as string, entry]));
    expect(byPath.get('sparse.img')).toMatchObject({ type: 'file', size: 2 * 1024 ** 3, sparse: true });
    expect(byPath.get('types/fifo')).toMatchObject({ type: 'fifo', mode: 0o640, uid: 2000, gid: 2001 });
    expect(byPath.get('types/socket')).toMatchObject({ type: 'socket' });
    expect(byPath.get('attrs/file')!.xattrs).toMatchObject({ 'user.x': Buffer.from('1').toString('base64'), 'trusted.t': Buffer.from('only root sees this').toString('base64') });
    expect(byPath.has('names/bad-\udcff\udcfe-utf8')).toBe(true);
    // ~12 KiB of data, not 2 GiB
    const blocks = Number(sh('stat', ['-c', '%b', join(backup, 'data/sparse.img')]).toString().trim());
    expect(blocks * 512).toBeLessThan(1024 * 1024);
    expect(JSON.parse(readFileSync(join(backup, 'summary.json'), 'utf8'))).toMatchObject({ version: 2 });
  });

  it.each([
    { io: 'blocking calls', networkFileSystem: false },
    { io: 'files in flight', networkFileSystem: true },
  ])('a restore onto a fresh directory is equal to the share ($io)', async ({ networkFileSystem }) => {
    const target = join(work, `restored-${networkFileSystem ? 'async' : 'sync'}`);
    const report = new MemoryReportSink();
    const result = await runRestore({ source: backup, target, networkFileSystem, report });
    expect(report.entries).toEqual([]);
    expect(result.warnings).toBe(0);
    expectSameTree(share, target);
    // a re-run over it (a resumed restore) finds every entry in place and changes nothing
    const again = await runRestore({ source: backup, target, networkFileSystem, report });
    expect(again.warnings).toBe(0);
    expect(again.unchanged).toBeGreaterThanOrEqual(again.files + again.symlinks);
    expectSameTree(share, target);
  }, 300_000);

  it.each([
    { io: 'blocking calls', networkFileSystem: false },
    { io: 'files in flight', networkFileSystem: true },
  ])('a restore reports an xattr the target refuses, and keeps the rest ($io: from the copy workers)', async ({ networkFileSystem }) => {
    // a backup whose manifest has an xattr in a namespace no Linux file system takes
    const altered = join(work, `altered-backup-${networkFileSystem}`);
    sh('cp', ['-a', backup, altered]);
    const manifestPath = join(altered, 'manifest.jsonl');
    const lines = readFileSync(manifestPath, 'utf8').trim().split('\n').map((line) => {
      const entry = JSON.parse(line) as { path: string; xattrs?: Record<string, string> };
      if (entry.path === 'attrs/file') entry.xattrs = { ...entry.xattrs, 'bogus.namespace': Buffer.from('v').toString('base64') };
      return JSON.stringify(entry);
    });
    const text = `${lines.join('\n')}\n`;
    writeFileSync(manifestPath, text);
    const summaryPath = join(altered, 'summary.json');
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(summaryPath, JSON.stringify({ ...summary, manifest_sha256: createHash('sha256').update(text).digest('hex') }));

    const report = new MemoryReportSink();
    const target = join(work, `restored-refused-${networkFileSystem}`);
    const result = await runRestore({ source: altered, target, report, networkFileSystem });
    expect(report.entries).toEqual([
      { path: 'attrs/file', what: 'xattrs', action: 'not-kept', why: expect.stringMatching(/bogus\.namespace.*ENOTSUP/) },
    ]);
    expect(result.warnings).toBe(1);
    expect(sh('getfattr', ['-d', '-m', '-', '--absolute-names', join(target, 'attrs/file')]).toString()).toContain('user.x="1"');
  }, 300_000);
});

// The newcomer's first restore over plain HTTP, as the user guide tells it (the README's CLI version
// is test/integration/cli.test.ts), and the other restore paths that put
// bytes on disk: restore onto the source share (`null`), and a share created from a backup.
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from './helpers/stack.ts';
import { backupShare, createShare, settledBackup, settledRestore, settledShare, tenant, type Tenant } from './tenant.ts';
import { diffTrees, readTree } from './helpers/trees.ts';

let stack: Awaited<ReturnType<typeof startStack>>;
let member: Tenant;

beforeAll(async () => {
  stack = await startStack();
  member = tenant(stack.apiUrl, 'demo', await stack.token('demo', ['member', 'reader']));
});
afterAll(async () => { await stack?.stop(); });

/** Writes the sample tree of the README: nested dirs, modes, an old mtime, a symlink, a hard link, an empty dir. */
function writeSampleTree(root: string) {
  mkdirSync(join(root, 'docs/reports'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'docs/readme.txt'), 'hello from the source share\n');
  writeFileSync(join(root, 'docs/reports/q3.csv'), 'a,b\n1,2\n'.repeat(1000));
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'run.sh'), 0o750);
  writeFileSync(join(root, 'private.key'), 'secret');
  chmodSync(join(root, 'private.key'), 0o600);
  writeFileSync(join(root, 'naïve-名前.txt'), 'non-ASCII name');
  symlinkSync('docs/readme.txt', join(root, 'latest'));
  linkSync(join(root, 'docs/readme.txt'), join(root, 'readme-hardlink.txt'));
  const old = new Date('2020-02-02T02:02:02.123Z');
  utimesSync(join(root, 'docs/reports/q3.csv'), old, old);
  utimesSync(join(root, 'docs/reports'), old, old);
  utimesSync(join(root, 'empty'), old, old);
}

const exportPath = (share: { export_locations?: Array<{ path: string }> }): string => {
  const path = share.export_locations?.[0]?.path;
  expect(path, 'share has an export location').toBeTruthy();
  return path!;
};

describe('first restore over the HTTP API (the user guide)', () => {
  it('restores a backup onto a second share, byte for byte, and leaves the backup unchanged', async () => {
    const source = await createShare(member, { name: 'source' });
    expect(source.status).toBe('available');
    const sourceDir = exportPath(source);
    writeSampleTree(sourceDir);
    const before = await readTree(sourceDir);

    const backup = await backupShare(member, source.id, { name: 'nightly' });
    expect(backup.progress).toBe('100');
    const backupDir = join(stack.storageRoot, 'backups', backup.id);
    const backupBefore = await readTree(backupDir);

    const target = await createShare(member, { name: 'target' });
    const res = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: target.id });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json.restore).toMatchObject({ backup_id: backup.id, share_id: target.id });
    const restore = await settledRestore(member, res.json.restore.restore_id);
    expect(restore, JSON.stringify(restore)).toMatchObject({ status: 'succeeded', share_id: target.id, source_share_id: source.id });
    expect(restore.files_done).toBe(restore.files_total);

    expect((await settledShare(member, target.id)).status).toBe('available');
    const after = await settledBackup(member, backup.id);
    expect(after).toMatchObject({ status: 'available', restore_progress: '100' });

    expect(diffTrees(before, await readTree(exportPath(target)))).toEqual([]);
    expect(diffTrees(backupBefore, await readTree(backupDir))).toEqual([]);
  });

  it('`{"restore": null}` rewrites changed files of the source share and leaves files the backup lacks', async () => {
    const share = await createShare(member);
    const dir = exportPath(share);
    writeFileSync(join(dir, 'a.txt'), 'original');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub/b.txt'), 'original b');
    const backup = await backupShare(member, share.id);

    writeFileSync(join(dir, 'a.txt'), 'changed after the backup, and longer');
    writeFileSync(join(dir, 'sub/b.txt'), 'CHANGED b!');
    writeFileSync(join(dir, 'new.txt'), 'not in the backup');

    const res = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: null });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json.restore.share_id).toBe(share.id);
    expect((await settledRestore(member, res.json.restore.restore_id)).status).toBe('succeeded');
    expect((await settledShare(member, share.id)).status).toBe('available');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('original');
    expect(readFileSync(join(dir, 'sub/b.txt'), 'utf8')).toBe('original b');
    expect(readFileSync(join(dir, 'new.txt'), 'utf8')).toBe('not in the backup');
    expect((await settledBackup(member, backup.id)).status).toBe('available');
  });

  it('`POST /v2/shares` with backup_id gives an available share holding the backup tree', async () => {
    const source = await createShare(member, { size: 2 });
    writeSampleTree(exportPath(source));
    const expected = await readTree(exportPath(source));
    const backup = await backupShare(member, source.id);

    const tooSmall = await member.post('/v2/shares', { share: { backup_id: backup.id, size: 1 } });
    expect(tooSmall.status).toBe(400);

    const res = await member.post('/v2/shares', { share: { backup_id: backup.id, name: 'from-backup' } });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const created = await settledShare(member, res.json.share.id);
    expect(created).toMatchObject({ status: 'available', source_backup_id: backup.id, size: 2, share_proto: 'NFS' });
    expect(diffTrees(expected, await readTree(exportPath(created)))).toEqual([]);
    expect((await settledBackup(member, backup.id)).status).toBe('available');
    expect(existsSync(exportPath(source))).toBe(true);
  });
});

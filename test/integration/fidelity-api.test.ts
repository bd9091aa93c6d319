// Issue 19 through the HTTP API, as a tenant sees it: a share holding a torture tree
// (test/helpers/torture-tree.ts) is backed up, restored onto another share and in place, and each
// result is compared with the source by oracles that share no code with the copier (rsync -aHAXS,
// getfattr, getfacl, stat: test/helpers/tree-oracle.ts). What a backend cannot hold, or a restore
// had to resolve, is read back from the report routes. Needs root, rsync, attr and acl.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_NAME, makeTortureTree } from '../helpers/torture-tree.ts';
import { canCompareTrees, expectSameTree } from '../helpers/tree-oracle.ts';
import { startStack } from './helpers/stack.ts';
import { backupShare, createShare, settledRestore, settledShare, tenant, type Tenant } from './tenant.ts';

let stack: Awaited<ReturnType<typeof startStack>>;
let member: Tenant;

const exportPath = (share: { export_locations?: Array<{ path: string }> }): string => share.export_locations![0]!.path;

async function restore(t: Tenant, backupId: string, target: string | null) {
  const res = await t.post(`/v2/share-backups/${backupId}/action`, { restore: target });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  const record = await settledRestore(t, res.json.restore.restore_id);
  expect(record.status, JSON.stringify(record)).toBe('succeeded');
  return record;
}

describe.skipIf(!canCompareTrees)('a torture tree through the API (issue 19)', () => {
  beforeAll(async () => {
    stack = await startStack();
    member = tenant(stack.apiUrl, 'demo', await stack.token('demo', ['member', 'reader']));
  }, 120_000);
  afterAll(async () => { await stack?.stop(); });

  it('backs up every entry, reports the device node, and restores an equal tree onto another share and in place', async () => {
    // 3 GiB shares: the sparse file's 1 GiB counts at its apparent size against the target's size
    const source = await createShare(member, { name: 'torture', size: 3 });
    const sourceDir = exportPath(source);
    makeTortureTree(sourceDir, { sparseGiB: 1 });

    const backup = await backupShare(member, source.id, { name: 'torture-backup' });
    expect(backup.warnings).toBe(1);
    const backupReport = await member.get(`/v2/share-backups/${backup.id}/report`);
    expect(backupReport.status).toBe(200);
    expect(backupReport.json.report).toEqual([expect.objectContaining({ path: `types/${DEVICE_NAME}`, what: 'entry', action: 'skipped' })]);

    // onto another share
    const target = await createShare(member, { name: 'torture-copy', size: 3 });
    const restored = await restore(member, backup.id, target.id);
    expect(restored.warnings).toBe(0);
    await settledShare(member, target.id);
    expectSameTree(sourceDir, exportPath(target), [`types/${DEVICE_NAME}`]);

    // in place, after a silent corruption (same size, mtime put back) and a directory where the
    // backup has a file: the file is repaired, the directory moved aside with what it holds
    const corrupt = join(sourceDir, 'attrs/acl-file');
    const original = readFileSync(corrupt);
    writeFileSync(corrupt, Buffer.from(original.toString('utf8').toUpperCase()));
    execFileSync('touch', ['-r', join(exportPath(target), 'attrs/acl-file'), corrupt]);
    const conflict = join(sourceDir, 'types/empty');
    renameSync(conflict, `${conflict}.file`);
    mkdirSync(conflict);
    writeFileSync(join(conflict, 'extra'), 'tenant data the backup never had\n');

    const inPlace = await restore(member, backup.id, null);
    await settledShare(member, source.id);
    const report = (await member.get(`/v2/share-restores/${inPlace.id}/report`)).json.report as Array<{ path: string; what: string; action: string; moved_to?: string }>;
    expect(report).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'attrs/acl-file', what: 'content', action: 'repaired' }),
      expect.objectContaining({ path: 'types/empty', action: 'moved-aside', moved_to: expect.stringMatching(/^types\/empty\.restore-/) }),
    ]));
    expect(inPlace.warnings).toBe(report.length);
    const movedTo = report.find((entry) => entry.action === 'moved-aside')!.moved_to!;
    expect(readFileSync(join(sourceDir, movedTo, 'extra'), 'utf8')).toBe('tenant data the backup never had\n');
    expect(readFileSync(corrupt)).toEqual(original);
    // the share is the backup's tree again, beside the tenant's own entries it never deletes
    expectSameTree(exportPath(target), sourceDir, [`types/${DEVICE_NAME}`, movedTo, 'types/empty.file']);
  }, 600_000);
});

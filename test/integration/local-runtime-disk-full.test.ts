// The local stack on a data folder that fills up: a backup that runs out of space fails with a
// reason that says so, and the stack goes on answering; it also starts again on the full disk.
// The data folder is a small tmpfs, so the test needs root (mount); without it, it is skipped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBytes } from '../../local/disk.ts';
import { localDynamoDbClient } from '../../local/dynamodb-local.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { createShare, settledBackup, tenant, type Tenant } from './tenant.ts';

const MiB = 1024 * 1024;
const DATA_DIR_SIZE = 32 * MiB;
const isRoot = process.getuid?.() === 0;
const NO_SPACE = /no space left on device/i;

if (!isRoot) console.warn('local-runtime-disk-full.test.ts: skipped, mounting a small tmpfs as the data folder needs root');

/** The backup's fail_reason as the workflow recorded it (the API's backup view does not show it). */
async function failReason(stack: TestStack, backupId: string): Promise<string | undefined> {
  const client = localDynamoDbClient(stack.dynamodbEndpoint);
  try {
    const { Item } = await client.send(new GetItemCommand({ TableName: stack.tables.backups, Key: { id: { S: backupId } } }));
    return Item?.fail_reason?.S;
  } finally {
    client.destroy();
  }
}

/** Writes files of `chunk` bytes until the file system says it is full; returns how many fit. */
function fillUp(dir: string, chunk = MiB): number {
  const data = Buffer.alloc(chunk, 0x5a);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return i;
      throw err;
    }
  }
}

describe.skipIf(!isRoot)('the local stack on a full disk (a 32 MiB tmpfs as DATA_DIR)', () => {
  let mountPoint: string;
  let mounted = false;
  let stack: TestStack | undefined;
  let member: Tenant;
  let tablePrefix: string;

  beforeAll(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'share-backup-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DATA_DIR_SIZE}`, 'tmpfs', mountPoint]);
    mounted = true;
    stack = await startStack({ dataDir: mountPoint });
    tablePrefix = stack.tablePrefix;
    member = tenant(stack.apiUrl, 'demo', await stack.token('demo', ['member', 'reader']));
  });

  afterAll(async () => {
    await stack?.stop({ keepData: true });
    if (mounted) execFileSync('umount', ['-l', mountPoint]);
    rmdirSync(mountPoint);
  });

  it('fails the backup that fills the disk with a "no space" reason, and goes on answering', async () => {
    const share = await createShare(member, { name: 'big' });
    const shareDir: string = share.export_locations[0].path;
    expect(shareDir.startsWith(mountPoint)).toBe(true);
    // two thirds of the disk in the share: its copy in the backup cannot fit
    writeFileSync(join(shareDir, 'big.bin'), Buffer.alloc(Math.floor((freeBytes(mountPoint)! * 2) / 3), 0xa5));

    const res = await member.post('/v2/share-backups', { share_backup: { share_id: share.id, name: 'too-big' } });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const backupId: string = res.json.share_backup.id;
    const backup = await settledBackup(member, backupId);
    expect(backup.status, JSON.stringify(backup)).toBe('error');
    expect(await failReason(stack!, backupId)).toMatch(NO_SPACE);

    // the disk stays full: whatever the copier left, and the rest taken by filler files
    fillUp(share.export_locations[0].path);
    expect(freeBytes(mountPoint)).toBeLessThan(MiB);

    // a second backup on the full disk fails the same way, and the stack still answers
    const again = await member.post('/v2/share-backups', { share_backup: { share_id: share.id, name: 'still-full' } });
    expect(again.status, JSON.stringify(again.json)).toBe(202);
    const second = await settledBackup(member, again.json.share_backup.id);
    expect(second.status, JSON.stringify(second)).toBe('error');
    expect(await failReason(stack!, second.id)).toMatch(NO_SPACE);

    const list = await member.get('/v2/share-backups');
    expect(list.status).toBe(200);
    expect(list.json.share_backups.map((b: { id: string }) => b.id)).toEqual(expect.arrayContaining([backupId, second.id]));
    const show = await member.get(`/v2/share-backups/${backupId}`);
    expect(show.status).toBe(200);
    expect(show.json.share_backup.status).toBe('error');
    expect(stack!.output().stderr).toMatch(/cannot write execution history .*ENOSPC/);
  });

  it('starts again on the full disk, says so, and answers', async () => {
    expect(freeBytes(mountPoint)).toBeLessThan(MiB);
    await stack!.stop({ keepData: true });
    stack = await startStack({ dataDir: mountPoint, tablePrefix });
    expect(stack.output().stdout).toMatch(/WARNING: the data folder's file system has .* free/);
    // the token was minted with the key on the tmpfs, which the restarted stack reads back
    member = tenant(stack.apiUrl, 'demo', member.token);
    const list = await member.get('/v2/share-backups');
    expect(list.status).toBe(200);
    expect(list.json.share_backups).toHaveLength(2);
  });
});

// The local stack on a data folder that fills up: a backup that runs out of space fails with a
// reason that says so, the failure is recorded, and the stack goes on answering; it also starts
// again on the full disk. The data folder is a small tmpfs, so the tests need root (mount);
// without it, they are skipped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBytes, RESERVE_BYTES } from '../../local/disk.ts';
import { localDynamoDbClient } from '../../local/dynamodb-local.ts';
import { startStack, type StartStackOptions, type TestStack } from './helpers/stack.ts';
import { createShare, settledBackup, settledShare, tenant, type Tenant } from './tenant.ts';

const MiB = 1024 * 1024;
/** room for the stack's 16 MiB space reserve twice over (it takes it only then), and a share */
const DATA_DIR_SIZE = 48 * MiB;
const isRoot = process.getuid?.() === 0;
const NO_SPACE = /no space left on device/i;

if (!isRoot) console.warn('local-runtime-disk-full.test.ts: skipped: mounting a small tmpfs as the data folder needs root');

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

/** Writes files of `chunk` bytes until the file system says it is full. */
function fillUp(dir: string, chunk = 256 * 1024): void {
  const data = Buffer.alloc(chunk, 0x5a);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

/** A stack on a fresh tmpfs of DATA_DIR_SIZE; stop() stops it and unmounts. */
function onSmallDisk(options: Pick<StartStackOptions, 'env'> = {}) {
  const disk = {
    mountPoint: '',
    stack: undefined as TestStack | undefined,
    member: undefined as unknown as Tenant,
    async start(more: Pick<StartStackOptions, 'tablePrefix'> = {}) {
      disk.stack = await startStack({ dataDir: disk.mountPoint, ...options, ...more });
      disk.member = tenant(disk.stack.apiUrl, 'demo', await disk.stack.token('demo', ['member', 'reader']));
      return disk.stack;
    },
    /**
     * A share whose copy in a backup cannot fit even in the free space plus the 16 MiB reserve the
     * stack releases when the disk fills (its watcher may release it while the copy still runs:
     * with two thirds of the free space, the copy then fitted once in CI). So the share holds more
     * than half of (free + reserve), 2 MiB to spare, and leaves more than the 1 MiB at which the
     * watcher releases the reserve, so that it is released by the backup, not by the share.
     */
    async bigShare() {
      const share = await createShare(disk.member, { name: 'big' });
      const shareDir: string = share.export_locations[0].path;
      expect(shareDir.startsWith(disk.mountPoint)).toBe(true);
      const free = freeBytes(disk.mountPoint)!;
      const size = Math.floor((free + RESERVE_BYTES) / 2) + 2 * MiB;
      expect(free - size, 'room left beside the share').toBeGreaterThan(2 * MiB);
      writeFileSync(join(shareDir, 'big.bin'), Buffer.alloc(size, 0xa5));
      return share;
    },
    async backUp(shareId: string) {
      const res = await disk.member.post('/v2/share-backups', { share_backup: { share_id: shareId, name: 'too-big' } });
      expect(res.status, JSON.stringify(res.json)).toBe(202);
      return settledBackup(disk.member, res.json.share_backup.id);
    },
  };
  beforeAll(async () => {
    disk.mountPoint = mkdtempSync(join(tmpdir(), 'share-backup-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DATA_DIR_SIZE}`, 'tmpfs', disk.mountPoint]);
    await disk.start();
  });
  afterAll(async () => {
    await disk.stack?.stop({ keepData: true });
    if (disk.mountPoint) {
      try { execFileSync('umount', ['-l', disk.mountPoint]); } catch { /* never mounted */ }
      rmdirSync(disk.mountPoint);
    }
  });
  return disk;
}

describe.skipIf(!isRoot)('the local stack on a full disk (a 48 MiB tmpfs as DATA_DIR)', () => {
  const disk = onSmallDisk();

  it('fails the backup that fills the disk with a "no space" reason, and goes on answering', async () => {
    const share = await disk.bigShare();
    const backup = await disk.backUp(share.id);
    expect(backup.status, JSON.stringify(backup)).toBe('error');
    expect(await failReason(disk.stack!, backup.id)).toMatch(NO_SPACE);
    expect(disk.stack!.output().stderr).toMatch(/disk is full: released the 16\.0 MiB/);

    // still answering: the list, the backup, the share (released for the next backup)
    const list = await disk.member.get('/v2/share-backups');
    expect(list.status).toBe(200);
    expect(list.json.share_backups.map((b: { id: string }) => b.id)).toEqual([backup.id]);
    const show = await disk.member.get(`/v2/share-backups/${backup.id}`);
    expect(show.status).toBe(200);
    expect(show.json.share_backup.status).toBe('error');
    expect((await settledShare(disk.member, share.id)).status).toBe('available');
  });

  it('starts again on the full disk, says so, and answers', async () => {
    const { tablePrefix } = disk.stack!;
    await disk.stack!.stop({ keepData: true });
    fillUp(disk.mountPoint);
    expect(freeBytes(disk.mountPoint)).toBeLessThan(MiB);

    const stack = await disk.start({ tablePrefix });
    expect(stack.output().stdout).toMatch(/WARNING: the data folder's file system has .* free/);
    const list = await disk.member.get('/v2/share-backups');
    expect(list.status).toBe(200);
    expect(list.json.share_backups).toHaveLength(1);
    const show = await disk.member.get(`/v2/share-backups/${list.json.share_backups[0].id}`);
    expect(show.status).toBe(200);
    expect(show.json.share_backup.status).toBe('error');
  });
});

describe.skipIf(!isRoot)('DynamoDB Local\'s own files on the disk that fills up', () => {
  // the stack starts its own DynamoDB Local, with its files on the tmpfs
  const disk = onSmallDisk({ env: { DYNAMODB_ENDPOINT: undefined } });

  it('still records the failed backup and releases the share', async () => {
    const share = await disk.bigShare();
    const backup = await disk.backUp(share.id);
    expect(backup.status, JSON.stringify(backup)).toBe('error');
    expect(await failReason(disk.stack!, backup.id)).toBeTruthy();
    expect((await settledShare(disk.member, share.id)).status).toBe('available');
    expect((await disk.member.get('/v2/share-backups')).status).toBe(200);
  });
});

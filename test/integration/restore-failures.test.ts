// Failure paths of the restore workflow on the real engines: a driver that lacks support when the
// state machine is started directly, a copier that fails mid-way, and a hostile backup whose
// symlinks try to lead writes outside the target share.
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from './helpers/stack.ts';
import { backupShare, createShare, eventually, settledBackup, settledRestore, settledShare, tenant, type Tenant } from './tenant.ts';
import { diffTrees, readTree } from './helpers/trees.ts';

const DRIVERS = {
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
};
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('restore failure paths', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let member: Tenant;

  beforeAll(async () => {
    stack = await startStack({ drivers: DRIVERS });
    member = tenant(stack.apiUrl, 'gamma', await stack.token('gamma', ['member', 'reader']));
  });
  afterAll(async () => { await stack?.stop(); });

  it('started directly with a driver that lacks support, the workflow compensates', async () => {
    const source = await createShare(member);
    writeFileSync(join(source.export_locations[0].path, 'f.txt'), 'x');
    const backup = await backupShare(member, source.id, { backup_options: { backup_type: 'legacy' } });
    const target = await createShare(member);
    const restoreId = randomUUID();
    const sfn = new SFNClient({ endpoint: stack.sfnEndpoint, region: 'us-east-1', credentials });
    const started = await sfn.send(new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArns.restore,
      name: restoreId,
      input: JSON.stringify({ restore_id: restoreId, backup_id: backup.id, share_id: target.id, source_share_id: source.id, project_id: 'gamma', kind: 'restore' }),
    }));
    const done = await eventually(async () => (await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status,
      (s) => s !== 'RUNNING');
    expect(done).toBe('FAILED');
    expect((await settledShare(member, target.id)).status).toBe('available');
    expect((await settledBackup(member, backup.id)).status).toBe('available');
    const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials }));
    const record = (await ddb.send(new GetCommand({ TableName: stack.tables.restores, Key: { id: restoreId } }))).Item;
    expect(record).toMatchObject({ status: 'failed' });
    expect(String(record?.fail_reason)).toMatch(/support_restore_to_target|another share|target/i);
  });

  it('a symlink `escape -> /` or `up -> ../..` in a backup cannot lead a restore to write outside the target', async () => {
    const source = await createShare(member);
    writeFileSync(join(source.export_locations[0].path, 'plain.txt'), 'plain');
    const backup = await backupShare(member, source.id);
    const backupDir = join(stack.storageRoot, 'backups', backup.id);

    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'sentinel.txt'), 'untouched');
    const outsideBefore = await readTree(outside);
    const storageBefore = readdirSync(stack.storageRoot).sort();

    // Hand-craft the hostile entries: symlinks, then files "under" them whose data sits in real folders of the backup.
    const payload = 'pwned\n';
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const line = (e: Record<string, unknown>) => JSON.stringify({ mode: 0o644, uid: 0, gid: 0, mtime_ns: '1700000000000000000', size: 0, ...e });
    const viaEscape = `escape${outside}/pwned.txt`;
    const viaUp = 'up/pwned-up.txt';
    const lines = [
      line({ path: 'escape', type: 'symlink', mode: 0o777, target: '/' }),
      line({ path: 'up', type: 'symlink', mode: 0o777, target: '../..' }),
    ];
    const parts = viaEscape.split('/');
    for (let i = 1; i < parts.length - 1; i++) lines.push(line({ path: parts.slice(0, i + 1).join('/'), type: 'dir', mode: 0o755 }));
    lines.push(line({ path: viaEscape, type: 'file', size: payload.length, sha256 }));
    lines.push(line({ path: viaUp, type: 'file', size: payload.length, sha256 }));
    for (const p of [viaEscape, viaUp]) {
      mkdirSync(join(backupDir, 'data', p, '..'), { recursive: true });
      writeFileSync(join(backupDir, 'data', p), payload);
    }
    appendFileSync(join(backupDir, 'manifest.jsonl'), lines.map((l) => `${l}\n`).join(''));

    const target = await createShare(member);
    const res = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: target.id });
    expect(res.status).toBe(202);
    await settledRestore(member, res.json.restore.restore_id);

    expect(diffTrees(outsideBefore, await readTree(outside))).toEqual([]);
    expect(readdirSync(stack.storageRoot).sort()).toEqual(storageBefore);
    expect(existsSync(join(stack.storageRoot, 'pwned-up.txt'))).toBe(false);
    expect(existsSync(join(stack.storageRoot, 'shares', 'pwned-up.txt'))).toBe(false);
    expect((await settledBackup(member, backup.id)).status).toBe('available');
    rmSync(outside, { recursive: true, force: true });
  });
});

describe('a copier that fails mid-way', () => {
  it('leaves the target backup_restoring_error, the backup available, the restore failed; a later restore completes', async () => {
    const project = 'delta';
    const faulty = await startStack({ env: { COPIER_FAIL_AFTER_FILES: '3' } });
    let member = tenant(faulty.apiUrl, project, await faulty.token(project, ['member', 'reader']));
    const source = await createShare(member);
    const sourceDir = source.export_locations[0].path;
    for (let i = 0; i < 10; i++) writeFileSync(join(sourceDir, `file-${i}.txt`), `content ${i}\n`.repeat(100 * (i + 1)));
    const expected = await readTree(sourceDir);

    // Backups run the same copier: take this one with the fault switch off (a fresh stack on the same data).
    await faulty.stop({ keepData: true });
    let healthy = await startStack({ dataDir: faulty.dataDir, tablePrefix: faulty.tablePrefix });
    member = tenant(healthy.apiUrl, project, await healthy.token(project, ['member', 'reader']));
    const backup = await backupShare(member, source.id);
    const target = await createShare(member);
    await healthy.stop();

    const failing = await startStack({ dataDir: faulty.dataDir, tablePrefix: faulty.tablePrefix, env: { COPIER_FAIL_AFTER_FILES: '3' } });
    member = tenant(failing.apiUrl, project, await failing.token(project, ['member', 'reader']));
    const res = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: target.id });
    expect(res.status).toBe(202);
    const failed = await settledRestore(member, res.json.restore.restore_id);
    expect(failed.status).toBe('failed');
    expect(failed.fail_reason).toMatch(/fault injected after 3 files/);
    expect((await settledShare(member, target.id)).status).toBe('backup_restoring_error');
    expect((await settledBackup(member, backup.id)).status).toBe('available');
    await failing.stop();

    healthy = await startStack({ dataDir: faulty.dataDir, tablePrefix: faulty.tablePrefix });
    member = tenant(healthy.apiUrl, project, await healthy.token(project, ['member', 'reader']));
    const admin = tenant(healthy.apiUrl, 'admin', await healthy.token('admin', ['admin', 'member', 'reader']));
    expect((await admin.post(`/v2/shares/${target.id}/action`, { reset_status: { status: 'available' } })).status).toBe(202);
    const again = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: target.id });
    expect(again.status).toBe(202);
    expect((await settledRestore(member, again.json.restore.restore_id)).status).toBe('succeeded');
    expect(diffTrees(expected, await readTree(target.export_locations[0].path))).toEqual([]);
    expect(readFileSync(join(target.export_locations[0].path, 'file-9.txt'), 'utf8')).toBe('content 9\n'.repeat(1000));
    await healthy.stop({ keepData: false });
  });
});

/** The copier processes of this machine restoring for an operation: their environment names it (PROGRESS_ID, the restore id). */
function copierPidsOf(operationId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (environ.includes(`PROGRESS_ID=${operationId}`) && environ.includes('COPIER_MODE=restore')) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('a copier killed mid-restore', () => {
  it('fails the restore with "killed by signal 9 (SIGKILL)", keeps its last figures, and sets the backup\'s restore_progress back to "0"', async () => {
    const project = 'epsilon';
    // one file in flight at a time, so the restore of 12,000 files lasts long enough to be killed
    // after its first progress write (4,000 could end before the test found the copier on Node 22)
    const stack = await startStack({ env: { COPIER_CONCURRENCY: '1' } });
    try {
      const member = tenant(stack.apiUrl, project, await stack.token(project, ['member', 'reader']));
      const source = await createShare(member);
      const sourceDir = source.export_locations[0].path;
      for (let d = 0; d < 20; d++) {
        mkdirSync(join(sourceDir, `d${d}`));
        for (let i = 0; i < 600; i++) writeFileSync(join(sourceDir, `d${d}`, `f${i}`), `${d}/${i}\n`.repeat(64));
      }
      const backup = await backupShare(member, source.id);
      const target = await createShare(member);
      const res = await member.post(`/v2/share-backups/${backup.id}/action`, { restore: target.id });
      expect(res.status).toBe(202);
      const restoreId = res.json.restore.restore_id as string;
      // copying, with at least one progress write on the record
      const copying = await eventually(async () => (await member.get(`/v2/share-restores/${restoreId}`)).json.share_restore,
        (r) => r.status === 'succeeded' || r.status === 'failed' || r.files_done > 0);
      expect(copying.status, 'the restore ended before it could be killed').toBe('running');
      // the container's processes: the one the facade started (its own process group, as a
      // container is) and what it runs; SIGKILL to the group, as a container is killed
      const pids = copierPidsOf(restoreId);
      expect(pids.length, 'the copier ended before the test could find it').toBeGreaterThan(0);
      const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\) /s, '').split(' ')[1]);
      const top = pids.filter((pid) => !pids.includes(parentOf(pid)));
      expect(top).toHaveLength(1);
      // Stopped first, so the figures the record holds when it is killed are known whatever this
      // machine's speed (on a loaded machine it could otherwise copy the last file in between):
      // the write a stopped copier already sent lands within moments, and none follows.
      process.kill(-top[0]!, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 500));
      const atKill = (await member.get(`/v2/share-restores/${restoreId}`)).json.share_restore;
      process.kill(-top[0]!, 'SIGKILL');

      const failed = await settledRestore(member, restoreId);
      // before: the copier's last log line ("copier: manifest checked at 88 ms")
      expect(failed.status).toBe('failed');
      expect(failed.fail_reason).toMatch(/^The copier was killed by signal 9 \(SIGKILL\), exit code 137; the figures on the record are as of its last progress write\.$/);
      // the record keeps the figures as the copier last wrote them
      expect(failed.files_done).toBeGreaterThanOrEqual(copying.files_done);
      expect(failed.files_done).toBe(atKill.files_done);
      expect(failed.bytes_done).toBe(atKill.bytes_done);
      expect(failed.files_done).toBeLessThanOrEqual(failed.files_total);
      // Manila, manila/share/manager.py ShareManager.restore_backup_continue: a restore that fails
      // leaves the backup available with restore_progress '0' (never the last percent it reached)
      const settled = await settledBackup(member, backup.id);
      expect(settled).toMatchObject({ status: 'available', restore_progress: '0' });
      expect((await settledShare(member, target.id)).status).toBe('backup_restoring_error');
    } finally {
      await stack.stop({ keepData: false });
    }
  }, 240_000);
});

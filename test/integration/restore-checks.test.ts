// Every check of api.md's restore list, with its code and message, the busy-share rules, the
// concurrent-claim guarantee, and manila-tempest-plugin's backup tests restated against our API.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from './helpers/stack.ts';
import { backupShare, createShare, errorOf, settledBackup, settledRestore, settledShare, tenant, type Tenant } from './tenant.ts';

const DRIVERS = {
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
};

let stack: Awaited<ReturnType<typeof startStack>>;
let member: Tenant;
let reader: Tenant;
let other: Tenant;
let admin: Tenant;

beforeAll(async () => {
  stack = await startStack({ drivers: DRIVERS });
  member = tenant(stack.apiUrl, 'alpha', await stack.token('alpha', ['member', 'reader']));
  reader = tenant(stack.apiUrl, 'alpha', await stack.token('alpha', ['reader']));
  other = tenant(stack.apiUrl, 'beta', await stack.token('beta', ['member', 'reader']));
  admin = tenant(stack.apiUrl, 'admin', await stack.token('admin', ['admin', 'member', 'reader']));
});
afterAll(async () => { await stack?.stop(); });

const restore = (t: Tenant, backupId: string, target: unknown) => t.post(`/v2/share-backups/${backupId}/action`, { restore: target });
const resetShare = async (id: string, status: string) => expect((await admin.post(`/v2/shares/${id}/action`, { reset_status: { status } })).status).toBe(202);
const resetBackup = async (id: string, status: string) => expect((await admin.post(`/v2/share-backups/${id}/action`, { reset_status: { status } })).status).toBe(202);

async function sharedFixture() {
  const source = await createShare(member, { size: 2 });
  writeFileSync(join(source.export_locations[0].path, 'f.txt'), 'data');
  const backup = await backupShare(member, source.id);
  return { source, backup };
}

describe('restore checks, in api.md order', () => {
  let fx: Awaited<ReturnType<typeof sharedFixture>>;
  beforeAll(async () => { fx = await sharedFixture(); });

  it('1. unknown backup is 404; another project\'s backup is 403; a reader may not restore (403)', async () => {
    const target = await createShare(member, { size: 2 });
    expect(errorOf(await restore(member, randomUUID(), target.id))).toMatchObject({ name: 'itemNotFound', code: 404 });
    const stranger = await createShare(other, { size: 2 });
    expect(errorOf(await restore(other, fx.backup.id, stranger.id))).toMatchObject({ name: 'forbidden', code: 403 });
    expect(errorOf(await restore(reader, fx.backup.id, target.id))).toMatchObject({ name: 'forbidden', code: 403 });
  });

  it('2. a backup that is not available is 400', async () => {
    const { backup } = await sharedFixture();
    const target = await createShare(member, { size: 2 });
    await resetBackup(backup.id, 'error');
    const e = errorOf(await restore(member, backup.id, target.id));
    expect(e).toMatchObject({ name: 'badRequest', code: 400, message: `Backup ${backup.id} status must be available.` });
  });

  it('3. unknown target 404, malformed target 400, another project\'s target 403, unavailable target 400', async () => {
    expect(errorOf(await restore(member, fx.backup.id, randomUUID()))).toMatchObject({ name: 'itemNotFound', code: 404 });
    expect(errorOf(await restore(member, fx.backup.id, 'not-a-uuid'))).toMatchObject({ name: 'badRequest', code: 400 });
    expect(errorOf(await restore(member, fx.backup.id, ''))).toMatchObject({ name: 'badRequest', code: 400 });
    const stranger = await createShare(other, { size: 2 });
    expect(errorOf(await restore(member, fx.backup.id, stranger.id))).toMatchObject({ name: 'forbidden', code: 403 });
    const broken = await createShare(member, { size: 2 });
    await resetShare(broken.id, 'error');
    const e = errorOf(await restore(member, fx.backup.id, broken.id));
    expect(e).toMatchObject({ name: 'badRequest', code: 400 });
    expect(e.message).toMatch(/available/);
  });

  it('4. a target smaller than the backup is 400', async () => {
    const small = await createShare(member, { size: 1 });
    expect(errorOf(await restore(member, fx.backup.id, small.id))).toEqual({
      name: 'badRequest', code: 400, message: 'Share size 1 is too small to restore backup of size 2.',
    });
  });

  it('5. a protocol the driver cannot restore onto is 400', async () => {
    const cifs = await createShare(member, { size: 2, share_proto: 'CIFS' });
    const e = errorOf(await restore(member, fx.backup.id, cifs.id));
    expect(e).toMatchObject({ name: 'badRequest', code: 400 });
    expect(e.message).toMatch(/CIFS/);
  });

  it('6. a driver without support_restore_to_target: 400 for another share, 202 for the source', async () => {
    const source = await createShare(member, { size: 2 });
    const backup = await backupShare(member, source.id, { backup_options: { backup_type: 'legacy' } });
    expect(backup.backup_type).toBe('legacy');
    const target = await createShare(member, { size: 2 });
    const e = errorOf(await restore(member, backup.id, target.id));
    expect(e).toMatchObject({ name: 'badRequest', code: 400 });
    expect(e.message).toMatch(/support_restore_to_target|another share|target/i);
    const ok = await restore(member, backup.id, source.id);
    expect(ok.status, JSON.stringify(ok.json)).toBe(202);
    expect((await settledRestore(member, ok.json.restore.restore_id)).status).toBe('succeeded');
  });

  it('7. 20 concurrent restores onto one target: one 202, the rest 400, one execution', async () => {
    const target = await createShare(member, { size: 2 });
    const sfn = new SFNClient({ endpoint: stack.sfnEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const list = async () => (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArns.restore }))).executions ?? [];
    const before = (await list()).length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => restore(member, fx.backup.id, target.id)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    const winner = answers.find((a) => a.status === 202)!;
    const executions = await list();
    expect(executions.length - before).toBe(1);
    expect(executions.some((x) => x.name === winner.json.restore.restore_id)).toBe(true);
    expect((await settledRestore(member, winner.json.restore.restore_id)).status).toBe('succeeded');
  });
});

describe('a share that is backup_restoring refuses other work', () => {
  it('extend, shrink, delete, backup and a second restore each get 400', async () => {
    const { backup } = await sharedFixture();
    const share = await createShare(member, { size: 3 });
    await resetShare(share.id, 'backup_restoring');
    for (const answer of [
      await member.post(`/v2/shares/${share.id}/action`, { extend: { new_size: 4 } }),
      await member.post(`/v2/shares/${share.id}/action`, { shrink: { new_size: 2 } }),
      await member.del(`/v2/shares/${share.id}`),
      await member.post('/v2/share-backups', { share_backup: { share_id: share.id } }),
      await restore(member, backup.id, share.id),
    ]) {
      expect(errorOf(answer)).toMatchObject({ name: 'badRequest', code: 400 });
    }
  });
});

describe('manila-tempest-plugin share backup tests, restated', () => {
  const DETAIL_KEYS = ['availability_zone', 'backup_type', 'bytes', 'created_at', 'description', 'files', 'id', 'name', 'progress', 'restore_progress', 'share_id', 'size', 'status', 'updated_at', 'warnings'];

  it('a backup\'s detail keys are exactly those of api.md', async () => {
    const { backup } = await sharedFixture();
    expect(Object.keys((await member.get(`/v2/share-backups/${backup.id}`)).json.share_backup).sort()).toEqual(DETAIL_KEYS);
    const detail = (await member.get('/v2/share-backups/detail')).json.share_backups;
    for (const b of detail) expect(Object.keys(b).sort()).toEqual(DETAIL_KEYS);
  });

  it('delete then GET gives 404', async () => {
    const { backup } = await sharedFixture();
    expect((await member.del(`/v2/share-backups/${backup.id}`)).status).toBe(202);
    await expect.poll(async () => (await member.get(`/v2/share-backups/${backup.id}`)).status, { timeout: 30_000 }).toBe(404);
  });

  it('restore with null answers the source share id and the backup returns to available', async () => {
    const { source, backup } = await sharedFixture();
    const res = await restore(member, backup.id, null);
    expect(res.status).toBe(202);
    expect(res.json.restore.share_id).toBe(source.id);
    expect((await settledBackup(member, backup.id)).status).toBe('available');
    expect((await settledShare(member, source.id)).status).toBe('available');
  });

  it('an update of the name shows', async () => {
    const { backup } = await sharedFixture();
    const res = await member.put(`/v2/share-backups/${backup.id}`, { share_backup: { name: 'renamed' } });
    expect(res.status).toBe(200);
    expect((await member.get(`/v2/share-backups/${backup.id}`)).json.share_backup.name).toBe('renamed');
  });

  it('the detail list of a fresh project has length 1', async () => {
    const project = `fresh-${randomUUID()}`;
    const fresh = tenant(stack.apiUrl, project, await stack.token(project, ['member', 'reader']));
    const share = await createShare(fresh);
    await backupShare(fresh, share.id);
    expect((await fresh.get('/v2/share-backups/detail')).json.share_backups).toHaveLength(1);
  });

  it('a second backup while the share is backup_creating is 400', async () => {
    const share = await createShare(member);
    await resetShare(share.id, 'backup_creating');
    expect(errorOf(await member.post('/v2/share-backups', { share_backup: { share_id: share.id } }))).toMatchObject({ code: 400 });
  });

  it('a backup of a share in error is 400', async () => {
    const share = await createShare(member);
    await resetShare(share.id, 'error');
    expect(errorOf(await member.post('/v2/share-backups', { share_backup: { share_id: share.id } }))).toMatchObject({ code: 400 });
  });

  it('deleting a backup in creating is 400', async () => {
    const { backup } = await sharedFixture();
    await resetBackup(backup.id, 'creating');
    expect(errorOf(await member.del(`/v2/share-backups/${backup.id}`))).toMatchObject({ code: 400 });
  });

  it('a restore onto a share in error is 400', async () => {
    const { backup } = await sharedFixture();
    const share = await createShare(member, { size: 2 });
    await resetShare(share.id, 'error');
    expect(errorOf(await restore(member, backup.id, share.id))).toMatchObject({ code: 400 });
  });

  it('a restore of a backup in creating is 400', async () => {
    const { backup } = await sharedFixture();
    const share = await createShare(member, { size: 2 });
    await resetBackup(backup.id, 'creating');
    expect(errorOf(await restore(member, backup.id, share.id))).toMatchObject({ code: 400 });
  });
});

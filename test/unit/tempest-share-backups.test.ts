// Issue 20: manila-tempest-plugin's share-backup API tests, ported. Upstream (openstack/manila-tempest-plugin
// at 69e8ab6) has them in manila_tempest_tests/tests/api/test_backup.py (ShareBackupTest) and
// test_backup_negative.py (ShareBackupNegativeTest); the requests are those of
// manila_tempest_tests/services/share/v2/json/shares_client.py: every backup call sends
// `X-OpenStack-Manila-API-Experimental: True` and the configured max microversion (here 2.91, ours), and
// checks the status with expected_success. Tempest waits for `available` through the backup workflow;
// here completeBackup does what the workflow does when it succeeds.
import { describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN, apiFixture, MEMBER, type CallOptions } from './helpers/manila-api.ts';

// shares_client.py: EXPERIMENTAL = {'X-OpenStack-Manila-API-Experimental': 'True'}, version=LATEST_MICROVERSION
const TEMPEST = { version: '2.91', headers: { 'x-openstack-manila-api-experimental': 'True' } };

// test_backup.py ShareBackupTest.test_create_share_backup: the strict key set of GET share-backups/{id}
const MANILA_KEYS_2_80 = ['id', 'share_id', 'status', 'availability_zone', 'created_at', 'updated_at', 'size', 'progress', 'restore_progress', 'name', 'description'];
const MANILA_KEYS_2_85 = [...MANILA_KEYS_2_80, 'backup_type'];
// our deliberate extensions, docs/api-reference.md "Compatibility with Manila", row `/v2/share-backups …`
const EXTENSIONS = ['warnings', 'files', 'bytes'];

/**
 * The extra specs of setUp's share type: base.py add_extra_specs_to_dict (driver_handles_share_servers
 * str(CONF.share.multitenancy_enabled), here False; thin_provisioning only with
 * capability_thin_provisioned, False here). Upstream setUp also asks snapshot_support True and
 * mount_snapshot_support True unconditionally; this service takes no snapshots, so it refuses a type
 * claiming them (400, tested below) and the port asks them only as a tempest configured with
 * capability_snapshot_support = False would (not at all).
 */
function addExtraSpecsToDict(extraSpecs: Record<string, unknown> = {}): Record<string, unknown> {
  // Python's str(False): multitenancy_enabled is False for a service without share servers
  return { driver_handles_share_servers: 'False', ...extraSpecs };
}

let typeCount = 0;

function tempest() {
  const f = apiFixture();
  const t = (method: string, path: string, options: CallOptions = {}) => f.call(method, path, { ...TEMPEST, ...options, headers: { ...TEMPEST.headers, ...(options.headers ?? {}) } });
  // base.py create_share_type with the admin client: shares_client.py create_share_type POSTs
  // {"share_type": {name, extra_specs, share_type_access:is_public}} to types and expects 200
  const createShareType = async (extraSpecs: Record<string, unknown> = {}) => {
    const res = await t('POST', '/v2/admin/types', {
      claims: ADMIN,
      body: { share_type: { name: `ShareBackupTestshare-type-${++typeCount}`, extra_specs: addExtraSpecsToDict(extraSpecs), 'share_type_access:is_public': true } },
    });
    return res;
  };
  // test_backup.py ShareBackupTest.setUp: a share type, then a share of it (base.py create_share with
  // share_type_id); the share is available when the create answers here. Cleanup as tempest's
  // resource cleanup: the backups (what delete_share_backup + wait_for_resource_deletion leave:
  // nothing), the share (reset to available first when a test left it elsewhere, as the negative
  // tests do), then the share type, which must then delete (202).
  const setUp = async () => {
    const type = await createShareType();
    expect(type.status).toBe(200);
    const typeId = type.json.share_type.id as string;
    const share = await f.createShare({ share_type: typeId });
    expect(share.share_type).toBe(typeId);
    onTestFinished(async () => {
      const now = await f.repository.getShare(share.id);
      if (now) {
        for (const backup of await f.repository.listBackups(undefined)) if (backup.share_id === share.id) f.repository.backups.delete(backup.id);
        if (now.status !== 'available') await resetShare(share.id, 'available');
        expect((await t('DELETE', `/v2/alpha/shares/${share.id}`)).status).toBe(202);
      }
      // shares_client.py delete_share_type: 202
      expect((await t('DELETE', `/v2/admin/types/${typeId}`, { claims: ADMIN })).status).toBe(202);
    });
    return share.id as string;
  };
  // shares_client.py create_share_backup: name, description, share_id, backup_options (None) always in the body; 202
  const createBackup = async (shareId: string, name = 'tempest-created-share-backup') => {
    const res = await t('POST', '/v2/alpha/share-backups', { body: { share_backup: { name, description: 'tempest-created-share-backup-desc', share_id: shareId, backup_options: null } } });
    return res;
  };
  // base.py create_backup_wait_for_active: create (202), then wait for the backup to be available
  const createBackupWaitForActive = async (shareId: string) => {
    const res = await createBackup(shareId);
    expect(res.status).toBe(202);
    await f.completeBackup(res.json.share_backup.id);
    return res.json.share_backup as { id: string };
  };
  // shares_client.py reset_state / reset_state_share_backup (admin client): 202
  const resetShare = async (shareId: string, status: string) =>
    expect((await t('POST', `/v2/admin/shares/${shareId}/action`, { claims: ADMIN, body: { reset_status: { status } } })).status).toBe(202);
  const resetBackup = async (backupId: string, status: string) =>
    expect((await t('POST', `/v2/admin/share-backups/${backupId}/action`, { claims: ADMIN, body: { reset_status: { status } } })).status).toBe(202);
  return { ...f, t, setUp, createShareType, createBackup, createBackupWaitForActive, resetShare, resetBackup };
}

describe('manila_tempest_tests/tests/api/test_backup.py ShareBackupTest', () => {
  // ShareBackupTest.setUp and tempest's cleanup of its resources (base.py create_share_type, create_share, clear_resources)
  it('setUp: an admin creates the share type (POST types, 200), the share is of it; the type cannot go while the share exists (400), then can (202)', async () => {
    const f = tempest();
    const type = await f.createShareType();
    expect(type.status).toBe(200);
    expect(type.json.share_type).toMatchObject({ 'share_type_access:is_public': true, extra_specs: { driver_handles_share_servers: 'False', snapshot_support: 'False' } });
    const share = await f.createShare({ share_type: type.json.share_type.id });
    expect(share).toMatchObject({ share_type: type.json.share_type.id, share_type_name: type.json.share_type.name });
    const inUse = await f.t('DELETE', `/v2/admin/types/${type.json.share_type.id}`, { claims: ADMIN });
    expect(inUse.status).toBe(400);
    expect(inUse.json.badRequest.message).toBe('Target share type is still in use.');
    expect((await f.t('DELETE', `/v2/alpha/shares/${share.id}`)).status).toBe(202);
    expect((await f.t('DELETE', `/v2/admin/types/${type.json.share_type.id}`, { claims: ADMIN })).status).toBe(202);
    // the specs upstream's setUp literally asks (snapshot_support, mount_snapshot_support True) claim what
    // this service has not: refused, so a tempest run here needs them off (see addExtraSpecsToDict)
    const upstream = await f.createShareType({ snapshot_support: true, mount_snapshot_support: true });
    expect(upstream.status).toBe(400);
    expect(upstream.json.badRequest.message).toMatch(/snapshot_support/);
  });

  // test_backup.py ShareBackupTest.test_create_share_backup, at 2.91 (max_api_microversion ≥ 2.85: backup_type);
  // we answer the extensions warnings/files/bytes too (docs/api-reference.md, compatibility table).
  it('test_create_share_backup: GET share-backups/{id} has exactly the 2.85+ keys (plus our extensions)', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    const res = await f.t('GET', `/v2/alpha/share-backups/${backup.id}`);
    expect(res.status).toBe(200);
    expect(res.json.share_backup.id).toBe(backup.id);
    expect(new Set(Object.keys(res.json.share_backup))).toEqual(new Set([...MANILA_KEYS_2_85, ...EXTENSIONS]));
    expect(res.json.share_backup.status).toBe('available');
  });

  // the same test with max_api_microversion 2.80–2.84 (is_microversion_ge(..., '2.85') false): no backup_type
  it('test_create_share_backup at 2.80 and 2.84: the key set without backup_type', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    for (const version of ['2.80', '2.84']) {
      const res = await f.t('GET', `/v2/alpha/share-backups/${backup.id}`, { version });
      expect(res.status).toBe(200);
      expect(new Set(Object.keys(res.json.share_backup))).toEqual(new Set([...MANILA_KEYS_2_80, ...EXTENSIONS]));
    }
    // below _MIN_SUPPORTED_MICROVERSION (2.80) the tests skip; the route does not exist there
    expect((await f.t('GET', `/v2/alpha/share-backups/${backup.id}`, { version: '2.79' })).status).toBe(404);
  });

  // test_backup.py ShareBackupTest.test_delete_share_backup
  it('test_delete_share_backup: DELETE 202, then GET is 404 (NotFound)', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    expect((await f.t('DELETE', `/v2/alpha/share-backups/${backup.id}`)).status).toBe(202);
    // wait_for_resource_deletion(backup_id=...) polls get_share_backup until NotFound
    const gone = await f.t('GET', `/v2/alpha/share-backups/${backup.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toHaveProperty('itemNotFound');
  });

  // test_backup.py ShareBackupTest.test_restore_share_backup: body {'restore': None}, 202, restore.share_id is the source share
  it('test_restore_share_backup: {"restore": null} restores onto the source share', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    const backup = await f.createBackupWaitForActive(shareId);
    const res = await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: null } });
    expect(res.status).toBe(202);
    expect(res.json.restore.share_id).toBe(shareId);
    expect(res.json.restore.backup_id).toBe(backup.id);
    expect(f.started.map((s) => s.kind)).toEqual(['backup', 'restore']);
    // waiters.wait_for_resource_status(..., 'available', resource_name='share_backup'): restoring until the workflow ends
    expect((await f.t('GET', `/v2/alpha/share-backups/${backup.id}`)).json.share_backup.status).toBe('restoring');
  });

  // test_backup.py ShareBackupTest.test_update_share_backup
  it('test_update_share_backup: PUT {"share_backup": {"name"}} 200, GET shows the new name', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    const res = await f.t('PUT', `/v2/alpha/share-backups/${backup.id}`, { body: { share_backup: { name: 'Backup-2' } } });
    expect(res.status).toBe(200);
    expect(res.json.share_backup.id).toBe(backup.id);
    expect((await f.t('GET', `/v2/alpha/share-backups/${backup.id}`)).json.share_backup.name).toBe('Backup-2');
  });

  // test_backup.py ShareBackupTest.test_list_share_backups: list_share_backups() is GET share-backups/detail
  it('test_list_share_backups: GET share-backups/detail lists the one backup; ?share_id= filters', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    await f.createBackupWaitForActive(shareId);
    const res = await f.t('GET', '/v2/alpha/share-backups/detail');
    expect(res.status).toBe(200);
    expect(res.json.share_backups).toHaveLength(1);
    const other = await f.setUp();
    expect((await f.t('GET', '/v2/alpha/share-backups/detail', { query: { share_id: other } })).json.share_backups).toHaveLength(0);
    expect((await f.t('GET', '/v2/alpha/share-backups/detail', { query: { share_id: shareId } })).json.share_backups).toHaveLength(1);
  });
});

describe('manila_tempest_tests/tests/api/test_backup_negative.py ShareBackupNegativeTest', () => {
  // test_backup_negative.py ShareBackupNegativeTest.test_create_backup_when_share_is_in_backup_creating_state
  it('test_create_backup_when_share_is_in_backup_creating_state: a second backup is 400 (BadRequest)', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    const first = await f.createBackup(shareId, 'Backup-1');
    expect(first.status).toBe(202);
    const second = await f.createBackup(shareId, 'Backup-2');
    expect(second.status).toBe(400);
    expect(second.json).toHaveProperty('badRequest');
    // then it waits for backup1 available and deletes it
    await f.completeBackup(first.json.share_backup.id);
    expect((await f.t('DELETE', `/v2/alpha/share-backups/${first.json.share_backup.id}`)).status).toBe(202);
  });

  // test_backup_negative.py ShareBackupNegativeTest.test_create_backup_when_share_is_in_error_state
  it('test_create_backup_when_share_is_in_error_state: 400 while the share is error, 202 once available again', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    await f.resetShare(shareId, 'error');
    expect((await f.createBackup(shareId)).status).toBe(400);
    await f.resetShare(shareId, 'available');
    expect((await f.createBackup(shareId)).status).toBe(202);
  });

  // test_backup_negative.py ShareBackupNegativeTest.test_create_backup_when_share_has_snapshots: not portable —
  // there are no snapshots here (docs/api-reference.md, compatibility table: snapshot routes are 404), so a
  // share never has one; we pin that the snapshot create the test starts with is refused.
  it('test_create_backup_when_share_has_snapshots: no snapshots exist here (404), so the precondition cannot arise', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    expect((await f.t('POST', '/v2/alpha/snapshots', { body: { snapshot: { share_id: shareId } } })).status).toBe(404);
  });

  // test_backup_negative.py ShareBackupNegativeTest.test_delete_backup_when_backup_is_not_available
  it('test_delete_backup_when_backup_is_not_available: DELETE of a creating backup is 400', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    await f.resetBackup(backup.id, 'creating');
    const res = await f.t('DELETE', `/v2/alpha/share-backups/${backup.id}`);
    expect(res.status).toBe(400);
    expect(res.json).toHaveProperty('badRequest');
    await f.resetBackup(backup.id, 'available');
    expect((await f.t('GET', `/v2/alpha/share-backups/${backup.id}`)).json.share_backup.status).toBe('available');
  });

  // test_backup_negative.py ShareBackupNegativeTest.test_restore_backup_when_share_is_not_available
  it('test_restore_backup_when_share_is_not_available: restore onto an error share is 400', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    const backup = await f.createBackupWaitForActive(shareId);
    await f.resetShare(shareId, 'error');
    const res = await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: null } });
    expect(res.status).toBe(400);
    expect(res.json).toHaveProperty('badRequest');
    expect(f.started.map((s) => s.kind)).toEqual(['backup']);
    await f.resetShare(shareId, 'available');
  });

  // test_backup_negative.py ShareBackupNegativeTest.test_restore_backup_when_backup_is_not_available
  it('test_restore_backup_when_backup_is_not_available: restore of a creating backup is 400', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    await f.resetBackup(backup.id, 'creating');
    const res = await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: null } });
    expect(res.status).toBe(400);
    expect(res.json.badRequest.message).toMatch(/must be available/);
  });
});

describe('beyond the tempest tests: what the same client calls meet here', () => {
  // Manila answers 404 for another project's backup (its DB API filters by project); we answer 403,
  // deliberately: docs/api-reference.md "Policy" ("A resource that exists in another project
  // (non-admin caller): 403"). Uses shares_client.py get_share_backup / create_share_backup.
  it('another project\'s backup or share: 403 (Manila: 404), unknown: 404', async () => {
    const f = tempest();
    const backup = await f.createBackupWaitForActive(await f.setUp());
    const beta = { ...MEMBER, sub: 'user-beta', project_id: 'beta' };
    expect((await f.t('GET', `/v2/beta/share-backups/${backup.id}`, { claims: beta })).status).toBe(403);
    expect((await f.t('GET', '/v2/alpha/share-backups/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const betaShare = await f.createShare({}, beta);
    expect((await f.createBackup(betaShare.id)).status).toBe(403);
  });

  // invalid bodies for create_share_backup / update_share_backup / restore_share_backup: the
  // codes docs/api-reference.md gives (no share_backup key 422 as Manila's schema-less controller's
  // "Invalid request body"; ours: docs table row POST /v2/share-backups)
  it('invalid bodies: no share_backup 422, no share_id 400, unknown share 400, bad restore target 400/404, unknown action 400', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    expect((await f.t('POST', '/v2/alpha/share-backups', { body: { backup: { share_id: shareId } } })).status).toBe(422);
    expect((await f.t('POST', '/v2/alpha/share-backups', { body: { share_backup: { name: 'x' } } })).status).toBe(400);
    expect((await f.t('POST', '/v2/alpha/share-backups', { body: { share_backup: { share_id: '00000000-0000-4000-8000-000000000000' } } })).status).toBe(400);
    expect((await f.t('POST', '/v2/alpha/share-backups', { body: { share_backup: { share_id: shareId, name: 'n'.repeat(256) } } })).status).toBe(400);
    const backup = await f.createBackupWaitForActive(shareId);
    expect((await f.t('PUT', `/v2/alpha/share-backups/${backup.id}`, { body: { share_backup: { description: 'd'.repeat(1025) } } })).status).toBe(400);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: 'not-a-uuid' } })).status).toBe(400);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { frobnicate: null } })).status).toBe(400);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: {} })).status).toBe(400);
  });

  // a share in use: restoring (backup_restoring) refuses both a backup (test_backup_negative.py's busy-share
  // rule) and another restore onto it
  it('a share in use by a restore: a backup of it and a second restore onto it are 400', async () => {
    const f = tempest();
    const shareId = await f.setUp();
    const backup = await f.createBackupWaitForActive(shareId);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup.id}/action`, { body: { restore: null } })).status).toBe(202);
    expect((await f.createBackup(shareId)).status).toBe(400);
    const other = await f.setUp();
    const backup2 = await f.createBackupWaitForActive(other);
    expect((await f.t('POST', `/v2/alpha/share-backups/${backup2.id}/action`, { body: { restore: shareId } })).status).toBe(400);
  });
});

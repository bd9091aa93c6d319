// Issue 20, "Real OpenStack clients work unchanged": what python-manilaclient and the openstack CLI
// send, and what they expect back, against the API handler with an in-memory repository. Each test
// names the upstream file and function whose behaviour it pins.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARE_TYPE_ID, parseShareTypeConfig } from '../../functions/domain/share-types.ts';
import { ADMIN, apiFixture as fixture, GOLD_ID, MEMBER, SECRET_ID } from './helpers/manila-api.ts';

describe('share types (manila/api/v2/share_types.py, manila/api/views/types.py)', () => {
  it('GET types/default answers the default type: `openstack share create NFS 1` without --share-type asks for it (manilaclient/osc/v2/share.py CreateShare.take_action)', async () => {
    const f = fixture();
    const res = await f.call('GET', '/v2/alpha/types/default', { version: '2.91' });
    expect(res.status).toBe(200);
    expect(res.json.share_type).toEqual({
      id: DEFAULT_SHARE_TYPE_ID, name: 'default',
      extra_specs: {
        driver_handles_share_servers: 'False', snapshot_support: 'False', create_share_from_snapshot_support: 'False',
        revert_to_snapshot_support: 'False', mount_snapshot_support: 'False',
      },
      required_extra_specs: { driver_handles_share_servers: 'False' },
      'share_type_access:is_public': true,
      description: null,
      is_default: true,
    });
    // ViewBuilder.show returns the same dict under both keys
    expect(res.json.volume_type).toEqual(res.json.share_type);
  });

  it('lists public types for a member, all for an admin; the view follows the microversion (is_public key 2.7, description 2.41, is_default 2.46)', async () => {
    const f = fixture();
    const member = await f.call('GET', '/v2/alpha/types');
    expect(member.json.share_types.map((t: { name: string }) => t.name)).toEqual(['default', 'gold']);
    // an admin sees the public types unless asking for is_public=all (what manilaclient sends) or false
    const admin = await f.call('GET', '/v2/admin/types', { claims: ADMIN, query: { is_public: 'all' } });
    expect(admin.json.share_types.map((t: { name: string }) => t.name)).toEqual(['default', 'gold', 'secret']);
    expect((await f.call('GET', '/v2/admin/types', { claims: ADMIN })).json.share_types).toHaveLength(2);
    expect((await f.call('GET', '/v2/admin/types', { claims: ADMIN, query: { is_public: 'false' } })).json.share_types.map((t: { name: string }) => t.name)).toEqual(['secret']);
    expect((await f.call('GET', '/v2/alpha/types', { query: { is_public: 'all' } })).json.share_types).toHaveLength(2);
    expect((await f.call('GET', '/v2/alpha/types', { query: { extra_specs: "{'capabilities:tier': 'gold'}" } })).json.share_types.map((t: { name: string }) => t.name)).toEqual(['gold']);
    expect((await f.call('GET', '/v2/alpha/types', { version: '2.42', query: { extra_specs: "{'a': 'b'}" } })).status).toBe(400);
    expect((await f.call('GET', '/v2/alpha/types', { query: { is_public: 'maybe' } })).status).toBe(400);
    expect((await f.call('GET', '/v2/alpha/types', { query: { colour: 'red' } })).status).toBe(400);
    // the client's name lookup (manilaclient/base.py ManagerWithFind.findall) sends all_tenants=1
    expect((await f.call('GET', '/v2/alpha/types', { query: { all_tenants: '1', is_public: 'all' } })).json.share_types).toHaveLength(2);
    const old = await f.call('GET', `/v2/alpha/types/${GOLD_ID}`, { version: '2.6' });
    expect(Object.keys(old.json.share_type).sort()).toEqual(['extra_specs', 'id', 'name', 'os-share-type-access:is_public', 'required_extra_specs']);
    const mid = await f.call('GET', `/v2/alpha/types/${GOLD_ID}`, { version: '2.41' });
    expect(mid.json.share_type).toMatchObject({ description: 'the fast one', 'share_type_access:is_public': true });
    expect(mid.json.share_type).not.toHaveProperty('is_default');
    // a member sees only the tenant-visible extra specs (manila/api/views/types.py ViewBuilder.show,
    // constants.ExtraSpecs.TENANT_VISIBLE): capabilities:tier is an admin's, as on Manila (issue 20 changed this test)
    const now = await f.call('GET', `/v2/alpha/types/${GOLD_ID}`);
    expect(now.json.share_type).toMatchObject({ is_default: false, extra_specs: { snapshot_support: 'False' } });
    expect(now.json.share_type.extra_specs).not.toHaveProperty('capabilities:tier');
    expect((await f.call('GET', `/v2/admin/types/${GOLD_ID}`, { claims: ADMIN })).json.share_type.extra_specs).toMatchObject({ 'capabilities:tier': 'gold' });
    expect((await f.call('GET', `/v2/alpha/types/${GOLD_ID}/extra_specs`)).json.extra_specs).not.toHaveProperty('capabilities:tier');
    expect((await f.call('GET', `/v2/alpha/types/${GOLD_ID}/extra_specs/capabilities:tier`)).status).toBe(404);
    expect((await f.call('GET', `/v2/admin/types/${GOLD_ID}/extra_specs`, { claims: ADMIN })).json.extra_specs).toMatchObject({ 'capabilities:tier': 'gold' });
    expect((await f.call('GET', `/v2/alpha/types/${GOLD_ID}/extra_specs/snapshot_support`)).json).toEqual({ snapshot_support: 'False' });
    // a private type is not found for a member, like an unknown one; a name is not an id in the path
    expect((await f.call('GET', `/v2/alpha/types/${SECRET_ID}`)).status).toBe(404);
    expect((await f.call('GET', '/v2/alpha/types/00000000-0000-4000-8000-000000000000')).json.itemNotFound.message).toBe('Share type not found.');
    expect((await f.call('GET', '/v2/alpha/types/gold')).status).toBe(404);
  });

  // issue 20 changed this test: an admin may now change the types created through the API; the
  // configured ones stay read-only (403 naming SHARE_TYPES), 405 only with allow_api_changes false
  it('type changes: a member 403 (policy), an admin 403 on a configured type, naming SHARE_TYPES', async () => {
    const f = fixture();
    expect((await f.call('POST', '/v2/alpha/types', { body: { share_type: { name: 'x' } } })).status).toBe(403);
    expect((await f.call('DELETE', `/v2/alpha/types/${GOLD_ID}`)).status).toBe(403);
    const admin = await f.call('POST', `/v2/admin/types/${GOLD_ID}/extra_specs`, { claims: ADMIN, body: { extra_specs: { a: 'b' } } });
    expect(admin.status).toBe(403);
    expect(admin.json.forbidden.message).toContain('SHARE_TYPES');
  });

  it('a share records its type: default without share_type, by name or id otherwise; unknown or private is 404 "Share type not found." (manila/api/v2/shares.py ShareMixin._create)', async () => {
    const f = fixture();
    const plain = await f.createShare();
    expect(plain).toMatchObject({ share_type: DEFAULT_SHARE_TYPE_ID, share_type_name: 'default' });
    expect(await f.createShare({ share_type: 'gold' })).toMatchObject({ share_type: GOLD_ID, share_type_name: 'gold' });
    expect(await f.createShare({ share_type: GOLD_ID })).toMatchObject({ share_type: GOLD_ID, share_type_name: 'gold' });
    const unknown = await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: 'platinum' } } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.itemNotFound.message).toBe('Share type not found.');
    expect((await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: 'secret' } } })).status).toBe(404);
    expect((await f.call('GET', `/v2/alpha/shares/${plain.id}`)).json.share.share_type_name).toBe('default');
  });

  it('a share type configuration may not claim what the service lacks', () => {
    expect(() => parseShareTypeConfig({ types: [{ id: GOLD_ID, name: 'g', extra_specs: { snapshot_support: 'True' } }] })).toThrow(/snapshot_support/);
    expect(() => parseShareTypeConfig({ types: [{ id: 'nope', name: 'g' }] })).toThrow(/UUID/);
    expect(() => parseShareTypeConfig({ default_type: 'x', types: [{ id: GOLD_ID, name: 'g' }] })).toThrow(/default_type/);
  });
});

describe('list filters: honoured with Manila\'s meaning or a 400, never ignored', () => {
  it('is_soft_deleted=True lists nothing (no recycle bin), so the client\'s merged name lookup finds each share once (manilaclient/base.py ManagerWithFind.findall, 2.69+)', async () => {
    const f = fixture();
    await f.createShare({ name: 'x' });
    // what findall sends: the plain list, then all_tenants=1&is_soft_deleted=True
    const plain = await f.call('GET', '/v2/alpha/shares/detail', { query: { is_public: 'True', name: 'x' } });
    const soft = await f.call('GET', '/v2/alpha/shares/detail', { query: { all_tenants: '1', is_soft_deleted: 'True', is_public: 'True' } });
    expect(plain.json.shares).toHaveLength(1);
    expect(soft.json.shares).toEqual([]);
    expect((await f.call('GET', '/v2/alpha/shares', { query: { is_soft_deleted: 'false' } })).json.shares).toHaveLength(1);
    expect((await f.call('GET', '/v2/alpha/shares', { query: { is_soft_deleted: 'maybe' } })).status).toBe(400);
    // `openstack share delete --soft` and `openstack share restore` (manilaclient/v2/shares.py
    // ShareManager.soft_delete / restore: {"soft_delete": null}, {"restore": null}): a 400 that says why
    const share = (await f.call('GET', '/v2/alpha/shares')).json.shares[0];
    for (const action of ['soft_delete', 'restore']) {
      const res = await f.call('POST', `/v2/alpha/shares/${share.id}/action`, { version: '2.69', body: { [action]: null } });
      expect(res.status).toBe(400);
      expect(res.json.badRequest.message).toContain('no recycle bin');
    }
  });

  it('an unknown parameter is a 400 naming it; the client\'s own filters mean what they mean on Manila (manilaclient/osc/v2/share.py ListShare)', async () => {
    const f = fixture();
    const a = await f.createShare({ name: 'alpha-one', description: 'First Share' });
    await f.createShare({ name: 'beta', share_type: 'gold' });
    const bad = await f.call('GET', '/v2/alpha/shares', { query: { colour: 'red' } });
    expect(bad.status).toBe(400);
    expect(bad.json.badRequest.message).toContain('"colour"');
    const names = async (query: Record<string, string>) =>
      (await f.call('GET', '/v2/alpha/shares/detail', { query })).json.shares.map((s: { name: string }) => s.name).sort();
    expect(await names({ 'name~': 'ALPHA' })).toEqual(['alpha-one']);
    expect(await names({ 'description~': 'first' })).toEqual(['alpha-one']);
    expect(await names({ share_type_id: GOLD_ID })).toEqual(['beta']);
    expect(await names({ extra_specs: "{'capabilities:tier': 'gold'}" })).toEqual(['beta']);
    expect(await names({ snapshot_id: '00000000-0000-4000-8000-000000000000' })).toEqual([]);
    expect(await names({ share_network_id: 'n' })).toEqual([]);
    expect(await names({ export_location_path: a.export_locations[0].path })).toEqual(['alpha-one']);
    expect(await names({ export_location_id: a.export_locations[0].id })).toEqual(['alpha-one']);
    expect(await names({ sort_key: 'availability_zone_id' })).toHaveLength(2);
    expect((await f.call('GET', '/v2/alpha/shares', { query: { with_count: 'true', limit: '1' } })).json.count).toBe(2);
    expect((await f.call('GET', '/v2/alpha/shares', { query: { metadata: 'not a dict' } })).status).toBe(400);
  });

  it('public shares are refused on create and update rather than silently kept private', async () => {
    const f = fixture();
    const bad = await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, is_public: true } } });
    expect(bad.status).toBe(400);
    expect(bad.json.badRequest.message).toContain('is_public');
    const share = await f.createShare({ is_public: false });
    expect((await f.call('PUT', `/v2/alpha/shares/${share.id}`, { body: { share: { is_public: true } } })).status).toBe(400);
  });

  it('backup list: name~, description~ and description as manilaclient/osc/v2/share_backups.py ListShareBackup sends them; unknown is 400', async () => {
    const f = fixture();
    const share = await f.createShare();
    const res = await f.call('POST', '/v2/alpha/share-backups', { body: { share_backup: { share_id: share.id, name: 'Nightly', description: 'every night' } } });
    expect(res.status).toBe(202);
    const names = async (query: Record<string, string>) =>
      (await f.call('GET', '/v2/alpha/share-backups', { query })).json.share_backups.map((b: { name: string }) => b.name);
    expect(await names({ 'name~': 'night' })).toEqual(['Nightly']);
    expect(await names({ description: 'every night' })).toEqual(['Nightly']);
    expect(await names({ 'description~': 'day' })).toEqual([]);
    expect((await f.call('GET', '/v2/alpha/share-backups', { query: { host: 'h' } })).status).toBe(400);
  });
});

describe('reset_task_state (manila/api/v2/shares.py ShareController.reset_task_state, manilaclient/v2/shares.py ShareManager.reset_task_state)', () => {
  it('`openstack share set --task-state` body: an admin resets it (202); a member is refused (403); before 2.22 there is no such action (404)', async () => {
    const f = fixture();
    const share = await f.createShare();
    await f.repository.updateShare(share.id, { set: { task_state: 'data_copying_error' } });
    const member = await f.call('POST', `/v2/alpha/shares/${share.id}/action`, { body: { reset_task_state: { task_state: null } } });
    expect(member.status).toBe(403);
    expect(member.json.forbidden.message).toContain('share:reset_task_state');
    expect((await f.call('POST', `/v2/admin/shares/${share.id}/action`, { claims: ADMIN, version: '2.21', body: { reset_task_state: { task_state: null } } })).status).toBe(404);
    const ok = await f.call('POST', `/v2/admin/shares/${share.id}/action`, { claims: ADMIN, body: { reset_task_state: { task_state: null } } });
    expect(ok.status).toBe(202);
    expect((await f.call('GET', `/v2/alpha/shares/${share.id}`)).json.share.task_state).toBeNull();
    expect((await f.call('POST', `/v2/admin/shares/${share.id}/action`, { claims: ADMIN, body: { reset_task_state: { 'os-task_state': 'migration_error' } } })).status).toBe(202);
    expect((await f.call('GET', `/v2/alpha/shares/${share.id}`)).json.share.task_state).toBe('migration_error');
    const bad = await f.call('POST', `/v2/admin/shares/${share.id}/action`, { claims: ADMIN, body: { reset_task_state: { task_state: 'dancing' } } });
    expect(bad.status).toBe(400);
    expect(bad.json.badRequest.message).toContain('reset_task_state.task_state');
  });
});

describe('microversions and views', () => {
  it('an out-of-range microversion is a 406 naming the supported range (manila/api/openstack/wsgi.py Resource._process_stack, InvalidGlobalAPIVersion)', async () => {
    const f = fixture();
    const res = await f.call('GET', '/v2/alpha/shares', { version: '2.95' });
    expect(res.status).toBe(406);
    expect(res.json.computeFault).toEqual({ code: 406, message: 'Version 2.95 is not supported by the API. Minimum is 2.0 and maximum is 2.91.' });
  });

  it('the backup list\'s next link is share_backup_links (manila/api/views/share_backups.py _collection_links)', async () => {
    const f = fixture();
    const share = await f.createShare();
    await f.call('POST', '/v2/alpha/share-backups', { body: { share_backup: { share_id: share.id } } });
    const res = await f.call('GET', '/v2/alpha/share-backups', { query: { limit: '1' } });
    expect(res.json.share_backup_links[0]).toMatchObject({ rel: 'next' });
    expect(res.json).not.toHaveProperty('share_backups_links');
  });

  it('the share view follows the microversion as manila/api/views/shares.py ViewBuilder.detail builds it', async () => {
    const f = fixture();
    const share = await f.createShare({ share_type: 'gold', metadata: { team: 'storage' } });
    const at = async (version: string) => (await f.call('GET', `/v2/alpha/shares/${share.id}`, { version })).json.share;
    const v2_0 = await at('2.0');
    expect(v2_0).toMatchObject({ share_type: 'gold', volume_type: 'gold', is_public: false, metadata: { team: 'storage' }, export_location: expect.any(String) });
    expect(v2_0).not.toHaveProperty('share_type_name');
    expect(v2_0).not.toHaveProperty('snapshot_support');
    expect(v2_0.links[0]).toEqual({ rel: 'self', href: `http://api.test/v2/alpha/shares/${share.id}` });
    const v2_6 = await at('2.6');
    expect(v2_6).toMatchObject({ share_type: GOLD_ID, share_type_name: 'gold', snapshot_support: false, export_location: expect.any(String) });
    const v2_9 = await at('2.9');
    expect(v2_9).not.toHaveProperty('export_location');
    expect(v2_9).not.toHaveProperty('access_rules_status');
    const v2_54 = await at('2.54');
    expect(v2_54).toMatchObject({ access_rules_status: 'active', has_replicas: false, create_share_from_snapshot_support: false,
      revert_to_snapshot_support: false, mount_snapshot_support: false, share_group_id: null, progress: '100%' });
    expect(v2_54).not.toHaveProperty('is_soft_deleted');
    expect(await at('2.91')).toMatchObject({ is_soft_deleted: false, scheduled_to_be_deleted_at: null, encryption_key_ref: null });
  });

  it('share metadata: on create, the six routes of manila/api/v2/router.py "share_metadata" (metadata.py MetadataController), and the metadata list filter', async () => {
    const f = fixture();
    const share = await f.createShare({ metadata: { a: '1' } });
    await f.createShare({ name: 'other' });
    const base = `/v2/alpha/shares/${share.id}/metadata`;
    expect((await f.call('GET', base)).json).toEqual({ metadata: { a: '1' } });
    expect((await f.call('POST', base, { body: { metadata: { b: '2' } } })).json).toEqual({ metadata: { a: '1', b: '2' } });
    expect((await f.call('GET', `${base}/b`)).json).toEqual({ meta: { b: '2' } });
    expect((await f.call('GET', '/v2/alpha/shares', { query: { metadata: "{'b': '2'}" } })).json.shares.map((s: { id: string }) => s.id)).toEqual([share.id]);
    expect((await f.call('PUT', `${base}/b`, { body: { metadata: { b: '3' } } })).json).toEqual({ metadata: { a: '1', b: '3' } });
    expect((await f.call('PUT', `${base}/b`, { body: { metadata: { c: '3' } } })).json.badRequest.message).toBe('Request body and URI mismatch.');
    expect((await f.call('PUT', base, { body: { metadata: { z: '26' } } })).json).toEqual({ metadata: { z: '26' } });
    expect((await f.call('DELETE', `${base}/z`)).status).toBe(200);
    expect((await f.call('GET', `${base}/z`)).status).toBe(404);
    expect((await f.call('DELETE', `${base}/z`)).status).toBe(404);
    expect((await f.call('POST', base, { body: { metadata: { k: 5 } } })).status).toBe(400);
    expect((await f.call('POST', base, { body: { metadata: { ['k'.repeat(256)]: 'v' } } })).status).toBe(400);
    expect((await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, metadata: { k: ['v'] } } } })).status).toBe(400);
    // a reader may read metadata but not change it
    const reader = { ...MEMBER, roles: ['reader'] };
    expect((await f.call('GET', base, { claims: reader })).status).toBe(200);
    expect((await f.call('POST', base, { claims: reader, body: { metadata: { x: 'y' } } })).status).toBe(403);
  });
});

describe('strict identity (functions/domain/claims.ts): the claims API Gateway passes on are validated, failures are 401', () => {
  it.each([
    [{ sub: 'u', project_id: 'alpha', roles: 'Admin' }, 403],
    [{ sub: 'u', project_id: 'alpha', roles: '[ admin ]' }, 401],
    [{ sub: 'u', project_id: '[a b]', roles: '[member]' }, 401],
    [{ sub: 'u', project_id: 'a/../b', roles: '[member]' }, 401],
    [{ sub: 'u', project_id: 'alpha', roles: '[member]', iat: String(Math.floor(Date.now() / 1000) + 365 * 86400) }, 401],
    [{ sub: 'u', project_id: 'alpha', roles: '[member]', nbf: 'soon' }, 401],
    [{ sub: '', project_id: 'alpha', roles: '[member]' }, 401],
  ])('claims %j → %i on an admin-only action', async (claims, status) => {
    const f = fixture();
    const share = await f.createShare();
    const res = await f.call('POST', `/v2/shares/${share.id}/action`, { claims, body: { reset_status: { status: 'error' } } });
    expect(res.status).toBe(status);
    if (status === 401) expect(res.json.unauthorized.message).toMatch(/^(Invalid token|Authentication required)/);
  });

  it('an exact admin with a fresh iat passes', async () => {
    const f = fixture();
    const share = await f.createShare();
    const claims = { sub: 'u', project_id: 'admin', roles: '[admin]', iat: String(Math.floor(Date.now() / 1000)) };
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { claims, body: { reset_status: { status: 'error' } } })).status).toBe(202);
  });
});

const UUID_X = '12345678-1234-4234-8234-123456789abc';

describe('share create: what manilaclient/v2/shares.py ShareManager.create may send', () => {
  it('null snapshot_id, share_network_id, scheduler_hints are fine; a value is a 400 saying why, not ignored', async () => {
    const f = fixture();
    await f.createShare({ snapshot_id: null, share_network_id: null, scheduler_hints: {}, availability_zone: null });
    for (const [field, value] of [['snapshot_id', UUID_X], ['share_network_id', UUID_X], ['share_group_id', UUID_X], ['scheduler_hints', { same_host: UUID_X }]] as const) {
      const res = await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, [field]: value } } });
      expect(res.status, field).toBe(400);
      expect(res.json.badRequest.message).toContain(`share.${field}`);
    }
  });
});

describe('share types an admin manages through the API (issue 20; manila/api/v2/share_types.py, share_types_extra_specs.py)', () => {
  const DHSS = { driver_handles_share_servers: 'False' };
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';
  const create = (f: ReturnType<typeof fixture>, shareType: Record<string, unknown>, version = '2.91') =>
    f.call('POST', '/v2/admin/types', { claims: ADMIN, version, body: { share_type: shareType } });

  it('POST types: 200 with the show view under share_type and volume_type (ShareTypesController._create); volume_type body key; a member 403', async () => {
    const f = fixture();
    const res = await create(f, { name: 'silver', description: 'made here', extra_specs: { ...DHSS, 'capabilities:tier': 'silver' }, 'share_type_access:is_public': true });
    expect(res.status).toBe(200);
    expect(res.json.share_type).toEqual({
      id: expect.any(String), name: 'silver', description: 'made here', is_default: false, 'share_type_access:is_public': true,
      extra_specs: { ...DHSS, 'capabilities:tier': 'silver', snapshot_support: 'False', create_share_from_snapshot_support: 'False', revert_to_snapshot_support: 'False', mount_snapshot_support: 'False' },
      required_extra_specs: DHSS,
    });
    expect(res.json.volume_type).toEqual(res.json.share_type);
    // the old key and the old is_public spelling (is_valid_body(body, 'volume_type'); os-share-type-access:is_public)
    const old = await f.call('POST', '/v2/admin/types', { claims: ADMIN, version: '2.6', body: { volume_type: { name: 'bronze', extra_specs: DHSS, 'os-share-type-access:is_public': false } } });
    expect(old.status).toBe(200);
    expect(old.json.share_type).toMatchObject({ name: 'bronze', 'os-share-type-access:is_public': false });
    // below 2.24 Manila would default snapshot_support to True (set_defaults); here it stays False
    expect(old.json.share_type.extra_specs.snapshot_support).toBe('False');
    expect((await f.call('POST', '/v2/alpha/types', { body: { share_type: { name: 'x', extra_specs: DHSS } } })).status).toBe(403);
    // visible to members: a public type is listed and shown (the list ordered by name, as share_type_get_all)
    expect((await f.call('GET', '/v2/alpha/types')).json.share_types.map((t: { name: string }) => t.name)).toEqual(['default', 'gold', 'silver']);
    expect((await f.call('GET', `/v2/alpha/types/${res.json.share_type.id}`)).json.share_type.extra_specs).not.toHaveProperty('capabilities:tier');
  });

  it('POST types refusals: Manila\'s 400s, the truthful specs, 409 for a name taken by a configured or a stored type', async () => {
    const f = fixture();
    const message = async (shareType: Record<string, unknown>, version?: string) => {
      const res = await create(f, shareType, version);
      expect(res.status).toBe(400);
      return res.json.badRequest.message as string;
    };
    expect(await message({ name: '', extra_specs: DHSS })).toBe('Type name or description is not valid.');
    expect(await message({ name: 'n', description: 'x'.repeat(256), extra_specs: DHSS })).toBe('Type name or description is not valid.');
    expect(await message({ name: 'n', description: 'd', extra_specs: DHSS }, '2.40')).toMatch(/^'description' key is not supported/);
    expect(await message({ name: 'n' })).toBe("Required extra specs 'driver_handles_share_servers' not specified.");
    expect(await message({ name: 'n', extra_specs: { driver_handles_share_servers: 'True' } })).toMatch(/no share servers/);
    expect(await message({ name: 'n', extra_specs: { driver_handles_share_servers: 'perhaps' } })).toBe('Value of required extra_spec driver_handles_share_servers is not valid');
    expect(await message({ name: 'n', extra_specs: { ...DHSS, snapshot_support: true } })).toMatch(/snapshot_support/);
    expect((await f.call('POST', '/v2/admin/types', { claims: ADMIN, body: { share: {} } })).status).toBe(400);
    // ShareTypeExists → HTTPConflict
    const taken = await create(f, { name: 'gold', extra_specs: DHSS });
    expect(taken.status).toBe(409);
    expect(taken.json.conflictingRequest.message).toBe('Share Type gold already exists.');
    expect((await create(f, { name: 'twice', extra_specs: DHSS })).status).toBe(200);
    expect((await create(f, { name: 'twice', extra_specs: DHSS })).status).toBe(409);
  });

  it('allow_api_changes false: every change is 405 for an admin (reads still work), a member still 403', async () => {
    const f = fixture(parseShareTypeConfig({ allow_api_changes: false, types: [{ id: DEFAULT_SHARE_TYPE_ID, name: 'default' }] }));
    const res = await create(f, { name: 'n', extra_specs: DHSS });
    expect(res.status).toBe(405);
    expect(res.headers.Allow).toBe('GET');
    expect(res.json.methodNotAllowed.message).toContain('allow_api_changes');
    expect((await f.call('DELETE', `/v2/admin/types/${UNKNOWN}`, { claims: ADMIN })).status).toBe(405);
    expect((await f.call('POST', `/v2/admin/types/${UNKNOWN}/action`, { claims: ADMIN, body: { addProjectAccess: { project: 'x' } } })).status).toBe(405);
    expect((await f.call('POST', '/v2/alpha/types', { body: { share_type: { name: 'x', extra_specs: DHSS } } })).status).toBe(403);
    expect((await f.call('GET', '/v2/alpha/types')).status).toBe(200);
  });

  it('configured types are read-only: every change to one is 403 naming SHARE_TYPES', async () => {
    const f = fixture();
    const calls: [string, string, unknown][] = [
      ['PUT', `types/${GOLD_ID}`, { share_type: { name: 'x' } }],
      ['DELETE', `types/${GOLD_ID}`, undefined],
      ['POST', `types/${GOLD_ID}/extra_specs`, { extra_specs: { a: 'b' } }],
      ['PUT', `types/${GOLD_ID}/extra_specs/a`, { a: 'b' }],
      ['DELETE', `types/${GOLD_ID}/extra_specs/capabilities:tier`, undefined],
      ['POST', `types/${SECRET_ID}/action`, { addProjectAccess: { project: 'alpha' } }],
    ];
    for (const [method, path, body] of calls) {
      const res = await f.call(method, `/v2/admin/${path}`, { claims: ADMIN, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.forbidden.message).toContain('SHARE_TYPES');
    }
  });

  it('PUT types/{id} (update, 2.50+; 404 below as Manila\'s version dispatch): rename, description, is_public; 409 when the name is taken; shares show the new name', async () => {
    const f = fixture();
    const type = (await create(f, { name: 'silver', extra_specs: DHSS })).json.share_type;
    const share = await f.createShare({ share_type: 'silver' });
    expect(share.share_type_name).toBe('silver');
    const put = (body: unknown, version = '2.91') => f.call('PUT', `/v2/admin/types/${type.id}`, { claims: ADMIN, version, body });
    expect((await put({ share_type: { name: 'platinum' } }, '2.49')).status).toBe(404);
    const renamed = await put({ share_type: { name: 'platinum', description: 'renamed', 'share_type_access:is_public': true } });
    expect(renamed.status).toBe(200);
    expect(renamed.json.share_type).toMatchObject({ id: type.id, name: 'platinum', description: 'renamed', 'share_type_access:is_public': true });
    expect((await f.call('GET', `/v2/alpha/shares/${share.id}`)).json.share).toMatchObject({ share_type: type.id, share_type_name: 'platinum', volume_type: 'platinum' });
    expect((await put({ share_type: { description: '' } })).json.share_type.description).toBeNull();
    // the old name is free again, the new one taken (the name claim moved)
    expect((await create(f, { name: 'silver', extra_specs: DHSS })).status).toBe(200);
    expect((await put({ share_type: { name: 'silver' } })).status).toBe(409);
    expect((await put({ share_type: { name: 'gold' } })).status).toBe(409);
    expect((await put({ share_type: { name: 'platinum' } })).status).toBe(200);
    expect((await put({ share_type: {} })).json.badRequest.message).toBe('Specify share type name, description, share_type_access:is_public or a combination thereof.');
    expect((await put({ share_type: { name: ' ' } })).json.badRequest.message).toBe('Share type name cannot be empty.');
    expect((await put({ share_type: { 'share_type_access:is_public': 'perhaps' } })).json.badRequest.message).toBe('share_type_access:is_public has a non-boolean value.');
    expect((await f.call('PUT', `/v2/admin/types/${UNKNOWN}`, { claims: ADMIN, body: { share_type: { name: 'x' } } })).status).toBe(404);
    expect((await f.call('PUT', `/v2/alpha/types/${type.id}`, { body: { share_type: { name: 'x' } } })).status).toBe(403);
  });

  it('DELETE types/{id}: 202; 400 "Target share type is still in use." while any project has a share of it; 404 unknown (ShareTypesController._delete)', async () => {
    const f = fixture();
    const type = (await create(f, { name: 'silver', extra_specs: DHSS })).json.share_type;
    const share = await f.createShare({ share_type: type.id }, { ...MEMBER, project_id: 'beta', sub: 'user-beta' });
    const inUse = await f.call('DELETE', `/v2/admin/types/${type.id}`, { claims: ADMIN });
    expect(inUse.status).toBe(400);
    expect(inUse.json.badRequest.message).toBe('Target share type is still in use.');
    await f.repository.deleteShare(share.id, ['available', 'creating']);
    expect((await f.call('DELETE', `/v2/alpha/types/${type.id}`)).status).toBe(403);
    expect((await f.call('DELETE', `/v2/admin/types/${type.id}`, { claims: ADMIN })).status).toBe(202);
    expect((await f.call('DELETE', `/v2/admin/types/${type.id}`, { claims: ADMIN })).status).toBe(404);
    expect((await f.call('GET', `/v2/admin/types/${type.id}`, { claims: ADMIN })).status).toBe(404);
    // the name is free again
    expect((await create(f, { name: 'silver', extra_specs: DHSS })).status).toBe(200);
  });

  // The delete marks the type, then looks for shares; a create writes its share, then looks at the
  // type (shares.ts keepShareType). Each interleaving leaves no share with a deleted type.
  it('a delete racing a share create: the mark makes the create back out; a share written first makes the delete a 400 and lifts the mark', async () => {
    const f = fixture();
    const type = (await create(f, { name: 'silver', extra_specs: DHSS })).json.share_type;
    // the delete has begun (marked) when the create resolves the type: refused before anything is written
    await f.shareTypeCatalog.markDeleting(type.id, '2026-12-05T00:00:00Z');
    const early = await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: type.id } } });
    expect(early.status).toBe(400);
    expect(early.json.badRequest.message).toBe('Share type silver is being deleted; choose another type.');
    await f.shareTypeCatalog.clearDeleting(type.id);
    // the delete marks it between the create's read of the type and its check after the write: the
    // create backs out, deleting the share it wrote
    const getStored = f.shareTypeCatalog.getStored.bind(f.shareTypeCatalog);
    let reads = 0;
    f.shareTypeCatalog.getStored = async (id: string) => {
      if (++reads === 1) await f.shareTypeCatalog.markDeleting(id, '2026-12-05T00:00:01Z');
      return getStored(id);
    };
    const late = await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: type.id } } });
    expect(late.status).toBe(400);
    expect(await f.repository.listShares(undefined)).toEqual([]);
    f.shareTypeCatalog.getStored = getStored;
    await f.shareTypeCatalog.clearDeleting(type.id);
    // a share written before the mark: the delete sees it (400) and unmarks, so the type stays usable
    await f.createShare({ share_type: type.id });
    expect((await f.call('DELETE', `/v2/admin/types/${type.id}`, { claims: ADMIN })).status).toBe(400);
    expect((await f.shareTypeCatalog.getStored(type.id))?.deleting_since).toBeUndefined();
    expect((await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: type.id } } })).status).toBe(202);
  });

  it('extra specs: POST answers the body, PUT one item matching the URI, DELETE 202 / 403 required / 404 missing (share_types_extra_specs.py create, update, _delete)', async () => {
    const f = fixture();
    const id = (await create(f, { name: 'silver', extra_specs: DHSS })).json.share_type.id as string;
    const specs = (body: unknown) => f.call('POST', `/v2/admin/types/${id}/extra_specs`, { claims: ADMIN, body });
    const set = await specs({ extra_specs: { 'capabilities:tier': 'silver', thin_provisioning: true } });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ extra_specs: { 'capabilities:tier': 'silver', thin_provisioning: true } });
    expect((await f.call('GET', `/v2/admin/types/${id}/extra_specs`, { claims: ADMIN })).json.extra_specs).toMatchObject({ 'capabilities:tier': 'silver', thin_provisioning: 'True' });
    expect((await specs({ extra_specs: { 'a b': 'c' } })).json.badRequest.message).toBe('Key names can only contain alphanumeric characters, underscores, periods, colons and hyphens.');
    expect((await specs({ extra_specs: { snapshot_support: 'True' } })).status).toBe(400);
    expect((await specs({ extra_specs: { driver_handles_share_servers: 'True' } })).status).toBe(400);
    expect((await specs({ specs: {} })).status).toBe(400);
    expect((await f.call('POST', `/v2/admin/types/${UNKNOWN}/extra_specs`, { claims: ADMIN, body: { extra_specs: { a: 'b' } } })).status).toBe(404);
    expect((await f.call('POST', `/v2/alpha/types/${id}/extra_specs`, { body: { extra_specs: { a: 'b' } } })).status).toBe(403);
    const put = (key: string, body: unknown) => f.call('PUT', `/v2/admin/types/${id}/extra_specs/${key}`, { claims: ADMIN, body });
    expect((await put('capabilities:tier', { 'capabilities:tier': 'bronze' })).json).toEqual({ 'capabilities:tier': 'bronze' });
    expect((await f.call('GET', `/v2/admin/types/${id}/extra_specs/capabilities:tier`, { claims: ADMIN })).json).toEqual({ 'capabilities:tier': 'bronze' });
    expect((await put('a', { b: 'c' })).json.badRequest.message).toBe('Request body and URI mismatch');
    expect((await put('a', { a: 'b', c: 'd' })).json.badRequest.message).toBe('Request body contains too many items');
    expect((await put('a', {})).json.badRequest.message).toBe('Request body empty');
    const del = (key: string) => f.call('DELETE', `/v2/admin/types/${id}/extra_specs/${key}`, { claims: ADMIN });
    expect((await del('capabilities:tier')).status).toBe(202);
    expect((await del('capabilities:tier')).status).toBe(404);
    const required = await del('driver_handles_share_servers');
    expect(required.status).toBe(403);
    expect(required.json.forbidden.message).toBe("Extra spec 'driver_handles_share_servers' can't be deleted.");
  });

  it('project access: GET share_type_access (and os-share-type-access), addProjectAccess / removeProjectAccess (202, 409, 404); a private type is 404 to others until shared', async () => {
    const f = fixture();
    const id = (await create(f, { name: 'private', extra_specs: DHSS, 'share_type_access:is_public': false })).json.share_type.id as string;
    const action = (body: unknown, claims = ADMIN) => f.call('POST', `/v2/admin/types/${id}/action`, { claims, body });
    // not visible to alpha: list, show, extra specs, share create (404 "Share type not found.", as _share_type_get_query hides it)
    expect((await f.call('GET', `/v2/alpha/types/${id}`)).status).toBe(404);
    expect((await f.call('GET', `/v2/alpha/types/${id}/extra_specs`)).status).toBe(404);
    expect((await f.call('GET', '/v2/alpha/types')).json.share_types.map((t: { name: string }) => t.name)).not.toContain('private');
    expect((await f.call('POST', '/v2/alpha/shares', { body: { share: { share_proto: 'NFS', size: 1, share_type: 'private' } } })).status).toBe(404);
    expect((await f.call('GET', `/v2/admin/types/${id}/share_type_access`, { claims: ADMIN })).json).toEqual({ share_type_access: [] });
    expect((await action({ addProjectAccess: { project: 'alpha' } })).status).toBe(202);
    const again = await action({ addProjectAccess: { project: 'alpha' } });
    expect(again.status).toBe(409);
    expect(again.json.conflictingRequest.message).toContain('already exists');
    expect((await f.call('GET', `/v2/admin/types/${id}/share_type_access`, { claims: ADMIN })).json).toEqual({ share_type_access: [{ share_type_id: id, project_id: 'alpha' }] });
    expect((await f.call('GET', `/v2/admin/types/${id}/os-share-type-access`, { claims: ADMIN })).json.share_type_access).toHaveLength(1);
    // now alpha sees it (is_public=True lists also the private types a project has access to) and may use it
    expect((await f.call('GET', `/v2/alpha/types/${id}`)).json.share_type.name).toBe('private');
    expect((await f.call('GET', '/v2/alpha/types')).json.share_types.map((t: { name: string }) => t.name)).toContain('private');
    expect(await f.createShare({ share_type: 'private' })).toMatchObject({ share_type: id, share_type_name: 'private' });
    expect((await action({ removeProjectAccess: { project: 'alpha' } })).status).toBe(202);
    const gone = await action({ removeProjectAccess: { project: 'alpha' } });
    expect(gone.status).toBe(404);
    expect(gone.json.itemNotFound.message).toContain('not found');
    expect((await action({ addProjectAccess: { project: 'bad/project' } })).status).toBe(400);
    expect((await action({ grantAll: {} })).status).toBe(400);
    expect((await action({ addProjectAccess: { project: 'beta' } }, MEMBER)).status).toBe(403);
    expect((await f.call('GET', `/v2/alpha/types/${id}/share_type_access`)).status).toBe(403);
    expect((await f.call('POST', `/v2/admin/types/${UNKNOWN}/action`, { claims: ADMIN, body: { addProjectAccess: { project: 'beta' } } })).status).toBe(404);
    // a public type has no access list (ShareTypesController.share_type_access, _verify_if_non_public_share_type)
    const pub = (await create(f, { name: 'open', extra_specs: DHSS })).json.share_type.id as string;
    const list = await f.call('GET', `/v2/admin/types/${pub}/share_type_access`, { claims: ADMIN });
    expect(list.status).toBe(404);
    expect(list.json.itemNotFound.message).toBe('Access list not available for public share types.');
    const modify = await f.call('POST', `/v2/admin/types/${pub}/action`, { claims: ADMIN, body: { addProjectAccess: { project: 'beta' } } });
    expect(modify.status).toBe(409);
    expect(modify.json.conflictingRequest.message).toBe('Type access modification is not applicable to public share type.');
    expect((await f.call('GET', `/v2/admin/types/${UNKNOWN}/share_type_access`, { claims: ADMIN })).status).toBe(404);
  });
});

describe('share views read the share type catalog once per request (issue 20)', () => {
  it('a detail list of shares of a stored type reads the stored types once; of configured types, not at all', async () => {
    const f = fixture();
    const type = (await f.call('POST', '/v2/admin/types', { claims: ADMIN, body: { share_type: { name: 'silver', extra_specs: { driver_handles_share_servers: false } } } })).json.share_type;
    for (let i = 0; i < 3; i++) await f.createShare({ share_type: type.id });
    let reads = 0;
    const listStored = f.shareTypeCatalog.listStored.bind(f.shareTypeCatalog);
    f.shareTypeCatalog.listStored = async () => { reads++; return listStored(); };
    const res = await f.call('GET', '/v2/alpha/shares/detail', { query: { share_type_id: type.id } });
    expect(res.json.shares.map((s: { share_type_name: string }) => s.share_type_name)).toEqual(['silver', 'silver', 'silver']);
    expect(reads).toBe(1);
    // another project's shares of a configured type: create, show and list need no read of the table
    reads = 0;
    const BETA = { ...MEMBER, sub: 'user-beta', project_id: 'beta' };
    const gold = await f.createShare({ share_type: 'gold' }, BETA);
    expect((await f.call('GET', `/v2/beta/shares/${gold.id}`, { claims: BETA })).json.share.share_type_name).toBe('gold');
    expect((await f.call('GET', '/v2/beta/shares/detail', { claims: BETA })).json.shares).toHaveLength(1);
    expect(reads).toBe(0);
  });
});

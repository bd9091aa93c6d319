// The API handler end to end against an in-memory repository: routing, validation, policy, the order of
// api.md's checks, the claim semantics and the error shape. (The real DynamoDB engine runs in the
// integration tests.)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { InMemoryRepository } from '../../functions/adapters/repository-memory.ts';
import type { BackupWorkflowInput, RestoreWorkflowInput, WorkflowStarter } from '../../functions/adapters/starter.ts';
import { LocalStorageBackend } from '../../functions/adapters/storage-local.ts';
import { buildHandler, handleRequest } from '../../functions/api/handler.ts';
import type { ApiDependencies } from '../../functions/api/context.ts';
import { parseDriverConfig, type DriverConfig } from '../../functions/domain/drivers.ts';

class RecordingStarter implements WorkflowStarter {
  restores: RestoreWorkflowInput[] = [];
  backups: BackupWorkflowInput[] = [];
  fail = false;
  async startRestore(input: RestoreWorkflowInput) {
    if (this.fail) throw Object.assign(new Error('sfn down'), { name: 'ServiceUnavailable' });
    this.restores.push(input);
    return `arn:aws:states:us-east-1:000000000000:execution:restore:${input.restore_id}`;
  }
  async startBackup(input: BackupWorkflowInput) {
    if (this.fail) throw Object.assign(new Error('sfn down'), { name: 'ServiceUnavailable' });
    this.backups.push(input);
    return `arn:aws:states:us-east-1:000000000000:execution:backup:${input.backup_id}`;
  }
}

const TEST_DRIVERS: DriverConfig = parseDriverConfig({
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
});

interface Identity { project: string; roles: unknown; sub?: string }

const MEMBER: Identity = { project: 'alpha', roles: '[member reader]' };
const READER: Identity = { project: 'alpha', roles: '[reader]' };
const OTHER: Identity = { project: 'beta', roles: ['member', 'reader'] };
const ADMIN: Identity = { project: 'admin', roles: 'admin,member,reader' };

function apiEvent(method: string, path: string, options: {
  identity?: Identity | null; body?: unknown; rawBody?: string; headers?: Record<string, string>; query?: Record<string, string>;
} = {}): APIGatewayProxyEventV2WithJWTAuthorizer {
  const identity = options.identity === undefined ? MEMBER : options.identity;
  const rawBody = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { host: 'api.test', 'x-forwarded-proto': 'https', ...(options.headers ?? {}) },
    queryStringParameters: options.query,
    requestContext: {
      accountId: '000000000000', apiId: 'api', domainName: 'api.test', domainPrefix: 'api', requestId: 'r', routeKey: '$default',
      stage: '$default', time: '', timeEpoch: 0,
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      authorizer: identity === null ? undefined : {
        principalId: '', integrationLatency: 0,
        jwt: { claims: { sub: identity.sub ?? `user-${identity.project}`, project_id: identity.project, roles: identity.roles as string }, scopes: [] },
      },
    } as APIGatewayProxyEventV2WithJWTAuthorizer['requestContext'],
    body: rawBody,
    isBase64Encoded: false,
  };
}

function createFixture(drivers: DriverConfig = TEST_DRIVERS) {
  const repository = new InMemoryRepository();
  const starter = new RecordingStarter();
  const storageRoot = mkdtempSync(join(tmpdir(), 'api-test-'));
  onTestFinished(() => rmSync(storageRoot, { recursive: true, force: true }));
  const storage = new LocalStorageBackend(storageRoot);
  const deps: ApiDependencies = { repository, starter, storage, settings: { drivers, availabilityZone: 'nova', backupQuota: 5 } };
  const call = async (method: string, path: string, options: Parameters<typeof apiEvent>[2] = {}) => {
    const res = await handleRequest(apiEvent(method, path, options), () => deps);
    const text = typeof res.body === 'string' ? res.body : '';
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect free-form JSON
    const json: any = text ? JSON.parse(text) : undefined;
    return { status: res.statusCode ?? 0, headers: (res.headers ?? {}) as Record<string, string>, json };
  };
  /** a share created through the API, then its status set directly (a test's shortcut) */
  const share = async (identity: Identity = MEMBER, body: Record<string, unknown> = {}) => {
    const res = await call('POST', '/v2/shares', { identity, body: { share: { share_proto: 'NFS', size: 2, ...body } } });
    if (res.status !== 202) throw new Error(`share create: ${JSON.stringify(res.json)}`);
    return res.json.share as { id: string; status: string; size: number; export_locations: Array<{ path: string }> };
  };
  /** a backup through the API, completed as the workflow would (backup available, share available) */
  const backup = async (shareId: string, identity: Identity = MEMBER, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/v2/share-backups', { identity, body: { share_backup: { share_id: shareId, ...extra } } });
    if (res.status !== 202) throw new Error(`backup create: ${JSON.stringify(res.json)}`);
    const id = res.json.share_backup.id as string;
    await repository.updateBackup(id, { set: { status: 'available', progress: '100' } });
    await repository.updateShare(shareId, { set: { status: 'available' }, remove: ['active_backup_id'] });
    return id;
  };
  return { repository, starter, storage, storageRoot, deps, call, share, backup };
}

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe('routing, versions and error shapes', () => {
  it('answers the version documents without a token', async () => {
    const f = createFixture();
    const root = await f.call('GET', '/', { identity: null });
    expect(root.status).toBe(300);
    expect(root.json.versions[0]).toMatchObject({ version: '2.91', min_version: '2.0' });
    const v2 = await f.call('GET', '/v2', { identity: null });
    expect(v2.status).toBe(200);
    expect(v2.json.version).toMatchObject({ id: 'v2.0', version: '2.91', min_version: '2.0' });
  });

  it('401 without claims, 404 for an unknown route, 405 for a wrong method', async () => {
    const f = createFixture();
    expect((await f.call('GET', '/v2/shares', { identity: null })).json).toEqual({ unauthorized: { code: 401, message: expect.any(String) } });
    expect((await f.call('GET', '/v2/nothing/here/at/all')).json.itemNotFound.code).toBe(404);
    const wrong = await f.call('PATCH', '/v2/shares');
    expect(wrong.status).toBe(405);
    expect(wrong.json.methodNotAllowed.code).toBe(405);
    expect(wrong.headers.Allow).toContain('GET');
  });

  it('parses, gates and echoes the microversion', async () => {
    const f = createFixture();
    const plain = await f.call('GET', '/v2/shares', { headers: { 'X-OpenStack-Manila-API-Experimental': 'True' } });
    expect(plain.headers).toMatchObject({ 'X-OpenStack-Manila-API-Version': '2.91', Vary: 'X-OpenStack-Manila-API-Version', 'X-OpenStack-Manila-API-Experimental': 'True' });
    expect((await f.call('GET', '/v2/shares', { headers: { 'x-openstack-manila-api-version': 'two' } })).json.badRequest.code).toBe(400);
    expect((await f.call('GET', '/v2/shares', { headers: { 'x-openstack-manila-api-version': '2.92' } })).status).toBe(406);
    expect((await f.call('GET', '/v2/shares', { headers: { 'x-openstack-manila-api-version': '2.0' } })).status).toBe(200);
    const old = await f.call('GET', '/v2/share-backups', { headers: { 'x-openstack-manila-api-version': '2.79' } });
    expect(old.status).toBe(404);
    expect((await f.call('GET', '/v2/share-backups', { headers: { 'x-openstack-manila-api-version': '2.80' } })).status).toBe(200);
  });

  it('limits bodies and names bad fields', async () => {
    const f = createFixture();
    const big = await f.call('POST', '/v2/shares', { rawBody: JSON.stringify({ share: { share_proto: 'NFS', size: 1, description: 'x'.repeat(70_000) } }) });
    expect(big.status).toBe(413);
    expect(big.headers['Retry-After']).toBeDefined();
    expect((await f.call('POST', '/v2/shares', { rawBody: '{"share": ' })).json.badRequest.code).toBe(400);
    const longName = await f.call('POST', '/v2/shares', { body: { share: { share_proto: 'NFS', size: 1, name: 'n'.repeat(256) } } });
    expect(longName.json.badRequest.message).toContain('share.name');
    const longDescription = await f.call('POST', '/v2/shares', { body: { share: { share_proto: 'NFS', size: 1, description: 'd'.repeat(1025) } } });
    expect(longDescription.json.badRequest.message).toContain('share.description');
    expect((await f.call('POST', '/v2/shares', { body: { share: { share_proto: 'GLUSTERFS', size: 1 } } })).status).toBe(400);
    expect((await f.call('GET', '/v2/shares/not-a-uuid')).status).toBe(404);
    expect((await f.call('POST', '/v2/shares', { body: { share: { backup_id: 'nope' } } })).json.badRequest.message).toContain('share.backup_id');
  });

  it('a POST or PUT body that is not JSON by its Content-Type is a 415 badMediaType; JSON with parameters is JSON', async () => {
    const f = createFixture();
    const body = JSON.stringify({ share: { share_proto: 'NFS', size: 1 } });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await f.call('POST', '/v2/shares', { rawBody: body, headers: { 'content-type': type } });
      expect(res.status, type).toBe(415);
      expect(res.json).toEqual({ badMediaType: { code: 415, message: expect.stringContaining(type) } });
    }
    const created = await f.share();
    const put = await f.call('PUT', `/v2/shares/${created.id}`, { body: { share: { name: 'x' } }, headers: { 'Content-Type': 'text/plain' } });
    expect(put.status).toBe(415);
    // webob's content_type drops the parameters, so Manila takes these as application/json
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8']) {
      expect((await f.call('POST', '/v2/shares', { rawBody: body, headers: { 'content-type': type } })).status, type).toBe(202);
    }
    // no Content-Type at all: the body is read as JSON (clients that omit it keep working)
    expect((await f.call('POST', '/v2/shares', { rawBody: body })).status).toBe(202);
  });

  it('a non-admin naming another project in the path gets 403; the own project works', async () => {
    const f = createFixture();
    expect((await f.call('GET', '/v2/beta/shares')).status).toBe(403);
    expect((await f.call('GET', '/v2/alpha/shares')).status).toBe(200);
    expect((await f.call('GET', '/v2/beta/shares', { identity: ADMIN })).status).toBe(200);
  });
});

describe('the middy handler', () => {
  const context = { functionName: 'api', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

  it('runs through its middlewares and answers as handleRequest does', async () => {
    const f = createFixture();
    const handler = buildHandler(() => f.deps);
    const res = await handler(apiEvent('GET', '/v2/shares'), context);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(String(res.body))).toEqual({ shares: [] });
  });

  it('answers 500 computeFault, not a crash, when the deployment is misconfigured', async () => {
    const handler = buildHandler(() => {
      throw new Error('environment variable SHARES_TABLE is required');
    });
    const res = await handler(apiEvent('GET', '/v2/shares'), context);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(String(res.body)).computeFault.code).toBe(500);
    // routes that need no dependencies still answer
    expect((await handler(apiEvent('GET', '/', { identity: null }), context)).statusCode).toBe(300);
  });
});

describe('shares', () => {
  it('creates an available share with its storage, shows exactly the detail fields, lists with links', async () => {
    const f = createFixture();
    const share = await f.share(MEMBER, { name: 'one' });
    expect(share.status).toBe('available');
    expect(existsSync(share.export_locations[0]!.path)).toBe(true);
    const shown = await f.call('GET', `/v2/shares/${share.id}`);
    expect(Object.keys(shown.json.share).sort()).toEqual(['access_rules_status', 'availability_zone', 'create_share_from_snapshot_support', 'created_at',
      'description', 'encryption_key_ref', 'export_locations', 'has_replicas', 'id', 'is_public', 'is_soft_deleted', 'links', 'metadata',
      'mount_snapshot_support', 'name', 'progress', 'project_id', 'replication_type', 'revert_to_snapshot_support', 'scheduled_to_be_deleted_at',
      'share_group_id', 'share_network_id', 'share_proto', 'share_type', 'share_type_name', 'size', 'snapshot_id', 'snapshot_support',
      'source_backup_id', 'source_share_group_snapshot_member_id', 'status', 'task_state', 'updated_at', 'user_id', 'volume_type']);
    await f.share(MEMBER, { name: 'two' });
    await f.share(MEMBER, { name: 'three', share_proto: 'CIFS' });
    const page = await f.call('GET', '/v2/shares', { query: { limit: '2', sort_key: 'name', sort_dir: 'asc' } });
    expect(page.json.shares.map((s: { name: string }) => s.name)).toEqual(['one', 'three']);
    expect(page.json.shares_links[0]).toMatchObject({ rel: 'next', href: expect.stringContaining('offset=2') });
    expect(Object.keys(page.json.shares[0]).sort()).toEqual(['id', 'links', 'name']);
    const cifs = await f.call('GET', '/v2/shares/detail', { query: { share_proto: 'CIFS' } });
    expect(cifs.json.shares).toHaveLength(1);
    expect((await f.call('GET', '/v2/shares', { query: { sort_key: 'secret' } })).status).toBe(400);
    expect((await f.call('GET', '/v2/shares', { query: { limit: '-1' } })).status).toBe(400);
    expect((await f.call('GET', '/v2/shares', { identity: OTHER })).json.shares).toHaveLength(0);
    expect((await f.call('GET', '/v2/shares', { identity: ADMIN, query: { all_tenants: '1' } })).json.shares).toHaveLength(3);
  });

  it('enforces policy: reader cannot create, another project gets 403, unknown is 404', async () => {
    const f = createFixture();
    expect((await f.call('POST', '/v2/shares', { identity: READER, body: { share: { share_proto: 'NFS', size: 1 } } })).status).toBe(403);
    const share = await f.share();
    expect((await f.call('GET', `/v2/shares/${share.id}`, { identity: OTHER })).status).toBe(403);
    expect((await f.call('GET', `/v2/shares/${share.id}`, { identity: READER })).status).toBe(200);
    expect((await f.call('GET', `/v2/shares/${UNKNOWN}`)).status).toBe(404);
  });

  it('updates names, extends, shrinks above used bytes, resets status (admin) and deletes', async () => {
    const f = createFixture();
    const share = await f.share();
    const updated = await f.call('PUT', `/v2/shares/${share.id}`, { body: { share: { display_name: 'renamed', description: 'd' } } });
    expect(updated.json.share).toMatchObject({ name: 'renamed', description: 'd' });
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { extend: { new_size: 4 } } })).status).toBe(202);
    expect((await f.call('GET', `/v2/shares/${share.id}`)).json.share.size).toBe(4);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { extend: { new_size: 3 } } })).status).toBe(400);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { shrink: { new_size: 1 } } })).status).toBe(202);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: {} })).status).toBe(400);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { explode: {} } })).status).toBe(400);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { reset_status: { status: 'error' } } })).status).toBe(403);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { identity: ADMIN, body: { reset_status: { status: 'bogus' } } })).status).toBe(400);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { identity: ADMIN, body: { reset_status: { status: 'error' } } })).status).toBe(202);
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { extend: { new_size: 9 } } })).json.badRequest.message).toMatch(/available/);
    expect((await f.call('DELETE', `/v2/shares/${share.id}`)).status).toBe(202);
    expect(existsSync(share.export_locations[0]!.path)).toBe(false);
    expect((await f.call('GET', `/v2/shares/${share.id}`)).status).toBe(404);
  });

  it('refuses a shrink below the bytes the share holds', async () => {
    const f = createFixture();
    const share = await f.share(MEMBER, { size: 3 });
    await f.repository.updateShare(share.id, { set: { size: 3 } });
    const original = f.storage.usedBytes.bind(f.storage);
    f.storage.usedBytes = async () => 2 * 1024 ** 3 + 1;
    expect((await f.call('POST', `/v2/shares/${share.id}/action`, { body: { shrink: { new_size: 2 } } })).status).toBe(400);
    f.storage.usedBytes = original;
  });

  it('a share with backups cannot be deleted (403 with the count)', async () => {
    const f = createFixture();
    const share = await f.share();
    await f.backup(share.id);
    await f.backup(share.id);
    expect((await f.call('DELETE', `/v2/shares/${share.id}`)).json).toEqual({ forbidden: { code: 403, message: 'Share still has 2 dependent backups.' } });
  });
});

describe('share backups', () => {
  it('creates a backup in one claim and starts the workflow named after it', async () => {
    const f = createFixture();
    const share = await f.share();
    const res = await f.call('POST', '/v2/share-backups', { body: { share_backup: { share_id: share.id, name: 'nightly' } } });
    expect(res.status).toBe(202);
    const id = res.json.share_backup.id;
    expect(Object.keys(res.json.share_backup).sort()).toEqual(['availability_zone', 'backup_type', 'bytes', 'created_at', 'description', 'files', 'id', 'name', 'progress',
      'restore_progress', 'share_id', 'size', 'status', 'updated_at', 'warnings']);
    expect(f.starter.backups).toEqual([{ backup_id: id, share_id: share.id, project_id: 'alpha' }]);
    expect(await f.repository.getShare(share.id)).toMatchObject({ status: 'backup_creating', active_backup_id: id });
    expect(existsSync(join(f.storageRoot, 'backups', id))).toBe(true);
    expect((await f.call('GET', `/v2/share-backups/${id}`, { identity: ADMIN })).json.share_backup).toHaveProperty('host');
    expect(Object.keys((await f.call('GET', '/v2/share-backups')).json.share_backups[0]).sort()).toEqual(['id', 'name', 'share_id', 'status']);
  });

  it('checks a create in api.md order', async () => {
    const f = createFixture();
    const post = (body: unknown, identity: Identity = MEMBER) => f.call('POST', '/v2/share-backups', { identity, body });
    const share = await f.share();
    expect((await post({ backup: {} })).status).toBe(422);
    expect((await post({ share_backup: {} })).status).toBe(400);
    expect((await post({ share_backup: { share_id: 'x' } })).status).toBe(400);
    expect((await post({ share_backup: { share_id: UNKNOWN } })).status).toBe(400);
    expect((await post({ share_backup: { share_id: share.id } }, OTHER)).status).toBe(403);
    expect((await post({ share_backup: { share_id: share.id } }, READER)).status).toBe(403);
    expect((await post({ share_backup: { share_id: share.id, backup_options: { backup_type: 'tape' } } })).status).toBe(400);
    const cifs = await f.share(MEMBER, { share_proto: 'CIFS' });
    expect((await post({ share_backup: { share_id: cifs.id } })).json.badRequest.message).toMatch(/CIFS/);
    await f.repository.updateShare(share.id, { set: { status: 'backup_restoring' } });
    expect((await post({ share_backup: { share_id: share.id } })).status).toBe(400);
    await f.repository.updateShare(share.id, { set: { status: 'available' } });
    for (let i = 0; i < 5; i++) await f.backup(share.id);
    const quota = await post({ share_backup: { share_id: share.id } });
    expect(quota.status).toBe(413);
    expect(quota.headers['Retry-After']).toBeDefined();
  });

  it('undoes the claim when the workflow cannot start (500)', async () => {
    const f = createFixture();
    const share = await f.share();
    f.starter.fail = true;
    const res = await f.call('POST', '/v2/share-backups', { body: { share_backup: { share_id: share.id } } });
    expect(res.json.computeFault.code).toBe(500);
    expect(await f.repository.getShare(share.id)).toMatchObject({ status: 'available' });
    expect(f.repository.backups.size).toBe(0);
  });

  it('updates, deletes only available or error, resets status as admin only, filters by share', async () => {
    const f = createFixture();
    const share = await f.share();
    const id = await f.backup(share.id);
    expect((await f.call('PUT', `/v2/share-backups/${id}`, { body: { share_backup: { name: 'renamed' } } })).json.share_backup.name).toBe('renamed');
    expect((await f.call('GET', '/v2/share-backups', { query: { share_id: UNKNOWN } })).status).toBe(400);
    expect((await f.call('GET', '/v2/share-backups/detail', { query: { share_id: share.id } })).json.share_backups).toHaveLength(1);
    expect((await f.call('POST', `/v2/share-backups/${id}/action`, { body: { reset_status: { status: 'creating' } } })).status).toBe(403);
    expect((await f.call('POST', `/v2/share-backups/${id}/action`, { identity: ADMIN, body: { reset_status: { status: 'restoring' } } })).status).toBe(400);
    expect((await f.call('POST', `/v2/share-backups/${id}/action`, { identity: ADMIN, body: { reset_status: { status: 'creating' } } })).status).toBe(202);
    expect((await f.call('DELETE', `/v2/share-backups/${id}`)).status).toBe(400);
    await f.call('POST', `/v2/share-backups/${id}/action`, { identity: ADMIN, body: { reset_status: { status: 'error' } } });
    expect((await f.call('DELETE', `/v2/share-backups/${id}`)).status).toBe(202);
    expect((await f.call('GET', `/v2/share-backups/${id}`)).status).toBe(404);
    expect(existsSync(join(f.storageRoot, 'backups', id))).toBe(false);
  });
});

describe('restore', () => {
  async function setup() {
    const f = createFixture();
    const source = await f.share(MEMBER, { size: 2 });
    const backupId = await f.backup(source.id);
    const restore = (target: unknown, identity: Identity = MEMBER, headers: Record<string, string> = {}) =>
      f.call('POST', `/v2/share-backups/${backupId}/action`, { identity, headers, body: { restore: target } });
    return { f, source, backupId, restore };
  }

  it('accepts the three body forms and starts the workflow named after the restore', async () => {
    const { f, source, backupId, restore } = await setup();
    const target = await f.share(MEMBER, { size: 2 });
    const res = await restore(target.id);
    expect(res.status).toBe(202);
    expect(res.json.restore).toMatchObject({ backup_id: backupId, share_id: target.id });
    expect(f.starter.restores[0]).toEqual({
      restore_id: res.json.restore.restore_id, backup_id: backupId, share_id: target.id, source_share_id: source.id, project_id: 'alpha', kind: 'restore',
    });
    expect(await f.repository.getShare(target.id)).toMatchObject({ status: 'backup_restoring', active_restore_id: res.json.restore.restore_id });
    expect(await f.repository.getBackup(backupId)).toMatchObject({ status: 'restoring' });
    const view = await f.call('GET', `/v2/share-restores/${res.json.restore.restore_id}`);
    expect(view.json.share_restore).toMatchObject({ status: 'accepted', share_id: target.id, source_share_id: source.id });
    expect(view.json.share_restore).not.toHaveProperty('execution_id');
    expect((await f.call('GET', `/v2/share-restores/${res.json.restore.restore_id}`, { identity: ADMIN })).json.share_restore).toHaveProperty('execution_id');
    expect((await f.call('GET', '/v2/share-restores', { query: { share_id: target.id } })).json.share_restores).toHaveLength(1);

    for (const form of [null, {}, { share_id: null }]) {
      await f.repository.updateBackup(backupId, { set: { status: 'available' } });
      await f.repository.updateShare(target.id, { set: { status: 'available' } });
      const r = await restore(form);
      expect(r.status, JSON.stringify(r.json)).toBe(202);
      expect(r.json.restore.share_id).toBe(source.id);
      await f.repository.updateShare(source.id, { set: { status: 'available' } });
    }
    await f.repository.updateBackup(backupId, { set: { status: 'available' } });
    const old = await restore(target.id, MEMBER, { 'X-OpenStack-Manila-API-Version': '2.90' });
    expect(old.json.restore.share_id).toBe(source.id);
  });

  it('runs checks 1–6 in order with their messages', async () => {
    const { f, backupId, restore } = await setup();
    const target = await f.share(MEMBER, { size: 2 });
    expect((await f.call('POST', `/v2/share-backups/${UNKNOWN}/action`, { body: { restore: target.id } })).status).toBe(404);
    expect((await restore(target.id, OTHER)).status).toBe(403);
    expect((await restore(target.id, READER)).status).toBe(403);
    expect((await restore('not-a-uuid')).status).toBe(400);
    expect((await restore('')).status).toBe(400);
    expect((await restore(42)).status).toBe(400);
    expect((await restore(UNKNOWN)).status).toBe(404);
    const stranger = await f.share(OTHER, { size: 2 });
    expect((await restore(stranger.id)).status).toBe(403);
    const small = await f.share(MEMBER, { size: 1 });
    expect((await restore(small.id)).json.badRequest.message).toBe('Share size 1 is too small to restore backup of size 2.');
    const cifs = await f.share(MEMBER, { size: 2, share_proto: 'CIFS' });
    expect((await restore(cifs.id)).json.badRequest.message).toMatch(/CIFS/);
    await f.repository.updateShare(target.id, { set: { status: 'error' } });
    expect((await restore(target.id)).json.badRequest.message).toMatch(/available/);
    await f.repository.updateBackup(backupId, { set: { status: 'error' } });
    expect((await restore(small.id)).json.badRequest.message).toBe(`Backup ${backupId} status must be available.`);
  });

  it('a driver without support_restore_to_target refuses another share, accepts the source', async () => {
    const f = createFixture();
    const source = await f.share(MEMBER, { size: 2 });
    const backupId = await f.backup(source.id, MEMBER, { backup_options: { backup_type: 'legacy' } });
    const target = await f.share(MEMBER, { size: 2 });
    const refused = await f.call('POST', `/v2/share-backups/${backupId}/action`, { body: { restore: target.id } });
    expect(refused.json.badRequest.message).toMatch(/support_restore_to_target/);
    expect((await f.call('POST', `/v2/share-backups/${backupId}/action`, { body: { restore: null } })).status).toBe(202);
  });

  it('20 concurrent restores onto one target: exactly one 202', async () => {
    const { f, restore } = await setup();
    const target = await f.share(MEMBER, { size: 2 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => restore(target.id)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400)).toHaveLength(19);
    expect(f.starter.restores).toHaveLength(1);
  });

  it('undoes the claim when the workflow cannot start (500)', async () => {
    const { f, backupId, restore } = await setup();
    const target = await f.share(MEMBER, { size: 2 });
    f.starter.fail = true;
    expect((await restore(target.id)).json.computeFault.code).toBe(500);
    expect(await f.repository.getShare(target.id)).toMatchObject({ status: 'available' });
    expect(await f.repository.getBackup(backupId)).toMatchObject({ status: 'available' });
    expect(f.repository.restores.size).toBe(0);
  });

  it('creates a share from a backup: size default, too small 400, create_share workflow', async () => {
    const { f, source, backupId } = await setup();
    expect((await f.call('POST', '/v2/shares', { body: { share: { backup_id: backupId, size: 1 } } })).status).toBe(400);
    expect((await f.call('POST', '/v2/shares', { body: { share: { backup_id: UNKNOWN } } })).status).toBe(404);
    const res = await f.call('POST', '/v2/shares', { body: { share: { backup_id: backupId, name: 'copy' } } });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json.share).toMatchObject({ size: 2, share_proto: 'NFS', source_backup_id: backupId, status: 'backup_restoring' });
    expect(f.starter.restores[0]).toMatchObject({ kind: 'create_share', share_id: res.json.share.id, source_share_id: source.id });
    const second = await f.call('POST', '/v2/shares', { body: { share: { backup_id: backupId } } });
    expect(second.json.badRequest.message).toBe(`Backup ${backupId} status must be available.`);
    expect(f.repository.shares.size).toBe(2);
  });
});

describe('sizes are measured', () => {
  it('a 1 GiB share\'s backup that holds 2 GiB says so, and every restore onto 1 GiB is refused with both figures', async () => {
    const f = createFixture();
    const source = await f.share(MEMBER, { size: 1 });
    const id = await f.backup(source.id);
    // what the copier's final write records for a backup of 2 GiB written into the 1 GiB share
    await f.repository.updateBackup(id, { set: { files: 2, bytes: 2 * 1024 ** 3 } });
    expect((await f.call('GET', `/v2/share-backups/${id}`)).json.share_backup).toMatchObject({ size: 2, files: 2, bytes: 2 * 1024 ** 3 });
    const message = `Share size 1 GiB (1073741824 bytes) is too small to restore backup ${id}: it holds 2147483648 bytes (2 GiB), more than its declared size of 1 GiB.`;
    // in place
    const inPlace = await f.call('POST', `/v2/share-backups/${id}/action`, { body: { restore: null } });
    expect(inPlace.status).toBe(400);
    expect(inPlace.json.badRequest.message).toBe(message);
    // out of place
    const target = await f.share(MEMBER, { size: 1 });
    expect((await f.call('POST', `/v2/share-backups/${id}/action`, { body: { restore: target.id } })).json.badRequest.message)
      .toBe(message);
    // a new share from the backup: refused at 1 GiB, and its default size is what the backup needs
    expect((await f.call('POST', '/v2/shares', { body: { share: { backup_id: id, size: 1 } } })).json.badRequest.message).toBe(message);
    expect(f.starter.restores).toEqual([]);
    const big = await f.share(MEMBER, { size: 2 });
    expect((await f.call('POST', `/v2/share-backups/${id}/action`, { body: { restore: big.id } })).status).toBe(202);
    await f.repository.updateBackup(id, { set: { status: 'available' }, remove: ['active_restore_id'] });
    const fits = await f.call('POST', '/v2/shares', { body: { share: { backup_id: id } } });
    expect(fits.status).toBe(202);
    expect(fits.json.share.size).toBe(2);
  });
});

describe('reports (ext)', () => {
  const entry = (operationId: string, seq: number) => ({
    operation_id: operationId, seq, path: `dir/f${seq}`, what: 'xattrs', action: 'not-kept', why: `EOPNOTSUPP on entry ${seq}`,
  });

  it('a backup\'s report pages by seq with a next link, counts its warnings, and says when it is truncated', async () => {
    const f = createFixture();
    const share = await f.share();
    const id = await f.backup(share.id);
    await f.repository.updateBackup(id, { set: { warnings: 5 } });
    f.repository.reports.set(id, [
      { operation_id: id, seq: 0, reported: 5, stored: 3, truncated: true },
      entry(id, 1), entry(id, 2), entry(id, 3),
    ]);
    const first = await f.call('GET', `/v2/share-backups/${id}/report`, { query: { limit: '2' } });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ warnings: 5, truncated: true });
    expect(first.json.report).toEqual([
      { seq: 1, path: 'dir/f1', what: 'xattrs', action: 'not-kept', why: 'EOPNOTSUPP on entry 1' },
      { seq: 2, path: 'dir/f2', what: 'xattrs', action: 'not-kept', why: 'EOPNOTSUPP on entry 2' },
    ]);
    const next = new URL(first.json.report_links[0].href);
    expect(next.searchParams.get('offset')).toBe('2');
    const second = await f.call('GET', `/v2/share-backups/${id}/report`, { query: { limit: '2', offset: '2' } });
    expect(second.json.report.map((e: { seq: number }) => e.seq)).toEqual([3]);
    expect(second.json.report_links).toBeUndefined();
    // the warnings count is on the backup itself, beside "available"
    expect((await f.call('GET', `/v2/share-backups/${id}`)).json.share_backup).toMatchObject({ status: 'available', warnings: 5 });
  });

  it('a restore\'s report, with its tenancy: reader may read, another project 403, unknown 404, bad paging 400', async () => {
    const f = createFixture();
    const share = await f.share();
    const backupId = await f.backup(share.id);
    const restore = await f.call('POST', `/v2/share-backups/${backupId}/action`, { body: { restore: null } });
    const restoreId = restore.json.restore.restore_id as string;
    f.repository.restores.set(restoreId, { ...f.repository.restores.get(restoreId)!, warnings: 1 });
    f.repository.reports.set(restoreId, [entry(restoreId, 1), { operation_id: restoreId, seq: 0, reported: 1, stored: 1, truncated: false }]);
    const read = await f.call('GET', `/v2/share-restores/${restoreId}/report`, { identity: READER });
    expect(read.status).toBe(200);
    expect(read.json).toEqual({ report: [expect.objectContaining({ seq: 1 })], warnings: 1, truncated: false });
    expect((await f.call('GET', `/v2/share-restores/${restoreId}`)).json.share_restore.warnings).toBe(1);
    expect((await f.call('GET', `/v2/share-restores/${restoreId}/report`, { identity: OTHER })).status).toBe(403);
    expect((await f.call('GET', `/v2/share-restores/${UNKNOWN}/report`)).status).toBe(404);
    expect((await f.call('GET', `/v2/share-backups/${UNKNOWN}/report`)).status).toBe(404);
    expect((await f.call('GET', `/v2/share-restores/${restoreId}/report`, { query: { limit: '-1' } })).json.badRequest.code).toBe(400);
    // no report items at all: empty, not truncated; a count without a summary (copier killed) is truncated
    const noReport = await f.call('GET', `/v2/share-backups/${backupId}/report`);
    expect(noReport.json).toEqual({ report: [], warnings: 0, truncated: false });
    await f.repository.updateBackup(backupId, { set: { warnings: 2 } });
    expect((await f.call('GET', `/v2/share-backups/${backupId}/report`)).json.truncated).toBe(true);
  });
});

describe('no input gives a 500', () => {
  it('random methods, paths, bodies and headers always get a well-formed non-500 answer', async () => {
    const f = createFixture();
    const share = await f.share(MEMBER, { size: 2 });
    const backupId = await f.backup(share.id);
    const ids = fc.constantFrom(share.id, backupId, UNKNOWN, 'not-a-uuid', '', '%E0%A4%A', '..', 'detail');
    // weighted towards requests that reach the operations: valid routes, ids, identities and versions
    const path = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom('shares', 'share-backups', 'share-restores'), ids, fc.constantFrom('', '/action', '/action', '/export_locations', '/x'))
        .map(([c, id, tail]) => `/v2/${c}/${id}${tail}`) },
      // issue 20's routes: share types, share metadata
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('types', 'shares'), fc.oneof(ids, fc.constant('5b9c8d7e-0a1f-4c3b-9e2d-6f1a2b3c4d5e'), fc.constant('default')),
        fc.constantFrom('', '/extra_specs', '/extra_specs/snapshot_support', '/metadata', '/metadata/k', '/metadata/%E0', '/action'))
        .map(([c, id, tail]) => `/v2/${c}/${id}${tail}`) },
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('/v2', '/v2/alpha', '/v2/beta', '/'), fc.constantFrom('', '/shares', '/share-backups', '/share-backups/detail', '/shares/detail', '/share-restores'))
        .map(([a, b]) => `${a}${b}`) },
      { weight: 1, arbitrary: fc.webPath() },
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.string().map((s) => ({ raw: s })),
      fc.jsonValue().map((v) => ({ json: v })),
      fc.constantFrom(null, 0, 'x', [], true, {}).map((v) => ({ json: v })),
      fc.record({
        key: fc.constantFrom('share', 'share_backup', 'restore', 'extend', 'shrink', 'reset_status', 'os-extend', 'reset_task_state', 'metadata', 'share_type'),
        value: fc.oneof(fc.jsonValue(), fc.constantFrom(null, 'x', 3, [], {}), fc.record({ share_id: fc.oneof(ids, fc.jsonValue()), new_size: fc.oneof(fc.integer(), fc.jsonValue()),
          status: fc.oneof(fc.constantFrom('available', 'error', 'creating'), fc.jsonValue()), size: fc.oneof(fc.integer(), fc.jsonValue()),
          share_proto: fc.oneof(fc.constantFrom('NFS', 'cifs'), fc.jsonValue()), backup_id: fc.oneof(ids, fc.jsonValue()), name: fc.jsonValue(),
          backup_options: fc.oneof(fc.record({ backup_type: fc.oneof(fc.constantFrom('nfs', 'legacy'), fc.jsonValue()) }), fc.jsonValue()),
          task_state: fc.oneof(fc.constantFrom(null, 'migration_error'), fc.jsonValue()), metadata: fc.jsonValue(), k: fc.jsonValue(),
          share_type: fc.oneof(fc.constantFrom('default', 'nope', UNKNOWN), fc.jsonValue()), is_public: fc.jsonValue() }, { requiredKeys: [] })),
      }).map(({ key, value }) => ({ json: { [key]: value } })),
    );
    const identity = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom<Identity | null>(MEMBER, ADMIN) },
      { weight: 2, arbitrary: fc.constantFrom<Identity | null>(READER, OTHER, null, { project: 'alpha', roles: 12 }, { project: 'alpha', roles: '["admin"' },
        { project: 'alpha', roles: '[ admin ]' }, { project: 'a/../b', roles: '[member]' }, { project: 'alpha', roles: '[1 2]' }) },
    );
    const headers = fc.option(fc.dictionary(fc.constantFrom('x-openstack-manila-api-version', 'X-OpenStack-Manila-API-Experimental', 'content-type'),
      fc.oneof(fc.string(), fc.constantFrom('2.79', '2.80', '2.90', '2.91', 'latest', '1.0', '2.'))), { nil: undefined });
    const query = fc.option(fc.dictionary(fc.constantFrom('limit', 'offset', 'sort_key', 'sort_dir', 'all_tenants', 'share_id', 'status', 'name',
      'name~', 'is_soft_deleted', 'is_public', 'metadata', 'extra_specs', 'with_count', 'share_type_id', 'snapshot_id', 'export_location_path', 'q'),
      fc.oneof(fc.string(), fc.constantFrom('1', '0', 'name', 'asc', share.id, "{'k': 'v'}", '{"k": 1}', "{'k': 'v',}"))), { nil: undefined });
    await fc.assert(fc.asyncProperty(
      fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('PATCH', 'HEAD', 'OPTIONS', 'get') }),
      path, body, identity, headers, query,
      async (method, p, b, who, h, q) => {
        const rawBody = b === undefined ? undefined : 'raw' in b ? b.raw : JSON.stringify(b.json);
        const res = await f.call(method, p, { identity: who, rawBody, headers: h ?? {}, query: q });
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          const keys = Object.keys(res.json);
          expect(keys).toHaveLength(1);
          expect(res.json[keys[0]!].code).toBe(res.status);
        }
      },
    ), { numRuns: 1500 });
  });
});

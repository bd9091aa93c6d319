// Issue 20: share types created through the API, on DynamoDB Local (the run's shared engine,
// test/integration/global-setup.ts): the DynamoShareTypeCatalog's name claims
// (functions/adapters/share-type-catalog.ts) and the API handler over it. Two concurrent creates of
// one name: one 200, one 409 (Manila's ShareTypeExists → HTTPConflict, manila/api/v2/share_types.py _create).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsHttpClient, DYNAMODB } from '../../functions/adapters/aws-http.ts';
import { DynamoRepository } from '../../functions/adapters/repository.ts';
import { DynamoShareTypeCatalog, nameClaimId, ShareTypeCatalogError } from '../../functions/adapters/share-type-catalog.ts';
import type { WorkflowStarter } from '../../functions/adapters/starter.ts';
import { LocalStorageBackend } from '../../functions/adapters/storage-local.ts';
import type { ApiDependencies } from '../../functions/api/context.ts';
import { DEFAULT_DRIVER_CONFIG } from '../../functions/domain/drivers.ts';
import { DEFAULT_SHARE_TYPE_CONFIG, SERVICE_EXTRA_SPECS, type StoredShareType } from '../../functions/domain/share-types.ts';
import { createTables } from '../../local/dynamodb-local.ts';
import { tableNames } from '../../local/env.ts';
import { ADMIN, callApi, MEMBER } from '../unit/helpers/manila-api.ts';

const DHSS = { driver_handles_share_servers: 'False' };

let tables: ReturnType<typeof tableNames>;
let db: AwsHttpClient;
let catalog: DynamoShareTypeCatalog;
let deps: ApiDependencies;
let root: string;

beforeAll(async () => {
  const endpoint = inject('dynamodbEndpoint') ?? process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('no DynamoDB Local endpoint (test/integration/global-setup.ts)');
  tables = tableNames(`st-${randomBytes(4).toString('hex')}-`);
  await createTables(endpoint, tables);
  const env = { AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  db = new AwsHttpClient(DYNAMODB, env);
  catalog = new DynamoShareTypeCatalog(DEFAULT_SHARE_TYPE_CONFIG, tables.shareTypes, db);
  root = mkdtempSync(join(tmpdir(), 'share-type-catalog-'));
  deps = {
    repository: new DynamoRepository(tables, db),
    shareTypeCatalog: catalog,
    starter: {} as WorkflowStarter,
    storage: new LocalStorageBackend(root),
    settings: { drivers: DEFAULT_DRIVER_CONFIG, availabilityZone: 'nova', backupQuota: 10, shareTypes: DEFAULT_SHARE_TYPE_CONFIG },
  };
}, 60_000);
afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

/** The API handler over the DynamoDB catalog; `target` may carry a query string. At 2.91, as an admin unless told. */
function call(method: string, target: string, body?: unknown, claims: Record<string, unknown> = ADMIN) {
  const [path, query] = target.split('?') as [string, string | undefined];
  return callApi(deps, method, path, { body, claims, version: '2.91', ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}) });
}

/** Every item of the table, claims included. */
async function rawIds(): Promise<string[]> {
  const out = await db.json<{ Items: { id: { S: string } }[] }>('DynamoDB_20120810.Scan', { TableName: tables.shareTypes, ConsistentRead: true });
  return out.Items.map((item) => item.id.S).sort();
}

describe('share types on DynamoDB Local', () => {
  it('two concurrent creates of one name: one 200, one 409; one type item and one name claim', async () => {
    const body = { share_type: { name: 'race', extra_specs: DHSS } };
    const answers = await Promise.all([call('POST', '/v2/admin/types', body), call('POST', '/v2/admin/types', body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const created = answers.find((a) => a.status === 200)!.json.share_type;
    expect(answers.find((a) => a.status === 409)!.json.conflictingRequest.message).toBe('Share Type race already exists.');
    expect(await rawIds()).toEqual([created.id, nameClaimId('race')].sort());
    // lists skip the claim item
    expect((await catalog.listStored()).map((t) => t.name)).toEqual(['race']);
    expect((await call('GET', '/v2/admin/types?is_public=all')).json.share_types.map((t: { name: string }) => t.name)).toEqual(['default', 'race']);
    expect((await call('DELETE', `/v2/admin/types/${created.id}`)).status).toBe(202);
    expect(await rawIds()).toEqual([]);
  });

  it('a rename moves the claim in one transaction; the old name is free, the new one taken; delete removes both', async () => {
    const a = (await call('POST', '/v2/admin/types', { share_type: { name: 'a', extra_specs: DHSS } })).json.share_type;
    const b = (await call('POST', '/v2/admin/types', { share_type: { name: 'b', extra_specs: DHSS } })).json.share_type;
    expect((await call('PUT', `/v2/admin/types/${a.id}`, { share_type: { name: 'b' } })).status).toBe(409);
    const renamed = await call('PUT', `/v2/admin/types/${a.id}`, { share_type: { name: 'c', description: 'moved' } });
    expect(renamed.status).toBe(200);
    expect(renamed.json.share_type).toMatchObject({ name: 'c', description: 'moved' });
    expect(await rawIds()).toEqual([a.id, b.id, nameClaimId('b'), nameClaimId('c')].sort());
    // a share of the renamed type shows its current name
    const share = await call('POST', '/v2/alpha/shares', { share: { share_proto: 'NFS', size: 1, share_type: 'c' } }, MEMBER);
    expect(share.status).toBe(202);
    expect((await call('DELETE', `/v2/admin/types/${a.id}`)).status).toBe(400);
    expect((await call('PUT', `/v2/admin/types/${a.id}`, { share_type: { name: 'd' } })).status).toBe(200);
    expect((await call('GET', `/v2/alpha/shares/${share.json.share.id}`, undefined, MEMBER)).json.share.share_type_name).toBe('d');
    expect((await call('DELETE', `/v2/alpha/shares/${share.json.share.id}`, undefined, MEMBER)).status).toBe(202);
    expect((await call('DELETE', `/v2/admin/types/${a.id}`)).status).toBe(202);
    expect((await call('DELETE', `/v2/admin/types/${b.id}`)).status).toBe(202);
    expect(await rawIds()).toEqual([]);
  });

  it('extra specs and project access as map paths and a string set: conditions give Manila\'s 404 and 409', async () => {
    const type: StoredShareType = {
      id: '0b5a2d1e-3c4f-4a6b-8c7d-9e0f1a2b3c4d', name: 'private', description: null, is_public: false,
      extra_specs: { ...SERVICE_EXTRA_SPECS }, projects: [], created_at: '2026-01-01T00:00:00Z',
    };
    await catalog.create(type);
    await catalog.setExtraSpecs(type.id, { 'capabilities:tier': 'gold', 'a.b': 'c' });
    expect((await catalog.getStored(type.id))!.extra_specs).toMatchObject({ 'capabilities:tier': 'gold', 'a.b': 'c' });
    await catalog.deleteExtraSpec(type.id, 'a.b');
    await expect(catalog.deleteExtraSpec(type.id, 'a.b')).rejects.toMatchObject({ kind: 'spec_missing' });
    await catalog.addProjectAccess(type.id, 'alpha');
    await expect(catalog.addProjectAccess(type.id, 'alpha')).rejects.toMatchObject({ kind: 'access_exists' });
    await catalog.addProjectAccess(type.id, 'beta');
    expect((await catalog.getStored(type.id))!.projects).toEqual(['alpha', 'beta']);
    expect((await call('GET', `/v2/alpha/types/${type.id}`, undefined, MEMBER)).status).toBe(200);
    await catalog.removeProjectAccess(type.id, 'alpha');
    await catalog.removeProjectAccess(type.id, 'beta');
    await expect(catalog.removeProjectAccess(type.id, 'beta')).rejects.toMatchObject({ kind: 'access_missing' });
    expect((await catalog.getStored(type.id))!.projects).toEqual([]);
    expect((await call('GET', `/v2/alpha/types/${type.id}`, undefined, MEMBER)).status).toBe(404);
    const missing = '1b5a2d1e-3c4f-4a6b-8c7d-9e0f1a2b3c4d';
    await expect(catalog.setExtraSpecs(missing, { a: 'b' })).rejects.toBeInstanceOf(ShareTypeCatalogError);
    await expect(catalog.addProjectAccess(missing, 'alpha')).rejects.toMatchObject({ kind: 'type_missing' });
    await catalog.delete(type);
    await expect(catalog.delete(type)).rejects.toMatchObject({ kind: 'type_missing' });
    expect(await rawIds()).toEqual([]);
  });
  it('a delete\'s mark and the in-use look: a share of the type is found by a consistent scan; a marked type refuses new shares; the mark lifts', async () => {
    const created = await call('POST', '/v2/admin/types', { share_type: { name: 'marked', extra_specs: DHSS } });
    const id = created.json.share_type.id as string;
    expect(await deps.repository.hasShareOfType(id)).toBe(false);
    const share = await call('POST', '/v2/alpha/shares', { share: { share_proto: 'NFS', size: 1, share_type: id } }, MEMBER);
    expect(share.status).toBe(202);
    expect(await deps.repository.hasShareOfType(id)).toBe(true);
    expect((await call('DELETE', `/v2/admin/types/${id}`)).status).toBe(400);
    expect((await catalog.getStored(id))!.deleting_since).toBeUndefined();
    await catalog.markDeleting(id, '2026-12-05T00:00:00Z');
    expect((await catalog.getStored(id))!.deleting_since).toBe('2026-12-05T00:00:00Z');
    expect((await call('POST', '/v2/alpha/shares', { share: { share_proto: 'NFS', size: 1, share_type: id } }, MEMBER)).status).toBe(400);
    await catalog.clearDeleting(id);
    await expect(catalog.markDeleting('2b5a2d1e-3c4f-4a6b-8c7d-9e0f1a2b3c4d', 'now')).rejects.toMatchObject({ kind: 'type_missing' });
    await catalog.clearDeleting('2b5a2d1e-3c4f-4a6b-8c7d-9e0f1a2b3c4d');
    expect((await call('DELETE', `/v2/alpha/shares/${share.json.share.id}`, undefined, MEMBER)).status).toBe(202);
    await waitUntil(async () => !(await deps.repository.hasShareOfType(id)));
    expect((await call('DELETE', `/v2/admin/types/${id}`)).status).toBe(202);
    expect(await rawIds()).toEqual([]);
  });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in 5 s');
}

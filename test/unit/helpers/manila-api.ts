// The API handler with an in-memory repository, a starter that starts nothing and a local storage
// backend: what manila-compat, tempest-share-backups and manilaclient-backup-sequences call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { onTestFinished } from 'vitest';
import { InMemoryRepository } from '../../../functions/adapters/repository-memory.ts';
import { InMemoryShareTypeCatalog } from '../../../functions/adapters/share-type-catalog-memory.ts';
import type { WorkflowStarter } from '../../../functions/adapters/starter.ts';
import { LocalStorageBackend } from '../../../functions/adapters/storage-local.ts';
import type { ApiDependencies } from '../../../functions/api/context.ts';
import { handleRequest } from '../../../functions/api/handler.ts';
import { DEFAULT_DRIVER_CONFIG } from '../../../functions/domain/drivers.ts';
import { DEFAULT_SHARE_TYPE_ID, parseShareTypeConfig, type ShareTypeConfig } from '../../../functions/domain/share-types.ts';

export const MEMBER = { sub: 'user-alpha', project_id: 'alpha', roles: ['member', 'reader'] };
export const ADMIN = { sub: 'user-admin', project_id: 'admin', roles: ['admin', 'member', 'reader'] };

export const GOLD_ID = '11111111-2222-4333-8444-555555555555';
export const SECRET_ID = '66666666-7777-4888-8999-aaaaaaaaaaaa';
export const TWO_TYPES: ShareTypeConfig = parseShareTypeConfig({
  default_type: 'default',
  types: [
    { id: DEFAULT_SHARE_TYPE_ID, name: 'default' },
    { id: GOLD_ID, name: 'gold', description: 'the fast one', extra_specs: { 'capabilities:tier': 'gold' } },
    { id: SECRET_ID, name: 'secret', is_public: false },
  ],
});

export type Claims = Record<string, unknown>;

export interface CallOptions {
  claims?: Claims | null;
  body?: unknown;
  version?: string;
  query?: Record<string, string>;
  /** extra request headers, lower-cased as API Gateway passes them */
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect free-form JSON
  json: any;
}

/** One request through the API handler, as API Gateway (HTTP API, JWT authorizer) passes it; claims MEMBER unless given (null: none). */
export async function callApi(deps: ApiDependencies, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const claims = options.claims === undefined ? MEMBER : options.claims;
  const event = {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { host: 'api.test', ...(options.version ? { 'x-openstack-manila-api-version': options.version } : {}), ...(options.headers ?? {}) },
    queryStringParameters: options.query,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      authorizer: claims === null ? undefined : { jwt: { claims, scopes: [] } },
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
  const res = await handleRequest(event, () => deps);
  const json: unknown = typeof res.body === 'string' && res.body !== '' ? JSON.parse(res.body) : undefined;
  return { status: res.statusCode ?? 0, headers: (res.headers ?? {}) as Record<string, string>, json };
}

export function apiFixture(shareTypes: ShareTypeConfig = TWO_TYPES) {
  const root = mkdtempSync(join(tmpdir(), 'manila-api-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const repository = new InMemoryRepository();
  const started: { kind: 'backup' | 'restore'; input: unknown }[] = [];
  const starter: WorkflowStarter = {
    startRestore: async (input: unknown) => { started.push({ kind: 'restore', input }); return 'arn:restore'; },
    startBackup: async (input: unknown) => { started.push({ kind: 'backup', input }); return 'arn:backup'; },
  } as WorkflowStarter;
  // configured types from shareTypes, the ones an admin creates through the API kept in memory
  const shareTypeCatalog = new InMemoryShareTypeCatalog(shareTypes);
  const deps: ApiDependencies = {
    repository, starter, shareTypeCatalog, storage: new LocalStorageBackend(root),
    settings: { drivers: DEFAULT_DRIVER_CONFIG, availabilityZone: 'nova', backupQuota: 10, shareTypes },
  };
  const call = (method: string, path: string, options: CallOptions = {}) => callApi(deps, method, path, options);
  const createShare = async (extra: Record<string, unknown> = {}, claims: Claims = MEMBER) => {
    const res = await call('POST', `/v2/${String(claims.project_id)}/shares`, { claims, body: { share: { share_proto: 'NFS', size: 1, ...extra } } });
    if (res.status !== 202) throw new Error(`share create: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json.share;
  };
  /** what the backup workflow does when it succeeds: backup available, its share available again */
  const completeBackup = async (backupId: string) => {
    const backup = await repository.getBackup(backupId);
    if (!backup) throw new Error(`no backup ${backupId}`);
    await repository.updateBackup(backupId, { set: { status: 'available', progress: '100' } });
    await repository.updateShare(backup.share_id, { set: { status: 'available' }, remove: ['active_backup_id'] });
  };
  return { call, createShare, completeBackup, repository, started, shareTypeCatalog };
}

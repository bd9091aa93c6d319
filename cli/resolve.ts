// Name-or-ID arguments, as OpenStack's find_resource: an ID that exists wins; otherwise the name
// must match exactly one resource of the caller's.
import { ApiError, CliError, type ShareClient } from './client.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ResourceKind {
  /** in messages: "share", "backup" */
  noun: string;
  /** collection path: /shares, /share-backups */
  collection: string;
  /** body keys of a single record and of a list */
  one: string;
  many: string;
}

export const SHARE: ResourceKind = { noun: 'share', collection: '/shares', one: 'share', many: 'shares' };
export const BACKUP: ResourceKind = { noun: 'backup', collection: '/share-backups', one: 'share_backup', many: 'share_backups' };

export type ApiRecord = Record<string, unknown> & { id: string };

/** Returns the record (detail view) that `nameOrId` designates, or fails with a sentence that says why. */
export async function findResource(client: ShareClient, kind: ResourceKind, nameOrId: string): Promise<ApiRecord> {
  if (UUID.test(nameOrId)) {
    try {
      const body = await client.request<Record<string, ApiRecord>>('GET', `${kind.collection}/${encodeURIComponent(nameOrId)}`);
      return body[kind.one]!;
    } catch (err) {
      // a 403 (another project's) or a 401 is the answer; a 404 may still be a name that looks like an ID
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  const body = await client.request<Record<string, ApiRecord[]>>('GET', `${kind.collection}/detail?name=${encodeURIComponent(nameOrId)}`);
  const matches = body[kind.many] ?? [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError(`No ${kind.noun} with a name or ID of '${nameOrId}' exists.`);
  const listed = matches.map((m) => m.id).sort().join(', ');
  throw new CliError(`More than one ${kind.noun} exists with the name '${nameOrId}' (${listed}); use an ID.`);
}

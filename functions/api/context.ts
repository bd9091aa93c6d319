// What an operation receives and returns: the parsed request and the injected dependencies.
import type { Repository } from '../adapters/repository.ts';
import { catalogSnapshot, type ShareTypeCatalog } from '../adapters/share-type-catalog.ts';
import { InMemoryShareTypeCatalog } from '../adapters/share-type-catalog-memory.ts';
import type { WorkflowStarter } from '../adapters/starter.ts';
import type { StorageBackend } from '../adapters/storage.ts';
import type { DriverConfig } from '../domain/drivers.ts';
import { DEFAULT_SHARE_TYPE_CONFIG, type ShareTypeConfig, type ShareTypeSnapshot } from '../domain/share-types.ts';
import type { Microversion } from '../domain/microversion.ts';
import type { Caller } from '../domain/policy.ts';
import type { QueryParams } from '../domain/listing.ts';

export interface ApiSettings {
  drivers: DriverConfig;
  availabilityZone: string;
  backupQuota: number;
  /** configured share types; absent means the one `default` type */
  shareTypes?: ShareTypeConfig;
}

export function shareTypesOf(settings: ApiSettings): ShareTypeConfig {
  return settings.shareTypes ?? DEFAULT_SHARE_TYPE_CONFIG;
}

export interface ApiDependencies {
  repository: Repository;
  /** configured and stored share types; absent: the configured ones (settings.shareTypes) and nothing stored */
  shareTypeCatalog?: ShareTypeCatalog;
  starter: WorkflowStarter;
  storage: StorageBackend;
  settings: ApiSettings;
  /** ISO 8601 UTC; injectable for tests */
  now?: () => string;
  newId?: () => string;
}

const fallbackCatalogs = new WeakMap<ApiDependencies, ShareTypeCatalog>();

/** The share type catalog of these dependencies (one per dependencies object). */
export function shareTypeCatalogOf(deps: ApiDependencies): ShareTypeCatalog {
  if (deps.shareTypeCatalog) return deps.shareTypeCatalog;
  let catalog = fallbackCatalogs.get(deps);
  if (!catalog) {
    catalog = new InMemoryShareTypeCatalog(shareTypesOf(deps.settings));
    fallbackCatalogs.set(deps, catalog);
  }
  return catalog;
}

const snapshots = new WeakMap<OperationContext, Promise<ShareTypeSnapshot>>();

/** Configured and stored share types as this request sees them: read once per request (one Scan), however many shares it shows. */
export function shareTypeSnapshot(ctx: OperationContext): Promise<ShareTypeSnapshot> {
  let snapshot = snapshots.get(ctx);
  if (!snapshot) {
    snapshot = catalogSnapshot(shareTypeCatalogOf(ctx.deps));
    snapshots.set(ctx, snapshot);
  }
  return snapshot;
}

export interface OperationContext {
  caller: Caller;
  version: Microversion;
  /** path parameters, e.g. { id } */
  params: Record<string, string>;
  query: QueryParams;
  /** the parsed JSON body; undefined when there was none */
  body: unknown;
  /** absolute URL of the API root used for links: https://host/v2 or https://host/v2/<project> */
  baseUrl: string;
  /** the request URL without its query, for next links */
  requestUrl: string;
  deps: ApiDependencies;
  now(): string;
  newId(): string;
}

export interface OperationResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Operation = (ctx: OperationContext) => Promise<OperationResult>;

/** A `<collection>_links` entry pointing at the next page (api.md "Lists"). */
export function nextLinks(ctx: OperationContext, collection: string, nextOffset: number | undefined): Record<string, unknown> {
  if (nextOffset === undefined) return {};
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(ctx.query ?? {})) if (v !== undefined && k !== 'offset') query.set(k, v);
  query.set('offset', String(nextOffset));
  return { [`${collection}_links`]: [{ rel: 'next', href: `${ctx.requestUrl}?${query.toString()}` }] };
}

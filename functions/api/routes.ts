// The route table: method + path pattern → operation. Paths are relative to /v2 or
// /v2/{project_id}; ":id" segments must be UUIDs (a malformed id in a path is a 404).
import { listBackupDrivers } from './backup-drivers.ts';
import { backupAction, createBackup, deleteBackup, listBackups, listBackupsDetail, showBackup, updateBackup } from './backups.ts';
import type { Operation } from './context.ts';
import {
  deleteShareMetadataItem, listShareMetadata, mergeShareMetadata, replaceShareMetadata, setShareMetadataItem, showShareMetadataItem,
} from './share-metadata.ts';
import { showBackupReport, showRestoreReport } from './reports.ts';
import {
  createShareType, createShareTypeExtraSpecs, deleteShareType, deleteShareTypeExtraSpec, listShareTypeAccess, listShareTypeExtraSpecs,
  listShareTypes, shareTypeAction, showDefaultShareType, showShareType, showShareTypeExtraSpec, updateShareType, updateShareTypeExtraSpec,
} from './share-types.ts';
import { listRestores, showRestore } from './restores.ts';
import {
  createShare, deleteShare, listShares, listSharesDetail, shareAction, shareExportLocation, shareExportLocations, showShare, updateShare,
} from './shares.ts';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** segments after /v2[/{project_id}], ":id" a path parameter */
  pattern: readonly string[];
  operation: Operation;
  /** Manila's share backup API: 2.80+ */
  backupApi?: boolean;
  /** what the :id names, for the 404 of a malformed id */
  resource: 'Share' | 'Backup' | 'Restore' | 'Share type';
}

const r = (method: Route['method'], path: string, operation: Operation, resource: Route['resource'], backupApi = false): Route => ({
  method, pattern: path.split('/'), operation, resource, backupApi,
});

export const ROUTES: readonly Route[] = [
  r('GET', 'shares', listShares, 'Share'),
  r('POST', 'shares', createShare, 'Share'),
  r('GET', 'shares/detail', listSharesDetail, 'Share'),
  r('GET', 'shares/:id', showShare, 'Share'),
  r('PUT', 'shares/:id', updateShare, 'Share'),
  r('DELETE', 'shares/:id', deleteShare, 'Share'),
  r('POST', 'shares/:id/action', shareAction, 'Share'),
  r('GET', 'shares/:id/export_locations', shareExportLocations, 'Share'),
  r('GET', 'shares/:id/export_locations/:location_id', shareExportLocation, 'Share'),
  r('GET', 'shares/:id/metadata', listShareMetadata, 'Share'),
  r('POST', 'shares/:id/metadata', mergeShareMetadata, 'Share'),
  r('PUT', 'shares/:id/metadata', replaceShareMetadata, 'Share'),
  r('GET', 'shares/:id/metadata/:key', showShareMetadataItem, 'Share'),
  r('PUT', 'shares/:id/metadata/:key', setShareMetadataItem, 'Share'),
  r('DELETE', 'shares/:id/metadata/:key', deleteShareMetadataItem, 'Share'),
  r('GET', 'share-backups', listBackups, 'Backup', true),
  r('POST', 'share-backups', createBackup, 'Backup', true),
  r('GET', 'share-backups/detail', listBackupsDetail, 'Backup', true),
  r('GET', 'share-backups/:id', showBackup, 'Backup', true),
  r('PUT', 'share-backups/:id', updateBackup, 'Backup', true),
  r('DELETE', 'share-backups/:id', deleteBackup, 'Backup', true),
  r('POST', 'share-backups/:id/action', backupAction, 'Backup', true),
  r('GET', 'share-backups/:id/report', showBackupReport, 'Backup', true),
  // (ext) the drivers' restore capabilities, for clients that show restore targets before asking
  r('GET', 'backup-drivers', listBackupDrivers, 'Backup', true),
  // Manila's share types (manila/api/v2/router.py: mapper.resource("type", "types", ...) with the member
  // routes action, share_type_access and os-share-type-access (GET), and its extra_specs child)
  r('GET', 'types', listShareTypes, 'Share type'),
  r('POST', 'types', createShareType, 'Share type'),
  r('GET', 'types/default', showDefaultShareType, 'Share type'),
  r('GET', 'types/:id', showShareType, 'Share type'),
  r('PUT', 'types/:id', updateShareType, 'Share type'),
  r('DELETE', 'types/:id', deleteShareType, 'Share type'),
  r('POST', 'types/:id/action', shareTypeAction, 'Share type'),
  r('GET', 'types/:id/share_type_access', listShareTypeAccess, 'Share type'),
  r('GET', 'types/:id/os-share-type-access', listShareTypeAccess, 'Share type'),
  r('GET', 'types/:id/extra_specs', listShareTypeExtraSpecs, 'Share type'),
  r('POST', 'types/:id/extra_specs', createShareTypeExtraSpecs, 'Share type'),
  r('GET', 'types/:id/extra_specs/:key', showShareTypeExtraSpec, 'Share type'),
  r('PUT', 'types/:id/extra_specs/:key', updateShareTypeExtraSpec, 'Share type'),
  r('DELETE', 'types/:id/extra_specs/:key', deleteShareTypeExtraSpec, 'Share type'),
  r('GET', 'share-restores', listRestores, 'Restore'),
  r('GET', 'share-restores/:id', showRestore, 'Restore'),
  r('GET', 'share-restores/:id/report', showRestoreReport, 'Restore'),
];

/** The first segments that name a collection; anything else after /v2 is a project id. */
const COLLECTIONS = new Set(ROUTES.map((route) => route.pattern[0]!));

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string>; projectId: string | undefined }
  | { kind: 'versions' }
  | { kind: 'version' }
  | { kind: 'openapi' }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

function matchPattern(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = segments[i]!;
    else if (p !== segments[i]) return undefined;
  }
  return params;
}

/** Static segments beat parameters: GET shares/detail is the detail list, not a share "detail". */
const specificity = (route: Route) => route.pattern.filter((p) => !p.startsWith(':')).length;

export function matchRoute(method: string, rawPath: string): RouteMatch {
  let segments: string[];
  try {
    segments = rawPath.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'not_found' };
  }
  const upper = method.toUpperCase();
  if (segments.length === 0) return upper === 'GET' || upper === 'HEAD' ? { kind: 'versions' } : { kind: 'method_not_allowed', allowed: ['GET'] };
  if (segments[0] !== 'v2') return { kind: 'not_found' };
  if (segments.length === 1) return upper === 'GET' || upper === 'HEAD' ? { kind: 'version' } : { kind: 'method_not_allowed', allowed: ['GET'] };
  // the API's OpenAPI document (openapi.ts); a project id never has a dot (PROJECT_ID_PATTERN)
  if (segments.length === 2 && segments[1] === 'openapi.json') {
    return upper === 'GET' || upper === 'HEAD' ? { kind: 'openapi' } : { kind: 'method_not_allowed', allowed: ['GET'] };
  }
  let rest = segments.slice(1);
  let projectId: string | undefined;
  if (!COLLECTIONS.has(rest[0]!)) {
    projectId = rest[0];
    rest = rest.slice(1);
  }
  const candidates = ROUTES
    .map((route) => ({ route, params: matchPattern(route.pattern, rest) }))
    .filter((c): c is { route: Route; params: Record<string, string> } => c.params !== undefined);
  if (candidates.length === 0) return { kind: 'not_found' };
  const allowed = candidates.filter((c) => c.route.method === upper).sort((a, b) => specificity(b.route) - specificity(a.route));
  const chosen = allowed[0];
  if (!chosen) return { kind: 'method_not_allowed', allowed: [...new Set(candidates.map((c) => c.route.method))] };
  return { kind: 'route', route: chosen.route, params: chosen.params, projectId };
}

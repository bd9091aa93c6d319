// Views: records → Manila's JSON (api.md field lists, exactly).
import { createHash } from 'node:crypto';
import type { BackupRecord, ReportItem, RestoreRecord, ShareRecord } from '../domain/records.ts';
import { backupSizeGiB } from '../domain/rules.ts';
import { atLeast, type Microversion } from '../domain/microversion.ts';
import { defaultShareType, findCatalogType, type ShareTypeSnapshot } from '../domain/share-types.ts';

/** What a share's view needs beyond the record. */
export interface ShareViewContext {
  /** configured and stored share types, read once for the request */
  shareTypes: ShareTypeSnapshot;
  version: Microversion;
  /** for the share's links */
  baseUrl: string;
}

const since = (view: ShareViewContext, minor: number) => atLeast(view.version, { major: 2, minor });

/**
 * The share's type: the recorded one, or the default for a share recorded before types existed. The
 * name is the type's name now, so a renamed type shows its new name (Manila joins the type at read time).
 */
function shareTypeOf(share: ShareRecord, view: ShareViewContext) {
  const type = share.share_type_id === undefined ? defaultShareType(view.shareTypes.config) : findCatalogType(view.shareTypes, share.share_type_id);
  // a type removed from the configuration after shares were made of it: its id stays, its name is unknown
  return { id: type?.id ?? share.share_type_id ?? null, name: type?.name ?? null };
}

/** A stable id for a share's one export location (Manila gives export locations their own ids). */
export function exportLocationId(shareId: string): string {
  const hex = createHash('sha256').update(`export-location:${shareId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function exportLocations(share: ShareRecord) {
  return share.export_path ? [{ id: exportLocationId(share.id), path: share.export_path, preferred: true }] : [];
}

export function links(baseUrl: string, collection: string, id: string) {
  return [
    { rel: 'self', href: `${baseUrl}/${collection}/${id}` },
    { rel: 'bookmark', href: `${baseUrl.replace(/\/v2(\/[^/]+)?$/, '')}/${collection}/${id}` },
  ];
}

export function shareSummary(share: ShareRecord, baseUrl: string) {
  return { id: share.id, name: share.name, links: links(baseUrl, 'shares', share.id) };
}

/**
 * Manila's share view at the requested microversion (manila/api/views/shares.py ViewBuilder.detail
 * and its versioned modifiers), with what this service knows truthfully: no snapshots, replicas,
 * groups, share networks or encryption here, so those fields are false or null. This service's own
 * fields (user_id, task_state, source_backup_id, updated_at, export_locations) are kept at every
 * version: clients of this service read them, and Manila clients ignore fields they do not know.
 */
export function shareDetail(share: ShareRecord, view: ShareViewContext) {
  const type = shareTypeOf(share, view);
  const locations = exportLocations(share);
  return {
    id: share.id,
    name: share.name,
    description: share.description,
    status: share.status,
    size: share.size,
    share_proto: share.share_proto,
    project_id: share.project_id,
    user_id: share.user_id,
    availability_zone: share.availability_zone,
    created_at: share.created_at,
    updated_at: share.updated_at,
    source_backup_id: share.source_backup_id ?? null,
    task_state: share.task_state ?? null,
    export_locations: locations,
    metadata: { ...(share.metadata ?? {}) },
    links: links(view.baseUrl, 'shares', share.id),
    is_public: false,
    snapshot_id: null,
    share_network_id: null,
    // before 2.6 share_type is the type's name; from 2.6 its id, the name in share_type_name
    // (modify_share_type_field); volume_type stays the name at every version
    share_type: since(view, 6) ? type.id : type.name,
    ...(since(view, 6) ? { share_type_name: type.name } : {}),
    volume_type: type.name,
    ...(since(view, 9) ? {} : { export_location: locations[0]?.path ?? null }),
    ...(since(view, 2) ? { snapshot_support: false } : {}),
    ...(since(view, 10) ? { access_rules_status: 'active' } : {}),
    ...(since(view, 11) ? { replication_type: null, has_replicas: false } : {}),
    ...(since(view, 24) ? { create_share_from_snapshot_support: false } : {}),
    ...(since(view, 27) ? { revert_to_snapshot_support: false } : {}),
    ...(since(view, 31) ? { share_group_id: null, source_share_group_snapshot_member_id: null } : {}),
    ...(since(view, 32) ? { mount_snapshot_support: false } : {}),
    // a share is made whole when it is created (or by its restore, which has its own progress)
    ...(since(view, 54) ? { progress: share.status === 'creating' ? '0%' : '100%' } : {}),
    ...(since(view, 69) ? { is_soft_deleted: false, scheduled_to_be_deleted_at: null } : {}),
    ...(since(view, 90) ? { encryption_key_ref: null } : {}),
  };
}

export function backupSummary(backup: BackupRecord) {
  return { id: backup.id, name: backup.name, share_id: backup.share_id, status: backup.status };
}

export function backupDetail(backup: BackupRecord, admin: boolean, version: Microversion) {
  return {
    id: backup.id,
    share_id: backup.share_id,
    status: backup.status,
    name: backup.name,
    description: backup.description,
    // Manila's size is the source share's; a backup that holds more than that (a backend that did
    // not enforce the share's size) reports what it needs, so no restore onto the declared size fails
    size: backupSizeGiB(backup),
    availability_zone: backup.availability_zone,
    created_at: backup.created_at,
    updated_at: backup.updated_at,
    progress: backup.progress,
    restore_progress: backup.restore_progress,
    // Manila adds it from 2.85 (manila/api/views/share_backups.py add_backup_type_field)
    ...(atLeast(version, { major: 2, minor: 85 }) ? { backup_type: backup.backup_type } : {}),
    // (ext) what the backup could not keep, counted: a backup with losses is never silently
    // "available" (its report lists them); and what it holds, measured when it completed (null for
    // a backup still running or taken before the copier measured)
    warnings: backup.warnings ?? 0,
    files: backup.files ?? null,
    bytes: backup.bytes ?? null,
    ...(admin ? { host: backup.host, topic: backup.topic } : {}),
  };
}

export function restoreView(restore: RestoreRecord, admin: boolean) {
  return {
    id: restore.id,
    backup_id: restore.backup_id,
    share_id: restore.share_id,
    source_share_id: restore.source_share_id,
    status: restore.status,
    phase: restore.phase,
    files_total: restore.files_total ?? 0,
    files_done: restore.files_done ?? 0,
    bytes_total: restore.bytes_total ?? 0,
    bytes_done: restore.bytes_done ?? 0,
    eta_seconds: restore.eta_seconds ?? null,
    fail_reason: restore.fail_reason ?? null,
    warnings: restore.warnings ?? 0,
    created_at: restore.created_at,
    updated_at: restore.updated_at,
    finished_at: restore.finished_at ?? null,
    ...(admin ? { execution_id: restore.execution_id ?? null } : {}),
  };
}

/** One report entry as the report routes show it (copier/progress/report.ts ReportEntry, plus its seq). */
export function reportEntryView(item: ReportItem) {
  return {
    seq: item.seq,
    path: item.path,
    what: item.what,
    action: item.action,
    why: item.why,
    ...(item.moved_to !== undefined ? { moved_to: item.moved_to } : {}),
  };
}

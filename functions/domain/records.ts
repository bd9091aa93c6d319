// The records kept in DynamoDB, one table each (see docs/developer-reference.md "Tables").
// Field names are the API's snake_case so a record maps onto Manila's views without renaming.

export const SHARE_STATUSES = [
  'creating', 'available', 'error', 'deleting', 'error_deleting', 'extending', 'shrinking',
  'backup_creating', 'backup_restoring', 'backup_restoring_error',
] as const;
export type ShareStatus = (typeof SHARE_STATUSES)[number];

export const BACKUP_STATUSES = ['creating', 'available', 'error', 'restoring', 'deleting', 'error_deleting'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];
/** Statuses an admin may set with a backup's reset_status (api.md). */
export const BACKUP_RESET_STATUSES = ['creating', 'available', 'deleting', 'error', 'error_deleting'] as const;

export const RESTORE_STATUSES = ['accepted', 'running', 'succeeded', 'failed'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];

export type ShareProto = 'NFS' | 'CIFS';

export interface ShareRecord {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  status: ShareStatus;
  /** GiB */
  size: number;
  share_proto: ShareProto;
  availability_zone: string;
  created_at: string;
  updated_at: string;
  source_backup_id: string | null;
  task_state: string | null;
  /** the share type's id (functions/domain/share-types.ts); absent on shares made before types existed, read as the default type */
  share_type_id?: string;
  /** Manila's share metadata: string keys and values (absent on shares made before it was kept) */
  metadata?: Record<string, string>;
  /** storage backend that holds the share ("local" | "efs") */
  backend: string;
  /** where the share is mounted: locally the absolute directory, on AWS the NFS mount path */
  export_path: string;
  /** the backend's handle on the share's root: locally the share id, on AWS the EFS access point id */
  access_point_id: string;
  /** set while a restore owns the share (status backup_restoring); the workflow's conditions key on it */
  active_restore_id?: string;
  /** set while a backup of the share runs (status backup_creating) */
  active_backup_id?: string;
}

export interface BackupRecord {
  id: string;
  project_id: string;
  user_id: string;
  share_id: string;
  /** protocol of the source share when the backup was taken */
  share_proto: ShareProto;
  status: BackupStatus;
  name: string | null;
  description: string | null;
  /** GiB: the source share's size when the backup was taken (as Manila) */
  size: number;
  availability_zone: string;
  created_at: string;
  updated_at: string;
  /** "0".."100", Manila's string */
  progress: string;
  /** "0".."100", Manila's string */
  restore_progress: string;
  /** the backup driver's name */
  backup_type: string;
  host: string;
  topic: string;
  backend: string;
  /** the backend's handle on the backup's root (manifest.jsonl + data/) */
  access_point_id: string;
  active_restore_id?: string;
  fail_reason?: string;
  /** progress of the copier while the backup is taken (same fields as a restore) */
  phase?: string;
  files_total?: number;
  files_done?: number;
  bytes_total?: number;
  bytes_done?: number;
  /** report entries of the backup run (what it could not keep); the copier's final write makes it exact */
  warnings?: number;
  /** measured by the copier when the backup completed: regular files and their bytes the backup holds */
  files?: number;
  bytes?: number;
}

export interface RestoreRecord {
  id: string;
  project_id: string;
  user_id: string;
  backup_id: string;
  share_id: string;
  source_share_id: string;
  /** "restore" onto an existing share, or "create_share" (POST /v2/shares with backup_id) */
  kind: 'restore' | 'create_share';
  status: RestoreStatus;
  phase: string;
  files_total: number;
  files_done: number;
  bytes_total: number;
  bytes_done: number;
  eta_seconds: number | null;
  fail_reason: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  execution_id: string | null;
  /** set by the workflow when the copy step starts: from then on, bytes may have been written */
  copy_started?: boolean;
  /** report entries of the restore (what it could not keep, moved aside or repaired) */
  warnings?: number;
}

/** One entry of a backup's or restore's report (copier/progress/report.ts ReportEntry, keyed for the reports table). */
export interface ReportItem {
  /** the backup id or the restore id */
  operation_id: string;
  /** 1, 2, 3… in the order the copier reported */
  seq: number;
  path: string;
  what: string;
  action: string;
  why: string;
  moved_to?: string;
}

/** The reports table's item at seq 0, written when the copier closes its report. */
export interface ReportSummary {
  operation_id: string;
  seq: 0;
  /** entries the copier reported (the record's warnings) */
  reported: number;
  /** entries it stored (at most the cap; fewer when writes were lost) */
  stored: number;
  /** true when entries beyond the cap were counted but not stored */
  truncated: boolean;
}

// An in-memory Repository with the same conditional semantics as DynamoRepository, for handler
// tests of routing, validation and error shapes (the real engine is exercised by integration
// tests against DynamoDB Local).
import type { BackupRecord, ReportItem, ReportSummary, RestoreRecord, ShareRecord } from '../domain/records.ts';
import {
  ConditionFailedError, backupClaimUpdate, backupReleaseUpdate, restoreClaimUpdates, restoreReleaseUpdates,
  type Repository, type RestoreClaim, type UpdateSpec,
} from './repository.ts';

type Row = { id: string; project_id: string; status: string };

function holds<T>(row: T | undefined, spec: UpdateSpec<T>): row is T {
  if (!row) return false;
  const record = row as Record<string, unknown>;
  if (spec.fromStatuses && !spec.fromStatuses.includes(String(record.status))) return false;
  return Object.entries(spec.expect ?? {}).every(([k, v]) => record[k] === v);
}

function applied<T>(row: T, spec: UpdateSpec<T>): T {
  const next = { ...row } as Record<string, unknown>;
  for (const [k, v] of Object.entries(spec.set ?? {})) if (v !== undefined) next[k] = v;
  for (const k of spec.remove ?? []) delete next[k];
  return next as T;
}

export class InMemoryRepository implements Repository {
  readonly shares = new Map<string, ShareRecord>();
  readonly backups = new Map<string, BackupRecord>();
  readonly restores = new Map<string, RestoreRecord>();
  /** the reports table: operation id → its items (entries from seq 1, the summary at seq 0) */
  readonly reports = new Map<string, Array<ReportItem | ReportSummary>>();

  async listReport(operationId: string, afterSeq: number, limit: number): Promise<ReportItem[]> {
    return (this.reports.get(operationId) ?? [])
      .filter((item): item is ReportItem => item.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, Math.max(0, limit))
      .map((item) => structuredClone(item));
  }

  async getReportSummary(operationId: string): Promise<ReportSummary | undefined> {
    const summary = (this.reports.get(operationId) ?? []).find((item): item is ReportSummary => item.seq === 0);
    return InMemoryRepository.copy(summary);
  }

  private static copy<T>(v: T | undefined): T | undefined {
    return v === undefined ? undefined : structuredClone(v);
  }

  async getShare(id: string) { return InMemoryRepository.copy(this.shares.get(id)); }
  async getBackup(id: string) { return InMemoryRepository.copy(this.backups.get(id)); }
  async getRestore(id: string) { return InMemoryRepository.copy(this.restores.get(id)); }

  private static list<T extends Row>(map: Map<string, T>, projectId: string | undefined): T[] {
    return [...map.values()].filter((r) => projectId === undefined || r.project_id === projectId).map((r) => structuredClone(r));
  }

  async listShares(projectId: string | undefined) { return InMemoryRepository.list(this.shares, projectId); }
  async listBackups(projectId: string | undefined) { return InMemoryRepository.list(this.backups, projectId); }
  async hasShareOfType(shareTypeId: string) { return [...this.shares.values()].some((s) => s.share_type_id === shareTypeId); }
  async listRestores(projectId: string | undefined) { return InMemoryRepository.list(this.restores, projectId); }

  async countBackups(projectId: string) { return InMemoryRepository.list(this.backups, projectId).length; }
  async countShareBackups(share: Pick<ShareRecord, 'id' | 'project_id'>) {
    return InMemoryRepository.list(this.backups, share.project_id).filter((b) => b.share_id === share.id).length;
  }

  async putShare(share: ShareRecord) {
    if (this.shares.has(share.id)) throw new ConditionFailedError(`share ${share.id} exists`);
    this.shares.set(share.id, structuredClone(share));
  }

  private static update<T extends Row>(map: Map<string, T>, id: string, spec: UpdateSpec<T>): T {
    const row = map.get(id);
    if (!holds(row, spec)) throw new ConditionFailedError(`update ${id}: condition failed`);
    const next = applied(row, spec);
    map.set(id, next);
    return structuredClone(next);
  }

  async updateShare(id: string, spec: UpdateSpec<ShareRecord>) { return InMemoryRepository.update(this.shares, id, spec); }
  async updateBackup(id: string, spec: UpdateSpec<BackupRecord>) { return InMemoryRepository.update(this.backups, id, spec); }

  private static remove<T extends Row>(map: Map<string, T>, id: string, fromStatuses: readonly string[]) {
    const row = map.get(id);
    if (!row || !fromStatuses.includes(row.status)) throw new ConditionFailedError(`delete ${id}: condition failed`);
    map.delete(id);
  }

  async deleteShare(id: string, fromStatuses: readonly string[]) { InMemoryRepository.remove(this.shares, id, fromStatuses); }
  async deleteBackup(id: string, fromStatuses: readonly string[]) { InMemoryRepository.remove(this.backups, id, fromStatuses); }

  async claimBackup(backup: BackupRecord, now: string) {
    const spec = backupClaimUpdate(backup, now);
    if (this.backups.has(backup.id) || !holds(this.shares.get(backup.share_id), spec)) {
      throw new ConditionFailedError(`claim share ${backup.share_id}`);
    }
    this.backups.set(backup.id, structuredClone(backup));
    InMemoryRepository.update(this.shares, backup.share_id, spec);
  }

  async releaseBackupClaim(backup: BackupRecord, now: string) {
    const spec = backupReleaseUpdate(backup, now);
    if (this.backups.get(backup.id)?.status !== 'creating' || !holds(this.shares.get(backup.share_id), spec)) {
      throw new ConditionFailedError(`release backup claim ${backup.id}`);
    }
    this.backups.delete(backup.id);
    InMemoryRepository.update(this.shares, backup.share_id, spec);
  }

  async claimRestore(claim: RestoreClaim) {
    const { backup, share } = restoreClaimUpdates(claim);
    const { restore } = claim;
    if (!holds(this.backups.get(restore.backup_id), backup) || !holds(this.shares.get(restore.share_id), share) || this.restores.has(restore.id)) {
      throw new ConditionFailedError(`claim restore ${restore.id}`);
    }
    InMemoryRepository.update(this.backups, restore.backup_id, backup);
    InMemoryRepository.update(this.shares, restore.share_id, share);
    this.restores.set(restore.id, structuredClone(restore));
  }

  async releaseRestoreClaim(claim: RestoreClaim) {
    const { backup, share } = restoreReleaseUpdates(claim);
    const { restore } = claim;
    if (!holds(this.backups.get(restore.backup_id), backup) || !holds(this.shares.get(restore.share_id), share) || this.restores.get(restore.id)?.status !== 'accepted') {
      throw new ConditionFailedError(`release restore claim ${restore.id}`);
    }
    InMemoryRepository.update(this.backups, restore.backup_id, backup);
    InMemoryRepository.update(this.shares, restore.share_id, share);
    this.restores.delete(restore.id);
  }
}

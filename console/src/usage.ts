// What the shares page shows as "Used": the share API has no usage figure (Manila's share view has
// none, and EFS meters a file system, not one access point's directory), so the console shows what
// each share's latest available backup measured when it completed.

/** The fields of a backup this needs (a ShareBackup from GET /v2/share-backups/detail has them). */
export interface MeasuredBackup {
  share_id: string;
  status: string;
  created_at: string;
  bytes?: number | null;
  files?: number | null;
}

/**
 * Per share id, its latest (by created_at) available backup that has a measurement (bytes not
 * null). Backups in any other state, or taken before the copier measured, are left out.
 */
export function latestMeasuredBackups<B extends MeasuredBackup>(backups: readonly B[]): Map<string, B> {
  const latest = new Map<string, B>();
  for (const backup of backups) {
    if (backup.status !== 'available' || backup.bytes === null || backup.bytes === undefined) continue;
    const time = Date.parse(backup.created_at);
    if (Number.isNaN(time)) continue;
    const seen = latest.get(backup.share_id);
    if (!seen || Date.parse(seen.created_at) < time) latest.set(backup.share_id, backup);
  }
  return latest;
}

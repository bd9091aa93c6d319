// The checks of a restore's target share (api.md "Restore", checks 3 to 6), pure and free of Node
// APIs: the API runs them (rules.ts checkRestore, which re-exports them), and the web console runs
// the very same functions to show, before anything is sent, which shares a backup may be restored
// onto and why the others may not (restoreTargetEligibility), in the words the API would use.
import type { BackupDriver } from './drivers.ts';
import { ApiError, badRequest } from './errors.ts';
import type { BackupRecord, ShareProto, ShareRecord } from './records.ts';

export const GIB = 1024 ** 3;

/** What the size check reads of a backup: its (declared) size and its measured bytes, if any. */
export interface BackupSize {
  size: number;
  bytes?: number | null;
}

/** What the target checks read of a backup driver. */
export type DriverCapabilities = Pick<BackupDriver, 'name' | 'support_restore_to_target' | 'restore_protocols'>;

export const targetNotAvailable = (share: Pick<ShareRecord, 'id' | 'status'>) =>
  badRequest(`Share ${share.id} status must be available to restore onto it, not ${share.status}.`);

/**
 * The GiB a backup needs on the share it is restored onto: its declared size (the source share's
 * when it was taken, as Manila) or what it measurably holds, rounded up, whichever is more. A
 * backend that does not enforce a share's size (local; EFS has no per-directory quota) lets a
 * 1 GiB share hold 2 GiB, and its backup then holds 2 GiB too. A backup taken before the copier
 * measured has no `bytes`: its declared size is all there is to go by.
 */
export function backupSizeGiB(backup: BackupSize): number {
  const measured = typeof backup.bytes === 'number' && backup.bytes > 0 ? Math.ceil(backup.bytes / GIB) : 0;
  return Math.max(backup.size, measured);
}

/**
 * Check 4 of api.md "Restore": the target must be at least the backup's declared size (Manila's
 * rule and message, which clients match on), and hold at least the bytes the backup holds
 * (measured; the message gives both figures), whatever the declared sizes say.
 */
export function checkTargetSize(targetSize: number, backup: BackupSize & { id: string }): void {
  if (targetSize < backup.size) {
    throw badRequest(`Share size ${targetSize} is too small to restore backup of size ${backup.size}.`);
  }
  if (typeof backup.bytes === 'number' && backup.bytes > targetSize * GIB) {
    throw badRequest(
      `Share size ${targetSize} GiB (${targetSize * GIB} bytes) is too small to restore backup ${backup.id}: ` +
      `it holds ${backup.bytes} bytes (${backupSizeGiB(backup)} GiB), more than its declared size of ${backup.size} GiB.`,
    );
  }
}

export function checkRestoreProtocol(driver: DriverCapabilities, proto: ShareProto): void {
  if (!driver.restore_protocols.includes(proto)) {
    throw badRequest(`Backup driver ${driver.name} cannot restore onto a ${proto} share (it restores onto: ${driver.restore_protocols.join(', ') || 'nothing'}).`);
  }
}

export function checkRestoreToTarget(driver: DriverCapabilities, backup: Pick<BackupRecord, 'share_id'>, targetId: string): void {
  if (targetId !== backup.share_id && !driver.support_restore_to_target) {
    throw badRequest(`Backup driver ${driver.name} does not support restoring to another share (support_restore_to_target is false); restore onto the source share ${backup.share_id}.`);
  }
}

/** A share made from a backup (POST /v2/shares with backup_id) is another share than its source. */
export function checkRestoreToNewShare(driver: DriverCapabilities, backup: Pick<BackupRecord, 'id'>): void {
  if (!driver.support_restore_to_target) {
    throw badRequest(`Backup driver ${driver.name} does not support restoring to another share (support_restore_to_target is false), so it cannot create a share from backup ${backup.id}.`);
  }
}

export type RestoreTargetEligibility = { eligible: true } | { eligible: false; reason: string };

/**
 * Whether `target` may receive `backup` (checks 3 to 6 of api.md "Restore", in their order), and
 * if not, the API's own message for the first check that fails. The driver's checks (protocol,
 * restore to another share) run only when its capabilities are known.
 */
export function restoreTargetEligibility(
  backup: BackupSize & Pick<BackupRecord, 'id' | 'share_id'>,
  target: Pick<ShareRecord, 'id' | 'status' | 'size' | 'share_proto'>,
  driver?: DriverCapabilities,
): RestoreTargetEligibility {
  try {
    if (target.status !== 'available') throw targetNotAvailable(target);
    checkTargetSize(target.size, backup);
    if (driver) {
      checkRestoreProtocol(driver, target.share_proto);
      checkRestoreToTarget(driver, backup, target.id);
    }
    return { eligible: true };
  } catch (err) {
    if (err instanceof ApiError) return { eligible: false, reason: err.message };
    throw err;
  }
}

/**
 * Whether a new share may be made from `backup` as far as its driver goes, and if not, the API's
 * own message (rules.ts checkShareFromBackup). Eligible when the driver's capabilities are unknown.
 */
export function newShareEligibility(backup: Pick<BackupRecord, 'id'>, driver?: DriverCapabilities): RestoreTargetEligibility {
  try {
    if (driver) checkRestoreToNewShare(driver, backup);
    return { eligible: true };
  } catch (err) {
    if (err instanceof ApiError) return { eligible: false, reason: err.message };
    throw err;
  }
}

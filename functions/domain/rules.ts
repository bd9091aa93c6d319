// The domain's rules, pure: which statuses allow which action, and the checks of api.md in their
// order. Handlers read records, call these, and only then write (conditionally).
import type { BackupDriver, DriverConfig } from './drivers.ts';
import { findDriver } from './drivers.ts';
import { badRequest, forbidden, notFound, overLimit, type ApiError } from './errors.ts';
import { assertMay, assertOwns, type Caller } from './policy.ts';
import {
  BACKUP_RESET_STATUSES, SHARE_STATUSES,
  type BackupRecord, type BackupStatus, type ShareProto, type ShareRecord, type ShareStatus,
} from './records.ts';
import { GIB, backupSizeGiB, checkRestoreProtocol, checkRestoreToNewShare, checkRestoreToTarget, checkTargetSize, targetNotAvailable } from './restore-rules.ts';

// the restore target checks live in a module of their own (pure, no Node APIs) that the web
// console imports too; re-exported here, where the API's other checks are
export { GIB, backupSizeGiB, checkRestoreProtocol, checkRestoreToTarget, checkTargetSize, targetNotAvailable } from './restore-rules.ts';


/** Statuses a share or a backup may be deleted from (api.md). */
export const SHARE_DELETABLE: readonly ShareStatus[] = ['available', 'error'];
export const BACKUP_DELETABLE: readonly BackupStatus[] = ['available', 'error'];

export function assertShareStatus(share: ShareRecord, allowed: readonly ShareStatus[], action: string): void {
  if (!allowed.includes(share.status)) {
    throw badRequest(`Share ${share.id} status must be ${allowed.join(' or ')} to ${action}, not ${share.status}.`);
  }
}

export function assertBackupStatus(backup: BackupRecord, allowed: readonly BackupStatus[], action: string): void {
  if (!allowed.includes(backup.status)) {
    throw badRequest(`Backup ${backup.id} status must be ${allowed.join(' or ')} to ${action}, not ${backup.status}.`);
  }
}

export function parseShareStatus(value: string): ShareStatus {
  if (!(SHARE_STATUSES as readonly string[]).includes(value)) {
    throw badRequest(`Invalid share status "${value.slice(0, 40)}": valid statuses are ${SHARE_STATUSES.join(', ')}.`);
  }
  return value as ShareStatus;
}

export function parseBackupResetStatus(value: string): BackupStatus {
  if (!(BACKUP_RESET_STATUSES as readonly string[]).includes(value)) {
    throw badRequest(`Invalid backup status "${value.slice(0, 40)}": valid statuses are ${BACKUP_RESET_STATUSES.join(', ')}.`);
  }
  return value as BackupStatus;
}

export function checkShareDelete(share: ShareRecord, dependentBackups: number): void {
  assertShareStatus(share, SHARE_DELETABLE, 'delete it');
  // Manila's wording, kept so clients that match on it keep working.
  if (dependentBackups > 0) throw forbidden(`Share still has ${dependentBackups} dependent backups.`);
}

export function checkExtend(share: ShareRecord, newSize: number): void {
  assertShareStatus(share, ['available'], 'extend it');
  if (newSize <= share.size) {
    throw badRequest(`New size for extend must be greater than current size ${share.size} (new_size: ${newSize}).`);
  }
}

/** usedBytes undefined: the backend cannot measure the share, so a shrink could lose data unseen. */
export function checkShrink(share: ShareRecord, newSize: number, usedBytes: number | undefined): void {
  assertShareStatus(share, ['available'], 'shrink it');
  if (newSize >= share.size) {
    throw badRequest(`New size for shrink must be less than current size ${share.size} (new_size: ${newSize}).`);
  }
  if (usedBytes === undefined) {
    throw badRequest(`Share ${share.id} cannot be shrunk: its storage backend cannot measure the bytes it holds.`);
  }
  if (usedBytes > newSize * GIB) {
    throw badRequest(`Share ${share.id} holds ${usedBytes} bytes, more than the new size of ${newSize} GiB; shrinking would lose data.`);
  }
}

export function checkProtocolServed(proto: string, served: readonly ShareProto[]): ShareProto {
  const upper = proto.toUpperCase();
  if (!(served as readonly string[]).includes(upper)) {
    throw badRequest(`Invalid share_proto "${proto.slice(0, 40)}": this deployment serves ${served.join(', ')}.`);
  }
  return upper as ShareProto;
}

export function resolveDriver(drivers: DriverConfig, name: string | undefined): BackupDriver {
  const driver = findDriver(drivers, name);
  if (!driver) {
    throw badRequest(`Unknown backup_type "${String(name).slice(0, 60)}": configured drivers are ${drivers.drivers.map((d) => d.name).join(', ')}.`);
  }
  return driver;
}

export interface BackupCreateInput {
  caller: Caller;
  shareId: string;
  share: ShareRecord | undefined;
  /** backup_options.backup_type, absent: the default driver */
  backupType: string | undefined;
  drivers: DriverConfig;
  projectBackupCount: number;
  quota: number;
}

/** api.md "Share backups" create, in its order (after body validation). Returns the driver. */
export function checkBackupCreate(input: BackupCreateInput): BackupDriver {
  const { caller, share } = input;
  assertMay(caller, 'create', 'share_backup:create');
  if (!share) throw badRequest(`Share ${input.shareId} could not be found.`);
  assertOwns(caller, share, 'Share');
  if (share.status !== 'available') {
    throw badRequest(`Share ${share.id} status must be available to back it up, not ${share.status}.`);
  }
  const driver = resolveDriver(input.drivers, input.backupType);
  if (!driver.backup_protocols.includes(share.share_proto)) {
    throw badRequest(`Backup driver ${driver.name} cannot back up a ${share.share_proto} share (it backs up: ${driver.backup_protocols.join(', ') || 'nothing'}).`);
  }
  if (input.projectBackupCount >= input.quota) {
    throw overLimit(`Maximum number of backups allowed (${input.quota}) exceeded.`);
  }
  return driver;
}

export const backupNotAvailable = (backup: BackupRecord) => badRequest(`Backup ${backup.id} status must be available.`);

export interface RestoreCheckInput {
  caller: Caller;
  backupId: string;
  backup: BackupRecord | undefined;
  /** the share restored into: the body's target, or the backup's source share */
  targetId: string;
  target: ShareRecord | undefined;
  drivers: DriverConfig;
}

/** Checks 1–6 of api.md "Restore", in that order; throws the first that fails. Returns the driver. */
export function checkRestore(input: RestoreCheckInput): BackupDriver {
  const { caller, backup, target } = input;
  // 1. backup exists, is the caller's, caller may restore
  if (!backup) throw notFound(`Backup ${input.backupId} could not be found.`);
  assertOwns(caller, backup, 'Backup');
  assertMay(caller, 'restore', 'share_backup:restore');
  // 2. backup available
  if (backup.status !== 'available') throw backupNotAvailable(backup);
  // 3. target exists, is the caller's, available
  if (!target) throw notFound(`Share ${input.targetId} could not be found.`);
  assertOwns(caller, target, 'Share');
  if (target.status !== 'available') throw targetNotAvailable(target);
  // 4. size: the declared one (Manila's), then what the backup measurably holds
  checkTargetSize(target.size, backup);
  // 5. the driver restores onto this protocol
  const driver = resolveDriver(input.drivers, backup.backup_type);
  checkRestoreProtocol(driver, target.share_proto);
  // 6. another share needs support_restore_to_target
  checkRestoreToTarget(driver, backup, target.id);
  return driver;
}

/**
 * After a claim transaction was cancelled: which of checks 2/3 now fails, from freshly read records
 * (a concurrent second restore never gets 202; it learns why).
 */
export function explainClaimConflict(backup: BackupRecord | undefined, backupId: string, target: ShareRecord | undefined, targetId: string): ApiError {
  if (!backup) return notFound(`Backup ${backupId} could not be found.`);
  if (backup.status !== 'available') return backupNotAvailable(backup);
  if (!target) return notFound(`Share ${targetId} could not be found.`);
  if (target.status !== 'available' && target.status !== 'creating') return targetNotAvailable(target);
  return badRequest(`Backup ${backupId} or share ${targetId} changed while the restore was being claimed; try again.`);
}

export interface ShareFromBackupInput {
  caller: Caller;
  backupId: string;
  backup: BackupRecord | undefined;
  size: number | undefined;
  proto: string | undefined;
  drivers: DriverConfig;
  servedProtocols: readonly ShareProto[];
}

/** POST /v2/shares with backup_id (ext): the backup's checks, then size and protocol defaults. */
export function checkShareFromBackup(input: ShareFromBackupInput): { size: number; proto: ShareProto; driver: BackupDriver } {
  const { caller, backup } = input;
  if (!backup) throw notFound(`Backup ${input.backupId} could not be found.`);
  assertOwns(caller, backup, 'Backup');
  assertMay(caller, 'restore', 'share_backup:restore');
  if (backup.status !== 'available') throw backupNotAvailable(backup);
  const size = input.size ?? backupSizeGiB(backup);
  checkTargetSize(size, backup);
  const proto = checkProtocolServed(input.proto ?? backup.share_proto, input.servedProtocols);
  const driver = resolveDriver(input.drivers, backup.backup_type);
  checkRestoreProtocol(driver, proto);
  checkRestoreToNewShare(driver, backup);
  return { size, proto, driver };
}

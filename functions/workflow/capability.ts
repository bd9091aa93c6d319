// Pure rules the workflows check through the workflow Lambda: what a backup driver can do, and how
// a caught Step Functions error becomes the reason a user reads. No I/O here.
import { findDriver, type BackupDriver, type DriverConfig } from '../domain/drivers.ts';
import { describeStoppedTask, describeTimeout } from './stopped-task.ts';

/** Thrown when the backup's driver cannot do what the workflow asks; the ASL catches it by name. */
export class DriverCapabilityError extends Error {
  override name = 'DriverCapabilityError';
}

/** Thrown when the workflow Lambda is invoked with a payload it does not understand. */
export class InvalidWorkflowRequestError extends Error {
  override name = 'InvalidWorkflowRequestError';
}

export interface RestoreCapabilityRequest {
  backup_id: string;
  backup_type: string;
  backup_share_proto: string;
  /** the share the backup was taken from */
  backup_source_share_id: string;
  target_share_id: string;
  target_share_proto: string;
}

export interface BackupCapabilityRequest {
  backup_id: string;
  backup_type: string;
  share_id: string;
  share_proto: string;
}

function driverOf(config: DriverConfig, backupType: string, backupId: string): BackupDriver {
  const driver = findDriver(config, backupType);
  if (!driver) {
    throw new DriverCapabilityError(`Backup ${backupId} was taken by backup driver "${backupType}", which is not configured.`);
  }
  return driver;
}

/** Returns the driver when it can restore this backup onto the target share; throws DriverCapabilityError otherwise. */
export function checkRestoreCapability(config: DriverConfig, req: RestoreCapabilityRequest): BackupDriver {
  const driver = driverOf(config, req.backup_type, req.backup_id);
  const targetProto = req.target_share_proto.toUpperCase();
  if (req.target_share_id !== req.backup_source_share_id && !driver.support_restore_to_target) {
    throw new DriverCapabilityError(
      `Backup driver "${driver.name}" does not support restoring to a share other than the backup's source share ` +
      `(support_restore_to_target is false): backup ${req.backup_id} cannot be restored onto share ${req.target_share_id}.`,
    );
  }
  if (!(driver.restore_protocols as string[]).includes(targetProto)) {
    throw new DriverCapabilityError(
      `Backup driver "${driver.name}" cannot restore a ${req.backup_share_proto.toUpperCase()} backup onto a ${targetProto} share ` +
      `(it restores onto: ${driver.restore_protocols.join(', ') || 'none'}).`,
    );
  }
  return driver;
}

/** Returns the driver when it backs up this share's protocol; throws DriverCapabilityError otherwise. */
export function checkBackupCapability(config: DriverConfig, req: BackupCapabilityRequest): BackupDriver {
  const driver = driverOf(config, req.backup_type, req.backup_id);
  const proto = req.share_proto.toUpperCase();
  if (!(driver.backup_protocols as string[]).includes(proto)) {
    throw new DriverCapabilityError(
      `Backup driver "${driver.name}" cannot back up ${proto} share ${req.share_id} (it backs up: ${driver.backup_protocols.join(', ') || 'none'}).`,
    );
  }
  return driver;
}

/** A caught error as Step Functions hands it to a Catch: `{Error, Cause}` (Cause is usually a string, often JSON). */
export interface CaughtError {
  Error?: unknown;
  Cause?: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The reason a user reads for a caught error: a Lambda's errorMessage; how the copier's task
 * stopped, from the ECS task description (stopped-task.ts: a signal, out of memory, an exit code,
 * the copier's own reason); a time limit; otherwise "Error: Cause".
 */
export function describeError(caught: CaughtError): string {
  const error = typeof caught.Error === 'string' && caught.Error !== '' ? caught.Error : 'States.TaskFailed';
  if (error === 'States.Timeout' || error === 'States.HeartbeatTimeout') return describeTimeout(error);
  const cause = parseJson(caught.Cause);
  if (isObject(cause)) {
    if (typeof cause.errorMessage === 'string' && cause.errorMessage !== '') return cause.errorMessage;
    const reason = describeStoppedTask(cause);
    if (reason) return reason;
  }
  const text = typeof caught.Cause === 'string' ? caught.Cause : caught.Cause === undefined ? '' : JSON.stringify(caught.Cause);
  return text === '' ? error : `${error}: ${text}`;
}

// The workflow Lambda: the pure checks the state machines' Task states invoke (lambda:invoke,
// Payload {action, ...}). Errors carry a `name`, which Step Functions reports as the Error a Catch matches.
import { loadDriverConfig } from '../domain/drivers.ts';
import {
  checkBackupCapability, checkRestoreCapability, describeError, InvalidWorkflowRequestError,
  type BackupCapabilityRequest, type CaughtError, type RestoreCapabilityRequest,
} from './capability.ts';

// Read once per container: driver configuration is deployment configuration, not request data.
const driverConfig = loadDriverConfig(process.env);

export type WorkflowRequest =
  | ({ action: 'checkRestoreCapability' } & RestoreCapabilityRequest)
  | ({ action: 'checkBackupCapability' } & BackupCapabilityRequest)
  | ({ action: 'describeError'; error?: CaughtError } & CaughtError);

export type WorkflowResponse = { driver: string } | { reason: string };

function requireStrings(event: Record<string, unknown>, names: string[]): void {
  const missing = names.filter((n) => typeof event[n] !== 'string');
  if (missing.length > 0) throw new InvalidWorkflowRequestError(`${String(event.action)}: missing string field(s) ${missing.join(', ')}`);
}

export async function handler(event: WorkflowRequest): Promise<WorkflowResponse> {
  const raw = event as unknown as Record<string, unknown>;
  switch (event.action) {
    case 'checkRestoreCapability':
      requireStrings(raw, ['backup_id', 'backup_type', 'backup_share_proto', 'backup_source_share_id', 'target_share_id', 'target_share_proto']);
      return { driver: checkRestoreCapability(driverConfig, event).name };
    case 'checkBackupCapability':
      requireStrings(raw, ['backup_id', 'backup_type', 'share_id', 'share_proto']);
      return { driver: checkBackupCapability(driverConfig, event).name };
    case 'describeError':
      // The ASL passes the whole caught error as `error`; {Error, Cause} at the top level works too.
      return { reason: describeError(event.error ?? event) };
    default:
      throw new InvalidWorkflowRequestError(`unknown workflow action ${JSON.stringify(raw.action)}`);
  }
}

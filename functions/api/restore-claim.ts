// The restore claim (api.md "Restore", check 7) and the workflow start, shared by a restore onto a
// share and a share created from a backup.
import { ConditionFailedError, type RestoreClaim } from '../adapters/repository.ts';
import { internalFault } from '../domain/errors.ts';
import type { RestoreRecord, ShareRecord } from '../domain/records.ts';
import { explainClaimConflict } from '../domain/rules.ts';
import type { OperationContext } from './context.ts';
import { logger } from './observability.ts';

export interface RestoreRequest {
  backupId: string;
  target: ShareRecord;
  sourceShareId: string;
  kind: RestoreRecord['kind'];
  /** undoes what the caller prepared for this restore (a share created for it) when it is refused */
  onAbandon?: () => Promise<void>;
}

/**
 * How often a claim is re-tried when the re-read records still pass checks 2/3: a transaction can
 * be cancelled by a concurrent one that then fails itself, and the caller deserves a real answer.
 */
const CLAIM_ATTEMPTS = 3;

export async function claimRestoreAndStart(ctx: OperationContext, request: RestoreRequest): Promise<{ restore: RestoreRecord; share: ShareRecord }> {
  const { repository, starter } = ctx.deps;
  const { target } = request;
  const now = ctx.now();
  const restore: RestoreRecord = {
    id: ctx.newId(), project_id: target.project_id, user_id: ctx.caller.userId,
    backup_id: request.backupId, share_id: target.id, source_share_id: request.sourceShareId, kind: request.kind,
    status: 'accepted', phase: 'accepted', files_total: 0, files_done: 0, bytes_total: 0, bytes_done: 0,
    eta_seconds: null, fail_reason: null, created_at: now, updated_at: now, finished_at: null, execution_id: null,
  };
  const claim: RestoreClaim = { restore, targetFromStatus: request.kind === 'create_share' ? 'creating' : 'available', now };

  for (let attempt = 1; ; attempt++) {
    try {
      await repository.claimRestore(claim);
      break;
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
      const [backup, share] = await Promise.all([repository.getBackup(request.backupId), repository.getShare(target.id)]);
      const refusal = explainClaimConflict(backup, request.backupId, share, target.id);
      const stillPossible = refusal.code === 400 && backup?.status === 'available' && share?.status === claim.targetFromStatus;
      if (!stillPossible || attempt >= CLAIM_ATTEMPTS) {
        await request.onAbandon?.();
        throw refusal;
      }
    }
  }

  try {
    await starter.startRestore({
      restore_id: restore.id, backup_id: restore.backup_id, share_id: restore.share_id,
      source_share_id: restore.source_share_id, project_id: restore.project_id, kind: restore.kind,
    });
  } catch (err) {
    logger.error('could not start the restore workflow; releasing the claim', { restore_id: restore.id, error: err as Error });
    try {
      await repository.releaseRestoreClaim(claim);
      await request.onAbandon?.();
    } catch (releaseError) {
      logger.error('could not release the restore claim', { restore_id: restore.id, error: releaseError as Error });
    }
    throw internalFault(`The restore workflow could not be started (${(err as Error).name}); nothing was changed, try again.`);
  }
  const share: ShareRecord = { ...target, status: 'backup_restoring', active_restore_id: restore.id, source_backup_id: restore.backup_id, updated_at: now };
  return { restore, share };
}

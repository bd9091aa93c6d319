// Share backup operations (api.md "Share backups").
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConditionFailedError } from '../adapters/repository.ts';
import { badRequest, internalFault, notFound } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import { applyListQuery, parseListQuery } from '../domain/listing.ts';
import { atLeast, RESTORE_TARGET_MIN_VERSION } from '../domain/microversion.ts';
import { assertMay, assertOwns, isAdmin } from '../domain/policy.ts';
import type { BackupRecord } from '../domain/records.ts';
import { BACKUP_DELETABLE, assertBackupStatus, checkBackupCreate, checkRestore, parseBackupResetStatus } from '../domain/rules.ts';
import { nextLinks, type Operation, type OperationContext } from './context.ts';
import { logger, metrics } from './observability.ts';
import { claimRestoreAndStart } from './restore-claim.ts';
import {
  actionOf, backupCreateSchema, backupUpdateSchema, isPlainObject, resetStatusSchema, resourceOf, restoreOptionsSchema, validator,
} from './schemas.ts';
import { backupDetail, backupSummary } from './views.ts';

interface BackupCreateBody {
  share_id: string; name?: string | null; description?: string | null;
  backup_options?: { backup_type?: string } | null;
}

const validateCreate = validator<BackupCreateBody>(backupCreateSchema);
const validateUpdate = validator<{ name?: string | null; description?: string | null }>(backupUpdateSchema);
const validateResetStatus = validator<{ status: string }>(resetStatusSchema);
const validateRestoreOptions = validator<{ share_id?: string | null }>(restoreOptionsSchema);

const LIST_SPEC = {
  sortKeys: ['id', 'name', 'status', 'size', 'share_id', 'created_at', 'updated_at', 'availability_zone', 'backup_type', 'project_id', 'progress', 'restore_progress', 'host', 'topic'],
  // what manilaclient/osc/v2/share_backups.py ListShareBackup sends; anything else is a 400
  filterKeys: ['name', 'description', 'status', 'share_id'],
  inexactKeys: ['name', 'description'],
};

/** The backup `id`: 404 when there is none, 403 when it is another project's (an admin owns every one). */
export async function loadBackup(ctx: OperationContext, id: string): Promise<BackupRecord> {
  const backup = await ctx.deps.repository.getBackup(id);
  if (!backup) throw notFound(`Backup ${id} could not be found.`);
  assertOwns(ctx.caller, backup, 'Backup');
  return backup;
}

async function raced(ctx: OperationContext, id: string, action: string): Promise<never> {
  const now = await ctx.deps.repository.getBackup(id);
  if (!now) throw notFound(`Backup ${id} could not be found.`);
  throw badRequest(`Backup ${id} changed while trying to ${action}; its status is now ${now.status}.`);
}

const list = (detail: boolean): Operation => async (ctx) => {
  assertMay(ctx.caller, 'list', 'share_backup:get_all');
  const query = parseListQuery(ctx.query, LIST_SPEC);
  const shareId = query.filters.share_id;
  if (shareId !== undefined) {
    const share = isUuid(shareId) ? await ctx.deps.repository.getShare(shareId) : undefined;
    if (!share) throw badRequest(`Invalid share_id filter: share ${shareId.slice(0, 60)} could not be found.`);
    assertOwns(ctx.caller, share, 'Share');
  }
  const scope = query.allTenants && isAdmin(ctx.caller) ? undefined : ctx.caller.projectId;
  const page = applyListQuery(await ctx.deps.repository.listBackups(scope), query);
  const admin = isAdmin(ctx.caller);
  return {
    status: 200,
    body: {
      share_backups: page.items.map((b) => (detail ? backupDetail(b, admin, ctx.version) : backupSummary(b))),
      // Manila's view names it share_backup_links (manila/api/views/share_backups.py _collection_links)
      ...nextLinks(ctx, 'share_backup', page.nextOffset),
    },
  };
};

export const listBackups = list(false);
export const listBackupsDetail = list(true);

export const showBackup: Operation = async (ctx) => {
  const backup = await loadBackup(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share_backup:get');
  return { status: 200, body: { share_backup: backupDetail(backup, isAdmin(ctx.caller), ctx.version) } };
};

export const createBackup: Operation = async (ctx) => {
  const body = validateCreate(resourceOf(ctx.body, 'share_backup'), 'share_backup');
  const { repository, storage, starter, settings } = ctx.deps;
  const share = await repository.getShare(body.share_id);
  const driver = checkBackupCreate({
    caller: ctx.caller, shareId: body.share_id, share, backupType: body.backup_options?.backup_type ?? undefined,
    drivers: settings.drivers, projectBackupCount: share ? await repository.countBackups(share.project_id) : 0, quota: settings.backupQuota,
  });
  const source = share!;
  const id = ctx.newId();
  const now = ctx.now();
  const { access_point_id } = await storage.provisionBackup(id);
  const backup: BackupRecord = {
    id, project_id: source.project_id, user_id: ctx.caller.userId, share_id: source.id, share_proto: source.share_proto,
    status: 'creating', name: body.name ?? null, description: body.description ?? null, size: source.size,
    availability_zone: settings.availabilityZone, created_at: now, updated_at: now, progress: '0', restore_progress: '0',
    backup_type: driver.name, host: `share-backup@${driver.name}`, topic: driver.use_data_manager ? 'manila-data' : 'manila-share',
    backend: storage.name, access_point_id,
  };
  try {
    await repository.claimBackup(backup, now);
  } catch (err) {
    await storage.deleteBackup(backup).catch(() => undefined);
    if (!(err instanceof ConditionFailedError)) throw err;
    const current = await repository.getShare(source.id);
    if (!current) throw badRequest(`Share ${source.id} could not be found.`);
    throw badRequest(`Share ${source.id} status must be available to back it up, not ${current.status}.`);
  }
  try {
    await starter.startBackup({ backup_id: id, share_id: source.id, project_id: source.project_id });
  } catch (err) {
    logger.error('could not start the backup workflow; releasing the claim', { backup_id: id, error: err as Error });
    try {
      await repository.releaseBackupClaim(backup, ctx.now());
      await storage.deleteBackup(backup);
    } catch (releaseError) {
      logger.error('could not release the backup claim', { backup_id: id, error: releaseError as Error });
    }
    throw internalFault(`The backup workflow could not be started (${(err as Error).name}); nothing was changed, try again.`);
  }
  metrics.addMetric('BackupsStarted', MetricUnit.Count, 1);
  return { status: 202, body: { share_backup: backupDetail(backup, isAdmin(ctx.caller), ctx.version) } };
};

export const updateBackup: Operation = async (ctx) => {
  const body = validateUpdate(resourceOf(ctx.body, 'share_backup'), 'share_backup');
  const backup = await loadBackup(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share_backup:update');
  const updated = await ctx.deps.repository.updateBackup(backup.id, {
    set: {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      updated_at: ctx.now(),
    },
  }).catch((err) => (err instanceof ConditionFailedError ? raced(ctx, backup.id, 'update it') : Promise.reject(err)));
  return { status: 200, body: { share_backup: backupDetail(updated, isAdmin(ctx.caller), ctx.version) } };
};

export const deleteBackup: Operation = async (ctx) => {
  const backup = await loadBackup(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'delete', 'share_backup:delete');
  assertBackupStatus(backup, BACKUP_DELETABLE, 'delete it');
  const { repository, storage } = ctx.deps;
  await repository.updateBackup(backup.id, { set: { status: 'deleting', updated_at: ctx.now() }, fromStatuses: BACKUP_DELETABLE })
    .catch((err) => (err instanceof ConditionFailedError ? raced(ctx, backup.id, 'delete it') : Promise.reject(err)));
  try {
    await storage.deleteBackup(backup);
  } catch (err) {
    await repository.updateBackup(backup.id, { set: { status: 'error_deleting', updated_at: ctx.now() }, fromStatuses: ['deleting'] }).catch(() => undefined);
    throw err;
  }
  await repository.deleteBackup(backup.id, ['deleting']);
  return { status: 202 };
};

/**
 * The restore body's target (api.md "Restore"): null / {} → the source share; a string (2.91+) or
 * {"share_id"} → that share. Below 2.91 a string is ignored, as Manila does. A target that is not
 * a UUID is a 400.
 */
export function restoreTarget(value: unknown, ctx: Pick<OperationContext, 'version'>): string | undefined {
  let target: unknown;
  if (value === null) target = undefined;
  else if (typeof value === 'string') target = atLeast(ctx.version, RESTORE_TARGET_MIN_VERSION) ? value : undefined;
  else if (isPlainObject(value)) target = validateRestoreOptions(value, 'restore').share_id ?? undefined;
  else throw badRequest('Invalid input for field restore: must be null, a share id, or {"share_id": ...}.');
  if (target !== undefined && !isUuid(target)) {
    throw badRequest(`Invalid input for field restore: target share id "${String(target).slice(0, 60)}" is not a UUID.`);
  }
  return target as string | undefined;
}

const BACKUP_ACTIONS = ['restore', 'reset_status'];

export const backupAction: Operation = async (ctx) => {
  const { action, value } = actionOf(ctx.body, BACKUP_ACTIONS);
  const { repository, settings } = ctx.deps;
  if (action === 'reset_status') {
    const backup = await loadBackup(ctx, ctx.params.id!);
    assertMay(ctx.caller, 'reset_status', 'share_backup:reset_status');
    const status = parseBackupResetStatus(validateResetStatus(value, 'reset_status').status);
    await repository.updateBackup(backup.id, { set: { status, updated_at: ctx.now() } })
      .catch((err) => (err instanceof ConditionFailedError ? Promise.reject(notFound(`Backup ${backup.id} could not be found.`)) : Promise.reject(err)));
    return { status: 202 };
  }

  const requestedTarget = restoreTarget(value, ctx);
  const backupId = ctx.params.id!;
  const backup = await repository.getBackup(backupId);
  const targetId = requestedTarget ?? backup?.share_id ?? '';
  const target = backup && isUuid(targetId) ? await repository.getShare(targetId) : undefined;
  checkRestore({ caller: ctx.caller, backupId, backup, targetId, target, drivers: settings.drivers });
  const { restore } = await claimRestoreAndStart(ctx, { backupId, target: target!, sourceShareId: backup!.share_id, kind: 'restore' });
  metrics.addMetric('RestoresStarted', MetricUnit.Count, 1);
  return { status: 202, body: { restore: { backup_id: backupId, share_id: restore.share_id, restore_id: restore.id } } };
};

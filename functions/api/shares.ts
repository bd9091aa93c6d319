// Share operations (api.md "Shares").
import { ConditionFailedError } from '../adapters/repository.ts';
import { badRequest, notFound } from '../domain/errors.ts';
import { applyListQuery, parseBoolean, parseListQuery, parseStringDict } from '../domain/listing.ts';
import { atLeast, formatVersion, type Microversion } from '../domain/microversion.ts';
import { assertMay, assertOwns, isAdmin } from '../domain/policy.ts';
import type { ShareRecord } from '../domain/records.ts';
import {
  SHARE_DELETABLE, checkExtend, checkProtocolServed, checkShareDelete, checkShareFromBackup, checkShrink, parseShareStatus,
} from '../domain/rules.ts';
import { nextLinks, shareTypeCatalogOf, shareTypeSnapshot, type Operation, type OperationContext } from './context.ts';
import { claimRestoreAndStart } from './restore-claim.ts';
import { parseMetadata } from './share-metadata.ts';
import { actionOf, resetStatusSchema, resetTaskStateSchema, resizeSchema, resourceOf, shareCreateSchema, shareUpdateSchema, validator } from './schemas.ts';
import { exportLocations, shareDetail, shareSummary, type ShareViewContext } from './views.ts';
import { defaultShareType, findCatalogType, typeVisibleTo, type ShareType, type ShareTypeSnapshot, type StoredShareType } from '../domain/share-types.ts';

interface ShareCreateBody {
  share_proto?: string; size?: number; name?: string | null; description?: string | null;
  display_name?: string | null; display_description?: string | null; backup_id?: string;
  share_type?: string | null; volume_type?: string | null; is_public?: boolean; metadata?: unknown;
}
interface ShareUpdateBody {
  name?: string | null; description?: string | null; display_name?: string | null; display_description?: string | null; is_public?: boolean;
}

/**
 * What python-manilaclient's create may send that this service has no notion of (manilaclient/v2/shares.py
 * ShareManager.create: snapshot_id, share_network_id, share_group_id, scheduler_hints): absent or
 * null is fine, anything else is refused rather than ignored.
 */
const UNSUPPORTED_CREATE_FIELDS: Record<string, string> = {
  snapshot_id: 'snapshots are not offered by this service',
  share_network_id: 'shares here have no share networks (driver_handles_share_servers is False)',
  share_group_id: 'share groups are not offered by this service',
};

function refuseUnsupported(body: Record<string, unknown>): void {
  for (const [field, why] of Object.entries(UNSUPPORTED_CREATE_FIELDS)) {
    if (body[field] !== undefined && body[field] !== null) throw badRequest(`Invalid input for field share.${field}: ${why}.`);
  }
  const hints = body.scheduler_hints;
  if (hints !== undefined && hints !== null && !(typeof hints === 'object' && Object.keys(hints).length === 0)) {
    throw badRequest('Invalid input for field share.scheduler_hints: this service has one backend and takes no scheduler hints.');
  }
}

/** Public shares (visible to every project) are not offered; saying so beats ignoring the flag. */
function refusePublic(isPublic: boolean | undefined, root: string): void {
  if (isPublic === true) throw badRequest(`Invalid input for field ${root}.is_public: public shares are not offered by this service; shares are visible to their project only.`);
}

const validateCreate = validator<ShareCreateBody>(shareCreateSchema);
const validateUpdate = validator<ShareUpdateBody>(shareUpdateSchema);
const validateResize = validator<{ new_size: number }>(resizeSchema);
const validateResetStatus = validator<{ status: string }>(resetStatusSchema);
const validateResetTaskState = validator<{ task_state?: string | null; 'os-task_state'?: string | null }>(resetTaskStateSchema);

/** reset_task_state arrived in 2.22 (manila/api/v2/shares.py ShareController.reset_task_state). */
const RESET_TASK_STATE_MIN_VERSION: Microversion = { major: 2, minor: 22 };

/**
 * Filters on what no share of this service has (no share servers, networks, snapshots, groups,
 * hosts or encryption keys): honoured with Manila's meaning, so any value matches nothing.
 */
const ABSENT_ATTRIBUTE_FILTERS = ['host', 'share_server_id', 'share_network_id', 'snapshot_id', 'share_group_id', 'encryption_key_ref'];

// Every parameter python-manilaclient's share list sends (manilaclient/osc/v2/share.py ListShare,
// manilaclient/v2/shares.py ShareManager.do_list) is known here; anything else is a 400.
const LIST_SPEC = {
  // host, snapshot_id, share_network_id and export_location are the same (none) for every share here,
  // so sorting by them leaves the id order
  sortKeys: ['id', 'name', 'status', 'size', 'share_proto', 'created_at', 'updated_at', 'project_id', 'user_id', 'availability_zone',
    'share_type_id', 'host', 'snapshot_id', 'share_network_id', 'export_location'],
  sortAliases: { display_name: 'name', availability_zone_id: 'availability_zone', share_type: 'share_type_id', snapshot: 'snapshot_id', share_network: 'share_network_id' },
  filterKeys: ['name', 'status', 'share_proto', 'source_backup_id', 'project_id', 'user_id', 'availability_zone'],
  inexactKeys: ['name', 'description'],
  customKeys: ['is_public', 'is_soft_deleted', 'with_count', 'metadata', 'extra_specs', 'share_type_id', 'export_location_id', 'export_location_path',
    ...ABSENT_ATTRIBUTE_FILTERS],
};


/** The configured types alone: what a request needs when no stored type is involved (no table read). */
function configuredOnly(ctx: OperationContext): ShareTypeSnapshot {
  return { config: shareTypeCatalogOf(ctx.deps).configured, stored: [] };
}

/**
 * The share types views of these shares need: the configured ones when every share has one of
 * them, else the whole catalog (configured and stored), read once for the request.
 */
async function typesFor(ctx: OperationContext, shares: readonly ShareRecord[]): Promise<ShareTypeSnapshot> {
  const configured = configuredOnly(ctx);
  const known = (share: ShareRecord) => share.share_type_id === undefined || configured.config.types.some((t) => t.id === share.share_type_id);
  return shares.every(known) ? configured : shareTypeSnapshot(ctx);
}

/** What share views need: the share types (see typesFor), the version, the links' base. */
async function viewOf(ctx: OperationContext, ...shares: ShareRecord[]): Promise<ShareViewContext> {
  return { shareTypes: await typesFor(ctx, shares), version: ctx.version, baseUrl: ctx.baseUrl };
}

/**
 * The type a new share gets: the named one (by id or name, configured or created through the API;
 * `volume_type` is Manila's old alias), or the default. An unknown type, or a private one the
 * caller's project has no access to, is Manila's 404 "Share type not found."
 * (manila/api/v2/shares.py ShareMixin._create; share_types.get_share_type filters as
 * manila/db/sqlalchemy/api.py _share_type_get_query does).
 */
async function resolveShareType(ctx: OperationContext, requested: string | null | undefined): Promise<ShareType> {
  const configured = configuredOnly(ctx);
  if (requested === undefined || requested === null || requested === '') return defaultShareType(configured.config);
  // a configured type needs no table read; anything else is looked up among the stored ones too
  const type = findCatalogType(configured, requested) ?? findCatalogType(await shareTypeSnapshot(ctx), requested);
  if (!type || !typeVisibleTo(ctx.caller, type)) throw notFound('Share type not found.');
  if ((type as StoredShareType).deleting_since !== undefined) throw typeBeingDeleted(type);
  return type;
}

const typeBeingDeleted = (type: ShareType) => badRequest(`Share type ${type.name} is being deleted; choose another type.`);

/**
 * After a share of a type created through the API is written: if an admin's delete of that type
 * began (or ended) meanwhile, back out, so that no share is left with a deleted type (the other
 * half of the protocol is share-types.ts deleteShareType). Configured types are never deleted.
 */
async function keepShareType(ctx: OperationContext, type: ShareType, backOut: () => Promise<void>): Promise<void> {
  if (findCatalogType(configuredOnly(ctx), type.id)) return;
  const now = await shareTypeCatalogOf(ctx.deps).getStored(type.id);
  if (now && now.deleting_since === undefined) return;
  await backOut();
  throw typeBeingDeleted(type);
}

/** Reads a share named in the path: 404 when missing, 403 when another project's. */
export async function loadShare(ctx: OperationContext, id: string): Promise<ShareRecord> {
  const share = await ctx.deps.repository.getShare(id);
  if (!share) throw notFound(`Share ${id} could not be found.`);
  assertOwns(ctx.caller, share, 'Share');
  return share;
}

/** A status change that lost a race is a 400 that tells the state found now. */
async function raced(ctx: OperationContext, id: string, action: string): Promise<never> {
  const now = await ctx.deps.repository.getShare(id);
  if (!now) throw notFound(`Share ${id} could not be found.`);
  throw badRequest(`Share ${id} changed while trying to ${action}; its status is now ${now.status}.`);
}

/** The list's own filters (LIST_SPEC.customKeys) as one predicate; parameter errors are 400s. */
function shareListPredicate(ctx: OperationContext, custom: Record<string, string>, types: ShareTypeSnapshot): (share: ShareRecord) => boolean {
  const checks: Array<(share: ShareRecord) => boolean> = [];
  // no recycle bin here (no soft delete): the soft-deleted shares are none. manilaclient (2.69+)
  // lists with is_soft_deleted=True and merges the result into its name lookup
  // (manilaclient/base.py ManagerWithFind.findall), so anything else would match every name twice
  if (custom.is_soft_deleted !== undefined && parseBoolean('is_soft_deleted', custom.is_soft_deleted)) return () => false;
  // no share is public here (create and update refuse is_public true), so is_public=true ("mine and the
  // public ones", which manilaclient always sends) is just mine, and is_public=false is mine too
  if (custom.is_public !== undefined) parseBoolean('is_public', custom.is_public);
  if (custom.with_count !== undefined) parseBoolean('with_count', custom.with_count);
  for (const key of ABSENT_ATTRIBUTE_FILTERS) if (custom[key] !== undefined) return () => false;
  const typeOf = (share: ShareRecord) => (share.share_type_id === undefined ? defaultShareType(types.config) : findCatalogType(types, share.share_type_id));
  if (custom.share_type_id !== undefined) {
    const wanted = findCatalogType(types, custom.share_type_id);
    checks.push((share) => wanted !== undefined && typeOf(share)?.id === wanted.id);
  }
  if (custom.metadata !== undefined) {
    const wanted = Object.entries(parseStringDict('metadata', custom.metadata));
    checks.push((share) => wanted.every(([k, v]) => share.metadata?.[k] === v));
  }
  if (custom.extra_specs !== undefined) {
    const wanted = Object.entries(parseStringDict('extra_specs', custom.extra_specs));
    checks.push((share) => wanted.every(([k, v]) => typeOf(share)?.extra_specs[k]?.toLowerCase() === v.toLowerCase()));
  }
  if (custom.export_location_id !== undefined) checks.push((share) => exportLocations(share).some((e) => e.id === custom.export_location_id));
  if (custom.export_location_path !== undefined) checks.push((share) => exportLocations(share).some((e) => e.path === custom.export_location_path));
  return (share) => checks.every((check) => check(share));
}

const list = (detail: boolean): Operation => async (ctx) => {
  assertMay(ctx.caller, 'list', 'share:get_all');
  const query = parseListQuery(ctx.query, LIST_SPEC);
  // the type filters need every type; without them the view needs those of the page (typesFor)
  const byType = query.custom.share_type_id !== undefined || query.custom.extra_specs !== undefined;
  const matches = shareListPredicate(ctx, query.custom, byType ? await shareTypeSnapshot(ctx) : configuredOnly(ctx));
  const scope = query.allTenants && isAdmin(ctx.caller) ? undefined : ctx.caller.projectId;
  const shares = (await ctx.deps.repository.listShares(scope)).filter(matches);
  const page = applyListQuery(shares, query);
  const view = await viewOf(ctx, ...(detail ? page.items : []));
  const withCount = query.custom.with_count !== undefined && parseBoolean('with_count', query.custom.with_count);
  return {
    status: 200,
    body: {
      shares: page.items.map((s) => (detail ? shareDetail(s, view) : shareSummary(s, ctx.baseUrl))),
      ...(withCount ? { count: page.total } : {}),
      ...nextLinks(ctx, 'shares', page.nextOffset),
    },
  };
};

export const listShares = list(false);
export const listSharesDetail = list(true);

export const showShare: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share:get');
  return { status: 200, body: { share: shareDetail(share, await viewOf(ctx, share)) } };
};

export const createShare: Operation = async (ctx) => {
  const body = validateCreate(resourceOf(ctx.body, 'share'), 'share');
  assertMay(ctx.caller, 'create', 'share:create');
  refusePublic(body.is_public, 'share');
  refuseUnsupported(body as Record<string, unknown>);
  const { repository, storage, settings } = ctx.deps;
  const name = body.name ?? body.display_name ?? null;
  const description = body.description ?? body.display_description ?? null;
  const shareType = await resolveShareType(ctx, body.share_type ?? body.volume_type);
  const metadata = body.metadata === undefined || body.metadata === null ? {} : parseMetadata(body.metadata, 'share.metadata');
  const id = ctx.newId();
  const now = ctx.now();

  if (body.backup_id !== undefined) {
    const backup = await repository.getBackup(body.backup_id);
    const { size, proto } = checkShareFromBackup({
      caller: ctx.caller, backupId: body.backup_id, backup, size: body.size, proto: body.share_proto,
      drivers: settings.drivers, servedProtocols: storage.protocols,
    });
    const provisioned = await storage.provisionShare(id);
    const share: ShareRecord = {
      id, project_id: ctx.caller.projectId, user_id: ctx.caller.userId, name, description, status: 'creating', size,
      share_proto: proto, availability_zone: settings.availabilityZone, created_at: now, updated_at: now,
      source_backup_id: body.backup_id, task_state: null, share_type_id: shareType.id, metadata, backend: storage.name, ...provisioned,
    };
    await repository.putShare(share);
    await keepShareType(ctx, shareType, async () => {
      await repository.deleteShare(id, ['creating']);
      await storage.deleteShare(share);
    });
    const claimed = await claimRestoreAndStart(ctx, {
      backupId: body.backup_id, target: share, sourceShareId: backup!.share_id, kind: 'create_share',
      // the new share is ours alone; when the claim or the start fails nothing of it is kept
      onAbandon: async () => {
        await repository.deleteShare(id, ['creating']);
        await storage.deleteShare(share);
      },
    });
    return { status: 202, body: { share: shareDetail(claimed.share, await viewOf(ctx, claimed.share)) } };
  }

  if (body.share_proto === undefined) throw badRequest('Invalid input for field share.share_proto: share_proto is required.');
  const proto = checkProtocolServed(body.share_proto, storage.protocols);
  if (body.size === undefined) throw badRequest('Invalid input for field share.size: size is required.');
  const share: ShareRecord = {
    id, project_id: ctx.caller.projectId, user_id: ctx.caller.userId, name, description, status: 'creating', size: body.size,
    share_proto: proto, availability_zone: settings.availabilityZone, created_at: now, updated_at: now,
    source_backup_id: null, task_state: null, share_type_id: shareType.id, metadata, backend: storage.name, export_path: '', access_point_id: '',
  };
  await repository.putShare(share);
  await keepShareType(ctx, shareType, () => repository.deleteShare(id, ['creating']));
  let provisioned;
  try {
    provisioned = await storage.provisionShare(id);
  } catch (err) {
    await repository.updateShare(id, { set: { status: 'error', updated_at: ctx.now() }, fromStatuses: ['creating'] }).catch(() => undefined);
    throw err;
  }
  const available = await repository.updateShare(id, {
    set: { status: 'available', ...provisioned, updated_at: ctx.now() }, fromStatuses: ['creating'],
  });
  return { status: 202, body: { share: shareDetail(available, await viewOf(ctx, available)) } };
};

export const updateShare: Operation = async (ctx) => {
  const body = validateUpdate(resourceOf(ctx.body, 'share'), 'share');
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share:update');
  refusePublic(body.is_public, 'share');
  const name = body.display_name !== undefined ? body.display_name : body.name;
  const description = body.display_description !== undefined ? body.display_description : body.description;
  const updated = await ctx.deps.repository.updateShare(share.id, {
    set: { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), updated_at: ctx.now() },
  }).catch((err) => (err instanceof ConditionFailedError ? raced(ctx, share.id, 'update it') : Promise.reject(err)));
  return { status: 200, body: { share: shareDetail(updated, await viewOf(ctx, updated)) } };
};

export const deleteShare: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'delete', 'share:delete');
  const { repository, storage } = ctx.deps;
  checkShareDelete(share, await repository.countShareBackups(share));
  await repository.updateShare(share.id, { set: { status: 'deleting', updated_at: ctx.now() }, fromStatuses: SHARE_DELETABLE })
    .catch((err) => (err instanceof ConditionFailedError ? raced(ctx, share.id, 'delete it') : Promise.reject(err)));
  try {
    await storage.deleteShare(share);
  } catch (err) {
    await repository.updateShare(share.id, { set: { status: 'error_deleting', updated_at: ctx.now() }, fromStatuses: ['deleting'] }).catch(() => undefined);
    throw err;
  }
  await repository.deleteShare(share.id, ['deleting']);
  return { status: 202 };
};

const SHARE_ACTIONS = ['extend', 'shrink', 'reset_status', 'reset_task_state', 'os-extend', 'os-shrink', 'os-reset_status'];

/**
 * Manila's recycle bin actions (2.69+, manila/api/v2/shares.py ShareController.share_soft_delete and
 * share_restore; `openstack share delete --soft`, `openstack share restore`). This service has no
 * recycle bin: say so, rather than "unknown action".
 */
const RECYCLE_BIN_REFUSALS: Record<string, string> = {
  soft_delete: 'This service has no recycle bin: a share cannot be soft-deleted. Delete it (DELETE /v2/shares/{id}, `openstack share delete` without --soft); it is then removed at once.',
  restore: 'This service has no recycle bin: no share is soft-deleted, so there is nothing to restore from it.',
};

export const shareAction: Operation = async (ctx) => {
  const { action: key, value } = actionOf(ctx.body, [...SHARE_ACTIONS, ...Object.keys(RECYCLE_BIN_REFUSALS)]);
  const action = key.replace(/^os-/, '');
  const root = `${key}`;
  const share = await loadShare(ctx, ctx.params.id!);
  // the share is checked first (404, 403), as for every other action
  if (Object.hasOwn(RECYCLE_BIN_REFUSALS, action)) throw badRequest(RECYCLE_BIN_REFUSALS[action]!);
  const { repository, storage } = ctx.deps;
  if (action === 'reset_task_state') {
    // `openstack share set --task-state` sends it; before 2.22 Manila has no such action (404)
    if (!atLeast(ctx.version, RESET_TASK_STATE_MIN_VERSION)) {
      throw notFound(`The reset_task_state action needs API microversion ${formatVersion(RESET_TASK_STATE_MIN_VERSION)} or later.`);
    }
    // admin-only, as Manila's default policy share:reset_task_state
    assertMay(ctx.caller, 'reset_status', 'share:reset_task_state');
    const body = validateResetTaskState(value, root);
    const taskState = body.task_state !== undefined ? body.task_state : (body['os-task_state'] ?? null);
    await repository.updateShare(share.id, { set: { task_state: taskState, updated_at: ctx.now() } })
      .catch((err) => (err instanceof ConditionFailedError ? Promise.reject(notFound(`Share ${share.id} could not be found.`)) : Promise.reject(err)));
    return { status: 202 };
  }
  if (action === 'reset_status') {
    assertMay(ctx.caller, 'reset_status', 'share:reset_status');
    const status = parseShareStatus(validateResetStatus(value, root).status);
    await repository.updateShare(share.id, { set: { status, updated_at: ctx.now() } })
      .catch((err) => (err instanceof ConditionFailedError ? Promise.reject(notFound(`Share ${share.id} could not be found.`)) : Promise.reject(err)));
    return { status: 202 };
  }
  assertMay(ctx.caller, action === 'extend' ? 'extend' : 'shrink', `share:${action}`);
  const { new_size: newSize } = validateResize(value, root);
  if (action === 'extend') checkExtend(share, newSize);
  else checkShrink(share, newSize, await storage.usedBytes(share));
  await repository.updateShare(share.id, { set: { size: newSize, updated_at: ctx.now() }, fromStatuses: ['available'] })
    .catch((err) => (err instanceof ConditionFailedError ? raced(ctx, share.id, action) : Promise.reject(err)));
  return { status: 202 };
};

export const shareExportLocations: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share:export_locations');
  return { status: 200, body: { export_locations: exportLocations(share) } };
};

/** One export location (Manila's `export_locations/{export_location_id}`, what `openstack share
 * export location show` reads): the same view as in the list. */
export const shareExportLocation: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share:export_locations');
  const location = exportLocations(share).find((each) => each.id === ctx.params.location_id);
  if (!location) throw notFound(`Export location ${ctx.params.location_id} not found for share ${share.id}.`);
  return { status: 200, body: { export_location: location } };
};

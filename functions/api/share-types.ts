// Share type operations (api.md "Share types"): Manila's /types routes (manila/api/v2/router.py:
// mapper.resource("type", "types", ...) with its member routes `action`, `share_type_access` and
// `os-share-type-access`, and the extra_specs child resource). Reads are everyone's (filtered by
// visibility); changes are an admin's (manila/policies/share_type.py, share_types_extra_spec.py),
// made to types created through the API only: the configured types (SHARE_TYPES) are read-only
// (403), and `allow_api_changes: false` in the configuration makes every change a 405. The rules
// are functions/domain/share-types.ts; the types are read and written through the catalog
// (functions/adapters/share-type-catalog.ts).
import { ShareTypeCatalogError } from '../adapters/share-type-catalog.ts';
import { badRequest, conflict, forbidden, notFound } from '../domain/errors.ts';
import { parseBoolean, parseStringDict } from '../domain/listing.ts';
import { atLeast, formatVersion, type Microversion } from '../domain/microversion.ts';
import { assertMay, isAdmin } from '../domain/policy.ts';
import {
  allShareTypes, assertNotConfigured, assertSpecDeletable, assertTypeChangeAllowed, assertValidKeyNames, defaultShareType, findCatalogType,
  parseAccessProject, parseNewShareType, parseShareTypeUpdate, shareTypeAccessView, shareTypeView, typeVisibleTo, validateExtraSpecs,
  visibleExtraSpecs, type CatalogType, type ShareType, type ShareTypeSnapshot, type StoredShareType,
} from '../domain/share-types.ts';
import { shareTypeCatalogOf, shareTypeSnapshot, type Operation, type OperationContext, type OperationResult } from './context.ts';
import { actionOf, isPlainObject } from './schemas.ts';

const v = (minor: number): Microversion => ({ major: 2, minor });

/** The type named in the path, if the caller may see it: others are Manila's 404 "Share type not found." */
async function lookup(ctx: OperationContext): Promise<{ snapshot: ShareTypeSnapshot; type: CatalogType }> {
  const snapshot = await shareTypeSnapshot(ctx);
  const type = findCatalogType(snapshot, ctx.params.id!);
  if (!type || !typeVisibleTo(ctx.caller, type)) throw notFound('Share type not found.');
  return { snapshot, type };
}

/** A type an admin changes: one created through the API (a configured one is 403). */
async function lookupStored(ctx: OperationContext): Promise<StoredShareType> {
  const { snapshot, type } = await lookup(ctx);
  assertNotConfigured(snapshot, type);
  return type as StoredShareType;
}

const isDefaultType = (snapshot: ShareTypeSnapshot, type: ShareType) => snapshot.config.default_type === type.name;

/** Manila answers both keys: `share_type` and its old alias `volume_type`. */
function single(ctx: OperationContext, snapshot: ShareTypeSnapshot, type: ShareType, status = 200): OperationResult {
  const view = shareTypeView(type, ctx.version, isDefaultType(snapshot, type), isAdmin(ctx.caller));
  return { status, body: { share_type: view, volume_type: view } };
}

/** A catalog refusal as Manila's answer. */
function catalogError(err: unknown): never {
  if (err instanceof ShareTypeCatalogError) {
    if (err.kind === 'name_taken' || err.kind === 'access_exists') throw conflict(err.message);
    throw notFound(err.message);
  }
  throw err;
}

/** The type list's filters (manila/api/v2/share_types.py ShareTypesController._get_share_types). */
function typeListFilter(ctx: OperationContext): (type: CatalogType) => boolean {
  const query = ctx.query ?? {};
  for (const key of Object.keys(query)) {
    if (query[key] !== undefined && !['is_public', 'extra_specs', 'all_tenants'].includes(key)) {
      throw badRequest(`Invalid query parameter "${key.slice(0, 60)}": the share type list accepts is_public, extra_specs, all_tenants.`);
    }
  }
  // manilaclient's name lookup adds all_tenants (manilaclient/base.py ManagerWithFind.findall); types
  // belong to no project, so it changes nothing, but it must still be a boolean
  if (query.all_tenants !== undefined) parseBoolean('all_tenants', query.all_tenants);
  // is_public (manila/api/common.py parse_is_public): absent → public types, "all" → every type,
  // else a boolean. Only an admin chooses; everyone else asks for the public ones, as on Manila.
  // manilaclient always sends is_public=all (manilaclient/v2/share_types.py ShareTypeManager.list).
  const text = query.is_public;
  const wanted = text === undefined ? true : text.trim().toLowerCase() === 'all' ? undefined : parseBoolean('is_public', text);
  const isPublic = isAdmin(ctx.caller) ? wanted : true;
  let specs: [string, string][] = [];
  if (query.extra_specs !== undefined) {
    if (!atLeast(ctx.version, v(43))) {
      throw badRequest("Filter by 'extra_specs' is not supported by this microversion. Use 2.43 or greater microversion to be able to use filter search by 'extra_specs.");
    }
    specs = Object.entries(parseStringDict('extra_specs', query.extra_specs));
  }
  // manila/db/sqlalchemy/api.py share_type_get_all: is_public true also matches the private types the
  // caller's project has access to; and a non-admin sees nothing else (_share_type_get_query)
  const publicMatch = (type: CatalogType) => (isPublic === undefined
    || (isPublic ? type.is_public || (type.projects ?? []).includes(ctx.caller.projectId) : !type.is_public));
  return (type) => typeVisibleTo(ctx.caller, type) && publicMatch(type)
    && specs.every(([key, value]) => type.extra_specs[key]?.toLowerCase() === value.toLowerCase());
}

export const listShareTypes: Operation = async (ctx) => {
  assertMay(ctx.caller, 'list', 'share_type:index');
  const filter = typeListFilter(ctx);
  const snapshot = await shareTypeSnapshot(ctx);
  const views = allShareTypes(snapshot).filter(filter)
    .map((t) => shareTypeView(t, ctx.version, isDefaultType(snapshot, t), isAdmin(ctx.caller)));
  return { status: 200, body: { share_types: views, volume_types: views } };
};

export const showDefaultShareType: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_type:default');
  const snapshot = await shareTypeSnapshot(ctx);
  return single(ctx, snapshot, defaultShareType(snapshot.config));
};

export const showShareType: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_type:show');
  const { snapshot, type } = await lookup(ctx);
  return single(ctx, snapshot, type);
};

/**
 * The extra specs of a type the caller sees. Manila makes these routes admin-only
 * (manila/policies/share_types_extra_spec.py); here a member may read them, but only the
 * tenant-visible specs, the same ones the type's view shows them.
 */
export const listShareTypeExtraSpecs: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_types_extra_spec:index');
  const { type } = await lookup(ctx);
  return { status: 200, body: { extra_specs: visibleExtraSpecs(type.extra_specs, isAdmin(ctx.caller)) } };
};

/** One extra spec: `{"<key>": "<value>"}` (manila/api/v2/share_types_extra_specs.py show). */
export const showShareTypeExtraSpec: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_types_extra_spec:show');
  const specs = visibleExtraSpecs((await lookup(ctx)).type.extra_specs, isAdmin(ctx.caller));
  const key = ctx.params.key!;
  if (!Object.hasOwn(specs, key)) throw notFound(`Share type extra spec ${key.slice(0, 100)} could not be found.`);
  return { status: 200, body: { [key]: specs[key] } };
};

/** Names are unique across configured and stored types; the stored ones guard theirs in the catalog. */
function assertNameFree(snapshot: ShareTypeSnapshot, name: string, self?: string): void {
  if (snapshot.config.types.some((t) => t.name === name && t.id !== self)) throw conflict(`Share Type ${name.slice(0, 255)} already exists.`);
}

/** POST types (manila/api/v2/share_types.py ShareTypesController._create): 200 with the type's view. */
export const createShareType: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_type:create');
  const fields = parseNewShareType(ctx.body, ctx.version);
  const snapshot = await shareTypeSnapshot(ctx);
  assertNameFree(snapshot, fields.name);
  const type: StoredShareType = { id: ctx.newId(), ...fields, projects: [], created_at: ctx.now() };
  await catalog.create(type).catch(catalogError);
  return single(ctx, snapshot, type);
};

/** PUT types/{id} (ShareTypesController.update, 2.50+; below, Manila's version dispatch answers 404). */
export const updateShareType: Operation = async (ctx) => {
  if (!atLeast(ctx.version, v(50))) throw notFound(`API version ${formatVersion(ctx.version)} is not supported on this method.`);
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_type:update');
  const change = parseShareTypeUpdate(ctx.body);
  const type = await lookupStored(ctx);
  const snapshot = await shareTypeSnapshot(ctx);
  if (change.name !== undefined) assertNameFree(snapshot, change.name, type.id);
  const updated = await catalog.update(type, change).catch(catalogError);
  return single(ctx, snapshot, updated);
};

/** DELETE types/{id} (ShareTypesController._delete): 202; a type any share has is "still in use". */
export const deleteShareType: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_type:delete');
  const type = await lookupStored(ctx);
  // Mark, then look for shares: a create that wrote its share before the mark is seen here (the
  // look reads consistently); one that writes after it sees the mark and backs out (shares.ts
  // keepShareType). So no share is left with a deleted type, without a lock across two tables.
  await catalog.markDeleting(type.id, ctx.now()).catch(catalogError);
  if (await ctx.deps.repository.hasShareOfType(type.id)) {
    await catalog.clearDeleting(type.id);
    throw badRequest('Target share type is still in use.');
  }
  await catalog.delete(type).catch(catalogError);
  return { status: 202 };
};

/** POST types/{id}/extra_specs (manila/api/v2/share_types_extra_specs.py create): answers the body. */
export const createShareTypeExtraSpecs: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_types_extra_spec:create');
  if (!isPlainObject(ctx.body) || !isPlainObject(ctx.body.extra_specs)) throw badRequest('The request body must be {"extra_specs": {...}}.');
  const type = await lookupStored(ctx);
  const specs = validateExtraSpecs(ctx.body.extra_specs, false);
  assertValidKeyNames(Object.keys(specs));
  await catalog.setExtraSpecs(type.id, specs).catch(catalogError);
  return { status: 200, body: ctx.body };
};

/** PUT types/{id}/extra_specs/{key} (share_types_extra_specs.py update): one item, the path's key. */
export const updateShareTypeExtraSpec: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_types_extra_spec:update');
  const body = ctx.body;
  if (!isPlainObject(body) || Object.keys(body).length === 0) throw badRequest('Request body empty');
  const type = await lookupStored(ctx);
  const key = ctx.params.key!;
  if (!Object.hasOwn(body, key)) throw badRequest('Request body and URI mismatch');
  if (Object.keys(body).length > 1) throw badRequest('Request body contains too many items');
  const specs = validateExtraSpecs(body, false);
  await catalog.setExtraSpecs(type.id, specs).catch(catalogError);
  return { status: 200, body };
};

/** DELETE types/{id}/extra_specs/{key} (share_types_extra_specs.py _delete): 202; a required spec is 403. */
export const deleteShareTypeExtraSpec: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_types_extra_spec:delete');
  const type = await lookupStored(ctx);
  const key = ctx.params.key!;
  assertSpecDeletable(key);
  await catalog.deleteExtraSpec(type.id, key).catch(catalogError);
  return { status: 202 };
};

/**
 * GET types/{id}/share_type_access (and the old os-share-type-access path): the projects a private
 * type is shared with (ShareTypesController.share_type_access); admin-only (list_project_access).
 */
export const listShareTypeAccess: Operation = async (ctx) => {
  if (!isAdmin(ctx.caller)) throw forbidden("Policy doesn't allow share_type:list_project_access to be performed: only an admin may list share type access.");
  const type = findCatalogType(await shareTypeSnapshot(ctx), ctx.params.id!);
  if (!type) throw notFound(`Share type ${ctx.params.id!} not found.`);
  if (type.is_public) throw notFound('Access list not available for public share types.');
  return { status: 200, body: shareTypeAccessView(type) };
};

const ACCESS_ACTIONS = ['addProjectAccess', 'removeProjectAccess'] as const;

/** POST types/{id}/action: addProjectAccess / removeProjectAccess (ShareTypesController._add_project_access, _remove_project_access): 202. */
export const shareTypeAction: Operation = async (ctx) => {
  const catalog = shareTypeCatalogOf(ctx.deps);
  assertTypeChangeAllowed(ctx.caller, catalog.configured, 'share_type:add_project_access');
  const { action, value } = actionOf(ctx.body, ACCESS_ACTIONS);
  const project = parseAccessProject(value, action);
  const type = await lookupStored(ctx);
  if (type.is_public) throw conflict('Type access modification is not applicable to public share type.');
  await (action === 'addProjectAccess' ? catalog.addProjectAccess(type.id, project) : catalog.removeProjectAccess(type.id, project)).catch(catalogError);
  return { status: 202 };
};

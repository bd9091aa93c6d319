// Share type operations (api.md "Share types"): Manila's /types routes, read-only. Types are
// configuration (SHARE_TYPES), so creating, deleting or changing one through the API is refused.
import { ApiError, badRequest, forbidden, notFound } from '../domain/errors.ts';
import { parseBoolean, parseStringDict } from '../domain/listing.ts';
import { atLeast, type Microversion } from '../domain/microversion.ts';
import { assertMay, isAdmin, type Caller } from '../domain/policy.ts';
import { defaultShareType, findShareType, requiredExtraSpecs, type ShareType } from '../domain/share-types.ts';
import { shareTypesOf, type Operation, type OperationContext } from './context.ts';

const v = (minor: number): Microversion => ({ major: 2, minor });

/** Manila's share type view (manila/api/views/types.py ViewBuilder.show and its versioned modifiers). */
export function shareTypeView(type: ShareType, version: Microversion, isDefault: boolean) {
  return {
    id: type.id,
    name: type.name,
    extra_specs: { ...type.extra_specs },
    required_extra_specs: requiredExtraSpecs(type),
    // 2.0–2.6 spelled it like the old extension, 2.7+ like the core API
    ...(atLeast(version, v(7)) ? { 'share_type_access:is_public': type.is_public } : { 'os-share-type-access:is_public': type.is_public }),
    ...(atLeast(version, v(41)) ? { description: type.description } : {}),
    ...(atLeast(version, v(46)) ? { is_default: isDefault } : {}),
  };
}

/** Non-admins see public types only, as Manila's _get_share_types filters them. */
function visible(caller: Caller, type: ShareType): boolean {
  return type.is_public || isAdmin(caller);
}

function lookup(ctx: OperationContext): ShareType {
  const type = findShareType(shareTypesOf(ctx.deps.settings), ctx.params.id!);
  if (!type || !visible(ctx.caller, type)) throw notFound('Share type not found.');
  return type;
}

function isDefaultType(ctx: OperationContext, type: ShareType): boolean {
  return shareTypesOf(ctx.deps.settings).default_type === type.name;
}

/** Manila answers both keys: `share_type` and its old alias `volume_type`. */
function single(ctx: OperationContext, type: ShareType) {
  const view = shareTypeView(type, ctx.version, isDefaultType(ctx, type));
  return { status: 200, body: { share_type: view, volume_type: view } };
}

/** The type list's filters (manila/api/v2/share_types.py ShareTypesController._get_share_types). */
function typeListFilter(ctx: OperationContext): (type: ShareType) => boolean {
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
  // else a boolean. Only an admin chooses; everyone else sees the public types, as on Manila.
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
  return (type) => (isPublic === undefined || type.is_public === isPublic)
    && specs.every(([key, value]) => type.extra_specs[key]?.toLowerCase() === value.toLowerCase());
}

export const listShareTypes: Operation = async (ctx) => {
  assertMay(ctx.caller, 'list', 'share_type:index');
  const types = shareTypesOf(ctx.deps.settings).types.filter(typeListFilter(ctx));
  const views = types.map((t) => shareTypeView(t, ctx.version, isDefaultType(ctx, t)));
  return { status: 200, body: { share_types: views, volume_types: views } };
};

export const showDefaultShareType: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_type:default');
  return single(ctx, defaultShareType(shareTypesOf(ctx.deps.settings)));
};

export const showShareType: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_type:show');
  return single(ctx, lookup(ctx));
};

export const listShareTypeExtraSpecs: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_types_extra_spec:index');
  return { status: 200, body: { extra_specs: { ...lookup(ctx).extra_specs } } };
};

/** One extra spec: `{"<key>": "<value>"}` (manila/api/v2/share_types_extra_specs.py show). */
export const showShareTypeExtraSpec: Operation = async (ctx) => {
  assertMay(ctx.caller, 'show', 'share_types_extra_spec:show');
  const specs = lookup(ctx).extra_specs;
  const key = ctx.params.key!;
  if (!Object.hasOwn(specs, key)) throw notFound(`Share type extra spec ${key.slice(0, 100)} could not be found.`);
  return { status: 200, body: { [key]: specs[key] } };
};

/**
 * Create, update, delete, access changes and extra spec writes: a member is refused by policy as on
 * Manila (403); an admin gets 405, because types here are deployment configuration.
 */
export const changeShareType: Operation = async (ctx) => {
  if (!isAdmin(ctx.caller)) throw forbidden("Policy doesn't allow share_type changes to be performed: only an admin may change share types.");
  const error = new ApiError(405, 'Share types are configuration here: set SHARE_TYPES (or SHARE_TYPES_FILE) and redeploy; the API does not change them.');
  error.headers.Allow = 'GET';
  throw error;
};

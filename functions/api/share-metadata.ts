// Share metadata (api.md "Share metadata"): Manila's /shares/{id}/metadata routes
// (manila/api/v2/router.py "share_metadata", manila/api/v2/metadata.py MetadataController).
import { ConditionFailedError } from '../adapters/repository.ts';
import { badRequest, notFound } from '../domain/errors.ts';
import { assertMay } from '../domain/policy.ts';
import type { OperationContext, Operation } from './context.ts';
import { isPlainObject, resourceOf } from './schemas.ts';
import { loadShare } from './shares.ts';

/** Manila's limits (manila/api/common.py check_metadata_properties): key 1–255 characters, value up to 1023. */
export const METADATA_KEY_MAX = 255;
export const METADATA_VALUE_MAX = 1023;

/** A metadata dict from a body: string keys and values within Manila's limits, else a 400 naming the field. */
export function parseMetadata(value: unknown, root: string): Record<string, string> {
  if (!isPlainObject(value)) throw badRequest(`Invalid input for field ${root}: must be an object of string keys and values.`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.length === 0 || key.length > METADATA_KEY_MAX) throw badRequest(`Invalid input for field ${root}: keys must be 1 to ${METADATA_KEY_MAX} characters.`);
    if (typeof v !== 'string') throw badRequest(`Invalid input for field ${root}.${key.slice(0, 60)}: must be a string.`);
    if (v.length > METADATA_VALUE_MAX) throw badRequest(`Invalid input for field ${root}.${key.slice(0, 60)}: at most ${METADATA_VALUE_MAX} characters.`);
    out[key] = v;
  }
  return out;
}

async function save(ctx: OperationContext, shareId: string, metadata: Record<string, string>): Promise<Record<string, string>> {
  const updated = await ctx.deps.repository.updateShare(shareId, { set: { metadata, updated_at: ctx.now() } })
    .catch((err) => (err instanceof ConditionFailedError ? Promise.reject(notFound(`Share ${shareId} could not be found.`)) : Promise.reject(err)));
  return updated.metadata ?? {};
}

export const listShareMetadata: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share:get_share_metadata');
  return { status: 200, body: { metadata: share.metadata ?? {} } };
};

/** POST: merges the given items into the share's metadata (Manila's create_metadata). */
export const mergeShareMetadata: Operation = async (ctx) => {
  const items = parseMetadata(resourceOf(ctx.body, 'metadata'), 'metadata');
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share:update_share_metadata');
  return { status: 200, body: { metadata: await save(ctx, share.id, { ...(share.metadata ?? {}), ...items }) } };
};

/** PUT: replaces the share's metadata with the given items (Manila's update_all_metadata). */
export const replaceShareMetadata: Operation = async (ctx) => {
  const items = parseMetadata(resourceOf(ctx.body, 'metadata'), 'metadata');
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share:update_share_metadata');
  return { status: 200, body: { metadata: await save(ctx, share.id, items) } };
};

export const showShareMetadataItem: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share:get_share_metadata');
  const key = ctx.params.key!;
  const metadata = share.metadata ?? {};
  if (!Object.hasOwn(metadata, key)) throw notFound(`Metadata item ${key.slice(0, 100)} was not found.`);
  return { status: 200, body: { meta: { [key]: metadata[key] } } };
};

/** PUT one item: the body names exactly the key of the path (Manila's update_metadata_item). */
export const setShareMetadataItem: Operation = async (ctx) => {
  const items = parseMetadata(resourceOf(ctx.body, 'metadata'), 'metadata');
  const key = ctx.params.key!;
  if (!Object.hasOwn(items, key)) throw badRequest('Request body and URI mismatch.');
  if (Object.keys(items).length > 1) throw badRequest('Request body contains too many items.');
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share:update_share_metadata');
  return { status: 200, body: { metadata: await save(ctx, share.id, { ...(share.metadata ?? {}), ...items }) } };
};

export const deleteShareMetadataItem: Operation = async (ctx) => {
  const share = await loadShare(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'update', 'share:delete_share_metadata');
  const key = ctx.params.key!;
  const metadata = { ...(share.metadata ?? {}) };
  if (!Object.hasOwn(metadata, key)) throw notFound(`Metadata item ${key.slice(0, 100)} was not found.`);
  delete metadata[key];
  await save(ctx, share.id, metadata);
  return { status: 200 };
};

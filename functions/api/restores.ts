// Share restore operations (ext, api.md "Share restores"): the progress of each restore.
import { notFound } from '../domain/errors.ts';
import { applyListQuery, parseListQuery } from '../domain/listing.ts';
import { assertMay, assertOwns, isAdmin } from '../domain/policy.ts';
import type { RestoreRecord } from '../domain/records.ts';
import { nextLinks, type Operation, type OperationContext } from './context.ts';
import { restoreView } from './views.ts';

const LIST_SPEC = {
  sortKeys: ['id', 'status', 'created_at', 'updated_at', 'finished_at', 'backup_id', 'share_id'],
  filterKeys: ['backup_id', 'share_id', 'status'],
};

export const listRestores: Operation = async (ctx) => {
  assertMay(ctx.caller, 'list', 'share_restore:get_all');
  const query = parseListQuery(ctx.query, LIST_SPEC);
  const admin = isAdmin(ctx.caller);
  const scope = query.allTenants && admin ? undefined : ctx.caller.projectId;
  const page = applyListQuery(await ctx.deps.repository.listRestores(scope), query);
  return {
    status: 200,
    body: { share_restores: page.items.map((r) => restoreView(r, admin)), ...nextLinks(ctx, 'share_restores', page.nextOffset) },
  };
};

/** The restore `id`: 404 when there is none, 403 when it is another project's (an admin owns every one). */
export async function loadRestore(ctx: OperationContext, id: string): Promise<RestoreRecord> {
  const restore = await ctx.deps.repository.getRestore(id);
  if (!restore) throw notFound(`Restore ${id} could not be found.`);
  assertOwns(ctx.caller, restore, 'Restore');
  return restore;
}

export const showRestore: Operation = async (ctx) => {
  const restore = await loadRestore(ctx, ctx.params.id!);
  assertMay(ctx.caller, 'show', 'share_restore:get');
  return { status: 200, body: { share_restore: restoreView(restore, isAdmin(ctx.caller)) } };
};

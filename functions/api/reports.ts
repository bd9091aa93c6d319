// Report routes (ext): the per-entry report of a backup or a restore (copier/progress/report.ts), read with
// the tenancy and policy of showing the backup or restore itself. Entries are numbered 1, 2, 3…
// (seq) in the order the copier reported them; `offset` skips that many seq numbers, so a page
// is one DynamoDB Query from a key, however long the report.
import { MAX_LIMIT, parseListQuery } from '../domain/listing.ts';
import { assertMay } from '../domain/policy.ts';
import type { ReportSummary } from '../domain/records.ts';
import { loadBackup } from './backups.ts';
import { nextLinks, type Operation, type OperationContext } from './context.ts';
import { loadRestore } from './restores.ts';
import { reportEntryView } from './views.ts';

// no sort or filter: a report reads in the order it was written
const REPORT_QUERY = { sortKeys: ['created_at'], filterKeys: [] };

async function reportPage(ctx: OperationContext, operationId: string, warnings: number) {
  const query = parseListQuery(ctx.query, REPORT_QUERY);
  const limit = query.limit ?? MAX_LIMIT;
  const { repository } = ctx.deps;
  const [items, summary] = await Promise.all([
    repository.listReport(operationId, query.offset, limit),
    repository.getReportSummary(operationId),
  ]);
  const last = items.at(-1);
  const full = limit > 0 && items.length === limit;
  return {
    status: 200,
    body: {
      report: items.map(reportEntryView),
      warnings,
      truncated: isTruncated(summary, warnings),
      ...nextLinks(ctx, 'report', full && last ? last.seq : undefined),
    },
  };
}

/**
 * Whether the report lacks entries its record counts: the copier said so (over its cap), or the
 * record counts more than the copier stored (a write lost, or a run killed before it closed).
 */
export function isTruncated(summary: ReportSummary | undefined, warnings: number): boolean {
  if (summary) return summary.truncated || summary.stored < warnings;
  return warnings > 0;
}

export const showBackupReport: Operation = async (ctx) => {
  const id = ctx.params.id!;
  const backup = await loadBackup(ctx, id);
  assertMay(ctx.caller, 'show', 'share_backup:get');
  return reportPage(ctx, id, backup.warnings ?? 0);
};

export const showRestoreReport: Operation = async (ctx) => {
  const id = ctx.params.id!;
  const restore = await loadRestore(ctx, id);
  assertMay(ctx.caller, 'show', 'share_restore:get');
  return reportPage(ctx, id, restore.warnings ?? 0);
};

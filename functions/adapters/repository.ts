// The DynamoDB repository: one table per resource (functions/adapters/tables.ts), conditional
// writes for every status change, the restore and backup claims as single transactions
// (docs/developer-reference.md "Tables").
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { BackupRecord, ReportItem, ReportSummary, RestoreRecord, ShareRecord, ShareStatus } from '../domain/records.ts';
import { AwsHttpClient, AwsRequestError, DYNAMODB } from './aws-http.ts';
import { PROJECT_INDEX, REPORT_PARTITION_KEY, REPORT_SORT_KEY, type TableNames } from './tables.ts';

/** A conditional write found the record missing or not in the status it expected. */
export class ConditionFailedError extends Error {
  override name = 'ConditionFailedError';
}

export interface UpdateSpec<T> {
  set?: Partial<T>;
  remove?: ReadonlyArray<keyof T & string>;
  /** the statuses the record may leave: every status change is conditional on where it comes from */
  fromStatuses?: readonly string[];
  /** attributes that must hold exactly these values (e.g. the active_restore_id of a claim) */
  expect?: Partial<T>;
}

export interface RestoreClaim {
  restore: RestoreRecord;
  /** "available" for a restore onto an existing share; "creating" for a share made from the backup */
  targetFromStatus: Extract<ShareStatus, 'available' | 'creating'>;
  now: string;
}

export interface Repository {
  getShare(id: string): Promise<ShareRecord | undefined>;
  getBackup(id: string): Promise<BackupRecord | undefined>;
  getRestore(id: string): Promise<RestoreRecord | undefined>;
  /** a project's records; undefined: every project (admin's all_tenants) */
  listShares(projectId: string | undefined): Promise<ShareRecord[]>;
  listBackups(projectId: string | undefined): Promise<BackupRecord[]>;
  listRestores(projectId: string | undefined): Promise<RestoreRecord[]>;
  countBackups(projectId: string): Promise<number>;
  /** backups taken of this share (they live in the share's project) */
  countShareBackups(share: Pick<ShareRecord, 'id' | 'project_id'>): Promise<number>;
  /**
   * whether any share of any project has this type, read consistently (a share written before the
   * call is seen): the in-use check of a share type's delete
   */
  hasShareOfType(shareTypeId: string): Promise<boolean>;
  /** creates a share; ConditionFailedError when the id exists */
  putShare(share: ShareRecord): Promise<void>;
  updateShare(id: string, spec: UpdateSpec<ShareRecord>): Promise<ShareRecord>;
  updateBackup(id: string, spec: UpdateSpec<BackupRecord>): Promise<BackupRecord>;
  deleteShare(id: string, fromStatuses: readonly string[]): Promise<void>;
  deleteBackup(id: string, fromStatuses: readonly string[]): Promise<void>;
  /** backup Put + share available → backup_creating (+active_backup_id), one transaction */
  claimBackup(backup: BackupRecord, now: string): Promise<void>;
  /** undoes claimBackup when the workflow could not be started */
  releaseBackupClaim(backup: BackupRecord, now: string): Promise<void>;
  /** backup available → restoring, target → backup_restoring, restore Put: one transaction */
  claimRestore(claim: RestoreClaim): Promise<void>;
  /** undoes claimRestore when the workflow could not be started */
  releaseRestoreClaim(claim: RestoreClaim): Promise<void>;
  /** report entries of a backup or restore with seq > afterSeq, in seq order, at most `limit` */
  listReport(operationId: string, afterSeq: number, limit: number): Promise<ReportItem[]>;
  /** the report's summary item; undefined while the copier runs (or when it was killed) */
  getReportSummary(operationId: string): Promise<ReportSummary | undefined>;
}

export type { TableNames } from './tables.ts';

/** A DynamoDB update: expression, names and values, from an UpdateSpec. */
export function buildUpdate<T>(id: string, spec: UpdateSpec<T>): {
  Key: { id: string };
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const nameOf = (field: string) => {
    const key = `#f${Object.keys(names).length}`;
    names[key] = field;
    return key;
  };
  const valueOf = (value: unknown) => {
    const key = `:v${Object.keys(values).length}`;
    values[key] = value;
    return key;
  };
  const sets = Object.entries(spec.set ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([field, v]) => `${nameOf(field)} = ${valueOf(v)}`);
  const removes = (spec.remove ?? []).map((field) => nameOf(field));
  const conditions = [`attribute_exists(${nameOf('id')})`];
  if (spec.fromStatuses) {
    const statusName = nameOf('status');
    conditions.push(`${statusName} IN (${spec.fromStatuses.map(valueOf).join(', ')})`);
  }
  for (const [field, v] of Object.entries(spec.expect ?? {})) {
    conditions.push(`${nameOf(field)} = ${valueOf(v)}`);
  }
  const clauses = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean);
  return {
    Key: { id },
    UpdateExpression: clauses.join(' '),
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
  };
}

export function restoreClaimUpdates(claim: RestoreClaim): { backup: UpdateSpec<BackupRecord>; share: UpdateSpec<ShareRecord> } {
  const { restore, now } = claim;
  return {
    backup: {
      set: { status: 'restoring', active_restore_id: restore.id, restore_progress: '0', updated_at: now },
      fromStatuses: ['available'],
    },
    share: {
      set: { status: 'backup_restoring', active_restore_id: restore.id, source_backup_id: restore.backup_id, updated_at: now },
      fromStatuses: [claim.targetFromStatus],
      ...(claim.targetFromStatus === 'creating' ? { expect: { source_backup_id: restore.backup_id } } : {}),
    },
  };
}

export function restoreReleaseUpdates(claim: RestoreClaim): { backup: UpdateSpec<BackupRecord>; share: UpdateSpec<ShareRecord> } {
  const { restore, now } = claim;
  return {
    backup: { set: { status: 'available', updated_at: now }, remove: ['active_restore_id'], fromStatuses: ['restoring'], expect: { active_restore_id: restore.id } },
    share: {
      // a share made for the backup goes back to creating; the API then removes it
      set: { status: claim.targetFromStatus, updated_at: now },
      remove: ['active_restore_id'],
      fromStatuses: ['backup_restoring'],
      expect: { active_restore_id: restore.id },
    },
  };
}

export function backupClaimUpdate(backup: BackupRecord, now: string): UpdateSpec<ShareRecord> {
  return { set: { status: 'backup_creating', active_backup_id: backup.id, updated_at: now }, fromStatuses: ['available'] };
}

export function backupReleaseUpdate(backup: BackupRecord, now: string): UpdateSpec<ShareRecord> {
  return { set: { status: 'available', updated_at: now }, remove: ['active_backup_id'], fromStatuses: ['backup_creating'], expect: { active_backup_id: backup.id } };
}

function isConditionFailure(err: unknown): boolean {
  if (!(err instanceof AwsRequestError)) return false;
  if (err.type === 'ConditionalCheckFailedException') return true;
  if (err.type === 'TransactionCanceledException') {
    // ConditionalCheckFailed: a record moved; TransactionConflict: a concurrent claim holds it
    const reasons = (err.body.CancellationReasons ?? []) as { Code?: string }[];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict');
  }
  return false;
}

type AttributeMap = Parameters<typeof unmarshall>[0];

/** A request as the document client took it (plain values); its marshalled form is what is sent. */
interface DocumentInput {
  TableName?: string;
  Key?: Record<string, unknown>;
  Item?: object;
  ExpressionAttributeValues?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Plain values → DynamoDB's attribute values, in the fields that hold them (as lib-dynamodb did). */
function toWire(input: DocumentInput): Record<string, unknown> {
  const options = { removeUndefinedValues: true };
  return {
    ...input,
    ...(input.Key ? { Key: marshall(input.Key, options) } : {}),
    ...(input.Item ? { Item: marshall(input.Item, options) } : {}),
    ...(input.ExpressionAttributeValues ? { ExpressionAttributeValues: marshall(input.ExpressionAttributeValues, options) } : {}),
  };
}

async function conditional<T>(write: () => Promise<T>, what: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isConditionFailure(err)) throw new ConditionFailedError(`${what}: the record is missing or not in the expected state`);
    throw err;
  }
}

/**
 * DynamoDB's JSON protocol over functions/adapters/aws-http.ts (not the SDK's client: see there why),
 * with the SDK's marshalling (@aws-sdk/util-dynamodb), the same requests lib-dynamodb sent.
 */
export class DynamoRepository implements Repository {
  constructor(private readonly tables: TableNames, private readonly db: AwsHttpClient = new AwsHttpClient(DYNAMODB)) {}

  private call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    return this.db.json<T>(`DynamoDB_20120810.${operation}`, input);
  }

  /** Query or Scan, page by page (LastEvaluatedKey → ExclusiveStartKey), items unmarshalled. */
  private async *pages(operation: 'Query' | 'Scan', input: DocumentInput): AsyncGenerator<{ Items: Record<string, unknown>[]; Count: number }> {
    let start: AttributeMap | undefined;
    do {
      const out = await this.call<{ Items?: AttributeMap[]; Count?: number; LastEvaluatedKey?: AttributeMap }>(operation, {
        ...toWire(input), ...(start ? { ExclusiveStartKey: start } : {}),
      });
      yield { Items: (out.Items ?? []).map((item) => unmarshall(item)), Count: out.Count ?? 0 };
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private async getItem<T>(input: DocumentInput): Promise<T | undefined> {
    const out = await this.call<{ Item?: AttributeMap }>('GetItem', toWire(input));
    return out.Item ? (unmarshall(out.Item) as T) : undefined;
  }

  private async transactWrite(items: Partial<Record<'Put' | 'Update' | 'Delete', DocumentInput>>[]): Promise<void> {
    await this.call('TransactWriteItems', {
      TransactItems: items.map((item) => Object.fromEntries(Object.entries(item).map(([kind, input]) => [kind, toWire(input!)]))),
    });
  }

  private get<T>(table: string, id: string): Promise<T | undefined> {
    return this.getItem<T>({ TableName: table, Key: { id }, ConsistentRead: true });
  }

  getShare(id: string) { return this.get<ShareRecord>(this.tables.shares, id); }
  getBackup(id: string) { return this.get<BackupRecord>(this.tables.backups, id); }
  getRestore(id: string) { return this.get<RestoreRecord>(this.tables.restores, id); }

  private async list<T>(table: string, projectId: string | undefined): Promise<T[]> {
    const items: T[] = [];
    const pages = projectId === undefined
      ? this.pages('Scan', { TableName: table })
      : this.pages('Query', {
        TableName: table,
        IndexName: PROJECT_INDEX,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': 'project_id' },
        ExpressionAttributeValues: { ':p': projectId },
      });
    for await (const page of pages) items.push(...((page.Items ?? []) as T[]));
    return items;
  }

  listShares(projectId: string | undefined) { return this.list<ShareRecord>(this.tables.shares, projectId); }

  async hasShareOfType(shareTypeId: string): Promise<boolean> {
    const pages = this.pages('Scan', {
      TableName: this.tables.shares, ConsistentRead: true, ProjectionExpression: 'id',
      FilterExpression: '#t = :t', ExpressionAttributeNames: { '#t': 'share_type_id' }, ExpressionAttributeValues: { ':t': shareTypeId },
    });
    for await (const page of pages) if (page.Items.length > 0) return true;
    return false;
  }
  listBackups(projectId: string | undefined) { return this.list<BackupRecord>(this.tables.backups, projectId); }
  listRestores(projectId: string | undefined) { return this.list<RestoreRecord>(this.tables.restores, projectId); }

  async countBackups(projectId: string): Promise<number> {
    let count = 0;
    for await (const page of this.pages('Query', {
      TableName: this.tables.backups,
      IndexName: PROJECT_INDEX,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': 'project_id' },
      ExpressionAttributeValues: { ':p': projectId },
      Select: 'COUNT',
    })) count += page.Count ?? 0;
    return count;
  }

  async countShareBackups(share: Pick<ShareRecord, 'id' | 'project_id'>): Promise<number> {
    let count = 0;
    for await (const page of this.pages('Query', {
      TableName: this.tables.backups,
      IndexName: PROJECT_INDEX,
      KeyConditionExpression: '#p = :p',
      FilterExpression: '#s = :s',
      ExpressionAttributeNames: { '#p': 'project_id', '#s': 'share_id' },
      ExpressionAttributeValues: { ':p': share.project_id, ':s': share.id },
      Select: 'COUNT',
    })) count += page.Count ?? 0;
    return count;
  }

  async putShare(share: ShareRecord): Promise<void> {
    await conditional(() => this.call('PutItem', toWire({
      TableName: this.tables.shares, Item: share, ConditionExpression: 'attribute_not_exists(id)',
    })), `create share ${share.id}`);
  }

  private async update<T>(table: string, id: string, spec: UpdateSpec<T>): Promise<T> {
    const out = await conditional(() => this.call<{ Attributes?: AttributeMap }>('UpdateItem', toWire({
      TableName: table, ...buildUpdate(id, spec), ReturnValues: 'ALL_NEW',
    })), `update ${id}`);
    return (out.Attributes ? unmarshall(out.Attributes) : undefined) as T;
  }

  updateShare(id: string, spec: UpdateSpec<ShareRecord>) { return this.update(this.tables.shares, id, spec); }
  updateBackup(id: string, spec: UpdateSpec<BackupRecord>) { return this.update(this.tables.backups, id, spec); }

  private async delete(table: string, id: string, fromStatuses: readonly string[]): Promise<void> {
    const values = Object.fromEntries(fromStatuses.map((s, i) => [`:s${i}`, s]));
    await conditional(() => this.call('DeleteItem', toWire({
      TableName: table,
      Key: { id },
      ConditionExpression: `attribute_exists(id) AND #status IN (${Object.keys(values).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    })), `delete ${id}`);
  }

  deleteShare(id: string, fromStatuses: readonly string[]) { return this.delete(this.tables.shares, id, fromStatuses); }
  deleteBackup(id: string, fromStatuses: readonly string[]) { return this.delete(this.tables.backups, id, fromStatuses); }

  async claimBackup(backup: BackupRecord, now: string): Promise<void> {
    await conditional(() => this.transactWrite([
      { Put: { TableName: this.tables.backups, Item: backup, ConditionExpression: 'attribute_not_exists(id)' } },
      { Update: { TableName: this.tables.shares, ...buildUpdate(backup.share_id, backupClaimUpdate(backup, now)) } },
    ]), `claim share ${backup.share_id} for backup ${backup.id}`);
  }

  async releaseBackupClaim(backup: BackupRecord, now: string): Promise<void> {
    await conditional(() => this.transactWrite([
      {
        Delete: {
          TableName: this.tables.backups, Key: { id: backup.id },
          ConditionExpression: '#s = :creating', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':creating': 'creating' },
        },
      },
      { Update: { TableName: this.tables.shares, ...buildUpdate(backup.share_id, backupReleaseUpdate(backup, now)) } },
    ]), `release the backup claim of ${backup.id}`);
  }

  async claimRestore(claim: RestoreClaim): Promise<void> {
    const updates = restoreClaimUpdates(claim);
    await conditional(() => this.transactWrite([
      { Update: { TableName: this.tables.backups, ...buildUpdate(claim.restore.backup_id, updates.backup) } },
      { Update: { TableName: this.tables.shares, ...buildUpdate(claim.restore.share_id, updates.share) } },
      { Put: { TableName: this.tables.restores, Item: claim.restore, ConditionExpression: 'attribute_not_exists(id)' } },
    ]), `claim backup ${claim.restore.backup_id} and share ${claim.restore.share_id}`);
  }

  async listReport(operationId: string, afterSeq: number, limit: number): Promise<ReportItem[]> {
    if (limit <= 0) return [];
    const items: ReportItem[] = [];
    for await (const page of this.pages('Query', {
      TableName: this.tables.reports,
      Limit: limit,
      KeyConditionExpression: '#o = :o AND #s > :after',
      ExpressionAttributeNames: { '#o': REPORT_PARTITION_KEY, '#s': REPORT_SORT_KEY },
      ExpressionAttributeValues: { ':o': operationId, ':after': afterSeq },
    })) {
      items.push(...(page.Items as unknown as ReportItem[]));
      if (items.length >= limit) break;
    }
    return items.slice(0, limit);
  }

  async getReportSummary(operationId: string): Promise<ReportSummary | undefined> {
    return this.getItem<ReportSummary>({ TableName: this.tables.reports, Key: { [REPORT_PARTITION_KEY]: operationId, [REPORT_SORT_KEY]: 0 } });
  }

  async releaseRestoreClaim(claim: RestoreClaim): Promise<void> {
    const updates = restoreReleaseUpdates(claim);
    await conditional(() => this.transactWrite([
      { Update: { TableName: this.tables.backups, ...buildUpdate(claim.restore.backup_id, updates.backup) } },
      { Update: { TableName: this.tables.shares, ...buildUpdate(claim.restore.share_id, updates.share) } },
      {
        Delete: {
          TableName: this.tables.restores, Key: { id: claim.restore.id },
          ConditionExpression: '#s = :accepted', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':accepted': 'accepted' },
        },
      },
    ]), `release the restore claim ${claim.restore.id}`);
  }
}

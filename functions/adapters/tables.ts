// Table design: one table per resource, partition key `id`, and a `by_project` index
// (project_id, created_at) for a tenant's lists; and the reports table, one item per report entry
// of a backup or restore (partition key the operation's id, sort key a number the copier counts up
// from 1). The same definitions create the tables in DynamoDB Local and in the CDK stack.
export interface ResourceTableDefinition {
  /** logical name; the physical name comes from configuration */
  logicalName: 'shares' | 'backups' | 'restores';
  partitionKey: 'id';
  projectIndex: { name: 'by_project'; partitionKey: 'project_id'; sortKey: 'created_at' };
}

/** Per-entry reports (copier/progress/report.ts): read by operation, in the order the copier wrote them. */
export interface ReportTableDefinition {
  logicalName: 'reports';
  partitionKey: typeof REPORT_PARTITION_KEY;
  sortKey: typeof REPORT_SORT_KEY;
}

/**
 * Share types an admin created through the API (functions/api/share-types.ts); the configured ones
 * (SHARE_TYPES) are not stored. Few items, read by id or all at once, so no index.
 */
export interface ShareTypeTableDefinition {
  logicalName: 'shareTypes';
  partitionKey: 'id';
}

export type TableDefinition = ResourceTableDefinition | ReportTableDefinition | ShareTypeTableDefinition;

/** The physical name of each table, by logical name (configuration: environment variables, the local prefix). */
export type TableNames = Record<TableDefinition['logicalName'], string>;

export const PROJECT_INDEX = 'by_project';
/** the backup id or the restore id the entry belongs to */
export const REPORT_PARTITION_KEY = 'operation_id';
/** 1, 2, 3… in the order the copier reported; 0 is the operation's summary item (stored, truncated) */
export const REPORT_SORT_KEY = 'seq';

export const RESOURCE_TABLES: ResourceTableDefinition[] = (['shares', 'backups', 'restores'] as const).map((logicalName) => ({
  logicalName,
  partitionKey: 'id',
  projectIndex: { name: PROJECT_INDEX, partitionKey: 'project_id', sortKey: 'created_at' },
}));

export const REPORTS_TABLE: ReportTableDefinition = { logicalName: 'reports', partitionKey: REPORT_PARTITION_KEY, sortKey: REPORT_SORT_KEY };

export const SHARE_TYPES_TABLE: ShareTypeTableDefinition = { logicalName: 'shareTypes', partitionKey: 'id' };

export const TABLES: TableDefinition[] = [...RESOURCE_TABLES, REPORTS_TABLE, SHARE_TYPES_TABLE];

/** CreateTable input for one table, as DynamoDB's API takes it (on-demand billing). */
export function createTableInput(def: TableDefinition, tableName: string) {
  if (def.logicalName === 'reports') {
    return {
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST' as const,
      AttributeDefinitions: [
        { AttributeName: REPORT_PARTITION_KEY, AttributeType: 'S' as const },
        { AttributeName: REPORT_SORT_KEY, AttributeType: 'N' as const },
      ],
      KeySchema: [
        { AttributeName: REPORT_PARTITION_KEY, KeyType: 'HASH' as const },
        { AttributeName: REPORT_SORT_KEY, KeyType: 'RANGE' as const },
      ],
    };
  }
  if (def.logicalName === 'shareTypes') {
    return {
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST' as const,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
    };
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: 'id', AttributeType: 'S' as const },
      { AttributeName: 'project_id', AttributeType: 'S' as const },
      { AttributeName: 'created_at', AttributeType: 'S' as const },
    ],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: [
      {
        IndexName: def.projectIndex.name,
        KeySchema: [
          { AttributeName: 'project_id', KeyType: 'HASH' as const },
          { AttributeName: 'created_at', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
    ],
  };
}

// Table design: one table per resource, partition key `id`, and a `by_project` index
// (project_id, created_at) for a tenant's lists. The same definitions create the tables in
// DynamoDB Local and in the CDK stack.
export interface TableDefinition {
  /** logical name; the physical name comes from configuration */
  logicalName: 'shares' | 'backups' | 'restores';
  partitionKey: 'id';
  projectIndex: { name: 'by_project'; partitionKey: 'project_id'; sortKey: 'created_at' };
}

export const PROJECT_INDEX = 'by_project';

export const TABLES: TableDefinition[] = (['shares', 'backups', 'restores'] as const).map((logicalName) => ({
  logicalName,
  partitionKey: 'id',
  projectIndex: { name: PROJECT_INDEX, partitionKey: 'project_id', sortKey: 'created_at' },
}));

/** CreateTable input for one table, as DynamoDB's API takes it (on-demand billing). */
export function createTableInput(def: TableDefinition, tableName: string) {
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

// The share type catalog (issue 20): the configured types (SHARE_TYPES, read-only) and the types an
// admin created through the API, stored in the shareTypes table (functions/adapters/tables.ts
// SHARE_TYPES_TABLE). Names are unique across both: the configured names are checked by the caller
// (functions/api/share-types.ts), the stored ones by a name-claim item (`name:<name>`) written in
// the same TransactWriteItems as the type, with attribute_not_exists, so of two concurrent creates
// of one name exactly one succeeds. A rename moves the claim in one transaction; a delete removes
// both. Only GetItem, PutItem, UpdateItem, DeleteItem, Scan and TransactWriteItems are used (what
// the API role may do on that table).
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ShareTypeConfig, ShareTypeSnapshot, ShareTypeUpdate, StoredShareType } from '../domain/share-types.ts';
import { AwsHttpClient, AwsRequestError, DYNAMODB } from './aws-http.ts';

export type CatalogErrorKind = 'name_taken' | 'type_missing' | 'spec_missing' | 'access_exists' | 'access_missing';

/** A catalog write that could not be made, and why (the API turns each into Manila's answer). */
export class ShareTypeCatalogError extends Error {
  override name = 'ShareTypeCatalogError';
  constructor(readonly kind: CatalogErrorKind, message: string) {
    super(message);
  }
}

export interface ShareTypeCatalog {
  /** the configured types (SHARE_TYPES or the built-in default) */
  readonly configured: ShareTypeConfig;
  /** every stored type (claim items skipped) */
  listStored(): Promise<StoredShareType[]>;
  getStored(id: string): Promise<StoredShareType | undefined>;
  /** name_taken when a stored type has the name */
  create(type: StoredShareType): Promise<void>;
  /** type_missing, name_taken; answers the type as it is now */
  update(type: StoredShareType, change: ShareTypeUpdate): Promise<StoredShareType>;
  /** type_missing */
  delete(type: StoredShareType): Promise<void>;
  /** adds or replaces these specs; type_missing */
  setExtraSpecs(id: string, specs: Record<string, string>): Promise<void>;
  /** type_missing, spec_missing */
  deleteExtraSpec(id: string, key: string): Promise<void>;
  /** type_missing, access_exists */
  addProjectAccess(id: string, project: string): Promise<void>;
  /** type_missing, access_missing */
  removeProjectAccess(id: string, project: string): Promise<void>;
  /** marks the type as being deleted (deleting_since); type_missing */
  markDeleting(id: string, since: string): Promise<void>;
  /** unmarks it (a delete that found the type in use); a type gone meanwhile is no error */
  clearDeleting(id: string): Promise<void>;
}

/** The catalog's refusals, worded once for both catalogs (the API answers them as Manila does). */
export const catalogErrors = {
  nameTaken: (name: string) => new ShareTypeCatalogError('name_taken', `Share Type ${name} already exists.`),
  specMissing: (id: string, key: string) => new ShareTypeCatalogError('spec_missing', `Share Type ${id} has no extra specs with key ${key}.`),
  typeMissing: (id: string) => new ShareTypeCatalogError('type_missing', `Share type ${id} could not be found.`),
  accessExists: (id: string, project: string) => new ShareTypeCatalogError('access_exists', `Share type access for ${id} / ${project} combination already exists.`),
  accessMissing: (id: string, project: string) => new ShareTypeCatalogError('access_missing', `Share type access not found for ${id} / ${project} combination.`),
};

/** Configured and stored types, read once (one Scan) for a request. */
export async function catalogSnapshot(catalog: ShareTypeCatalog): Promise<ShareTypeSnapshot> {
  return { config: catalog.configured, stored: await catalog.listStored() };
}

/** The id of the item that claims a name among stored types. */
export const nameClaimId = (name: string) => `name:${name}`;
const isClaimId = (id: string) => id.startsWith('name:');

type AttributeMap = Parameters<typeof unmarshall>[0];

/** A stored item → the domain's StoredShareType (the projects string set → a sorted array). */
function fromItem(item: Record<string, unknown>): StoredShareType {
  const projects = item.projects instanceof Set ? [...(item.projects as Set<string>)] : Array.isArray(item.projects) ? (item.projects as string[]) : [];
  return {
    id: String(item.id),
    name: String(item.name),
    description: (item.description as string | null | undefined) ?? null,
    is_public: item.is_public !== false,
    extra_specs: { ...((item.extra_specs ?? {}) as Record<string, string>) },
    projects: projects.sort(),
    created_at: String(item.created_at ?? ''),
    ...(typeof item.deleting_since === 'string' ? { deleting_since: item.deleting_since } : {}),
  };
}

function toItem(type: StoredShareType): Record<string, unknown> {
  const { projects, ...rest } = type;
  // an empty string set cannot be stored: no attribute until a project is added
  return { ...rest, kind: 'share_type', ...(projects.length ? { projects: new Set(projects) } : {}) };
}

const marshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false };

/** The cancellation reason codes of a cancelled transaction, in the order of its items. */
function cancellationCodes(err: unknown): string[] | undefined {
  if (!(err instanceof AwsRequestError) || err.type !== 'TransactionCanceledException') return undefined;
  return ((err.body.CancellationReasons ?? []) as { Code?: string }[]).map((r) => r.Code ?? 'None');
}

const isConditionFailure = (err: unknown) => err instanceof AwsRequestError && err.type === 'ConditionalCheckFailedException';

export class DynamoShareTypeCatalog implements ShareTypeCatalog {
  constructor(
    readonly configured: ShareTypeConfig,
    private readonly table: string,
    private readonly db: AwsHttpClient = new AwsHttpClient(DYNAMODB),
  ) {}

  private call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    return this.db.json<T>(`DynamoDB_20120810.${operation}`, input);
  }

  /**
   * A transaction, retried while DynamoDB cancels it only for a conflict with another transaction
   * on the same items (TransactionConflict: the other one may still fail; the retry then sees what
   * it wrote and fails on the condition instead).
   */
  private async transact(items: Record<string, unknown>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call('TransactWriteItems', { TransactItems: items });
        return;
      } catch (err) {
        const codes = cancellationCodes(err);
        const conflictOnly = codes !== undefined && codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
        if (!conflictOnly || attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
      }
    }
  }

  async listStored(): Promise<StoredShareType[]> {
    const types: StoredShareType[] = [];
    let start: AttributeMap | undefined;
    do {
      const out = await this.call<{ Items?: AttributeMap[]; LastEvaluatedKey?: AttributeMap }>('Scan', {
        TableName: this.table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}),
      });
      for (const raw of out.Items ?? []) {
        const item = unmarshall(raw);
        if (!isClaimId(String(item.id))) types.push(fromItem(item));
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return types;
  }

  async getStored(id: string): Promise<StoredShareType | undefined> {
    if (isClaimId(id)) return undefined;
    const out = await this.call<{ Item?: AttributeMap }>('GetItem', { TableName: this.table, Key: marshall({ id }), ConsistentRead: true });
    return out.Item ? fromItem(unmarshall(out.Item)) : undefined;
  }

  async create(type: StoredShareType): Promise<void> {
    try {
      await this.transact([
        { Put: { TableName: this.table, Item: marshall(toItem(type), marshallOptions), ConditionExpression: 'attribute_not_exists(id)' } },
        {
          Put: {
            TableName: this.table,
            Item: marshall({ id: nameClaimId(type.name), kind: 'name_claim', type_id: type.id }),
            ConditionExpression: 'attribute_not_exists(id)',
          },
        },
      ]);
    } catch (err) {
      const codes = cancellationCodes(err);
      if (codes?.[1] === 'ConditionalCheckFailed' || codes?.[1] === 'TransactionConflict') {
        throw catalogErrors.nameTaken(type.name);
      }
      if (codes?.[0] === 'ConditionalCheckFailed') throw catalogErrors.nameTaken(type.id);
      throw err;
    }
  }

  async update(type: StoredShareType, change: ShareTypeUpdate): Promise<StoredShareType> {
    const names: Record<string, string> = { '#name': 'name' };
    const values: Record<string, unknown> = { ':old': type.name };
    const sets: string[] = [];
    for (const [field, value] of Object.entries(change)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    const update = {
      TableName: this.table,
      Key: marshall({ id: type.id }),
      UpdateExpression: `SET ${sets.join(', ')}`,
      // the type as read: a concurrent rename or delete makes this one fail rather than undo it
      ConditionExpression: 'attribute_exists(id) AND #name = :old',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: marshall(values, marshallOptions),
    };
    const missing = () => catalogErrors.typeMissing(type.id);
    if (change.name === undefined || change.name === type.name) {
      try {
        await this.call('UpdateItem', update);
      } catch (err) {
        if (isConditionFailure(err)) throw missing();
        throw err;
      }
    } else {
      try {
        await this.transact([
          { Update: update },
          {
            Put: {
              TableName: this.table,
              Item: marshall({ id: nameClaimId(change.name), kind: 'name_claim', type_id: type.id }),
              ConditionExpression: 'attribute_not_exists(id)',
            },
          },
          { Delete: { TableName: this.table, Key: marshall({ id: nameClaimId(type.name) }) } },
        ]);
      } catch (err) {
        const codes = cancellationCodes(err);
        if (codes?.[1] === 'ConditionalCheckFailed' || codes?.[1] === 'TransactionConflict') {
          throw catalogErrors.nameTaken(change.name);
        }
        if (codes?.[0] === 'ConditionalCheckFailed') throw missing();
        throw err;
      }
    }
    const now = await this.getStored(type.id);
    if (!now) throw missing();
    return now;
  }

  async delete(type: StoredShareType): Promise<void> {
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.table, Key: marshall({ id: type.id }),
            ConditionExpression: 'attribute_exists(id) AND #name = :name',
            ExpressionAttributeNames: { '#name': 'name' },
            ExpressionAttributeValues: marshall({ ':name': type.name }),
          },
        },
        { Delete: { TableName: this.table, Key: marshall({ id: nameClaimId(type.name) }) } },
      ]);
    } catch (err) {
      if (cancellationCodes(err)?.[0] === 'ConditionalCheckFailed') throw catalogErrors.typeMissing(type.id);
      throw err;
    }
  }

  /** An UpdateItem on one type; a failed condition is answered by what `explain` finds in the item now. */
  private async updateType(id: string, input: Record<string, unknown>, explain: (now: StoredShareType | undefined) => ShareTypeCatalogError): Promise<void> {
    try {
      await this.call('UpdateItem', { TableName: this.table, Key: marshall({ id }), ...input });
    } catch (err) {
      if (isConditionFailure(err)) throw explain(await this.getStored(id));
      throw err;
    }
  }

  async setExtraSpecs(id: string, specs: Record<string, string>): Promise<void> {
    const entries = Object.entries(specs);
    if (entries.length === 0) return;
    const names: Record<string, string> = { '#specs': 'extra_specs' };
    const values: Record<string, unknown> = {};
    entries.forEach(([key, value], i) => { names[`#k${i}`] = key; values[`:v${i}`] = value; });
    await this.updateType(id, {
      UpdateExpression: `SET ${entries.map((_, i) => `#specs.#k${i} = :v${i}`).join(', ')}`,
      ConditionExpression: 'attribute_exists(id) AND attribute_exists(#specs)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: marshall(values),
    }, () => catalogErrors.typeMissing(id));
  }

  async deleteExtraSpec(id: string, key: string): Promise<void> {
    await this.updateType(id, {
      UpdateExpression: 'REMOVE #specs.#k',
      ConditionExpression: 'attribute_exists(id) AND attribute_exists(#specs.#k)',
      ExpressionAttributeNames: { '#specs': 'extra_specs', '#k': key },
    }, (now) => (now
      ? catalogErrors.specMissing(id, key)
      : catalogErrors.typeMissing(id)));
  }

  addProjectAccess(id: string, project: string): Promise<void> { return this.changeProjectAccess(id, project, 'ADD'); }
  removeProjectAccess(id: string, project: string): Promise<void> { return this.changeProjectAccess(id, project, 'DELETE'); }

  /** ADD or DELETE one project in the type's string set, refused when it is already there (or not). */
  private async changeProjectAccess(id: string, project: string, op: 'ADD' | 'DELETE'): Promise<void> {
    await this.updateType(id, {
      UpdateExpression: `${op} #p :set`,
      ConditionExpression: `attribute_exists(id) AND ${op === 'ADD' ? 'NOT ' : ''}contains(#p, :project)`,
      ExpressionAttributeNames: { '#p': 'projects' },
      ExpressionAttributeValues: marshall({ ':set': new Set([project]), ':project': project }),
    }, (now) => (!now ? catalogErrors.typeMissing(id) : op === 'ADD' ? catalogErrors.accessExists(id, project) : catalogErrors.accessMissing(id, project)));
  }

  async markDeleting(id: string, since: string): Promise<void> {
    await this.updateType(id, {
      UpdateExpression: 'SET #d = :since',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeNames: { '#d': 'deleting_since' },
      ExpressionAttributeValues: marshall({ ':since': since }),
    }, () => catalogErrors.typeMissing(id));
  }

  async clearDeleting(id: string): Promise<void> {
    try {
      await this.call('UpdateItem', {
        TableName: this.table, Key: marshall({ id }), UpdateExpression: 'REMOVE #d', ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#d': 'deleting_since' },
      });
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}

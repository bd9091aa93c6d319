// The copier's DynamoDB calls, UpdateItem (progress), GetItem (a restore's checkpoint, read once at
// its start: restore/checkpoint.ts) and PutItem / BatchWriteItem (report entries): the API's signed
// HTTP client (functions/adapters/aws-http.ts: the SDK's own request signer, DynamoDB's JSON
// protocol, retries, errors as AwsRequestError) with the SDK's container credential provider (ECS
// and Fargate task roles; AWS_ACCESS_KEY_ID and friends when set) and the SDK's marshalling
// (@aws-sdk/util-dynamodb).
//
// Why not the DynamoDB client: the copier is a process that often lives for a second or two (a
// small restore, a resumed one with nothing left to do), and the full client cost it 0.25–0.4 s of
// CPU to load and to make its first request (module graph, endpoint rules, credential chain), on a
// 2-core task that needs that CPU for the copy: on latfs, 2,000 files took 2.3–2.5 s with it and
// 2.1 s without progress at all (docs/performance.md). This module and its dependencies are ~50 KB
// bundled and load in a few ms. The wire format is DynamoDB's JSON protocol (awsJson1_0), the same
// request the client sends.
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { memoize } from '@smithy/core/config';
import { AwsHttpClient, DYNAMODB, environmentCredentials, type AwsCredentials } from '../../functions/adapters/aws-http.ts';

/** A DynamoDB error answer: `type` is its __type's last part (e.g. ConditionalCheckFailedException). */
export { AwsRequestError } from '../../functions/adapters/aws-http.ts';

/** An UpdateItem as the document client takes it: plain values, marshalled here. */
export interface UpdateItemInput {
  TableName: string;
  Key: Record<string, unknown>;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export interface UpdateItemClient {
  updateItem(input: UpdateItemInput, signal?: AbortSignal): Promise<void>;
}

/** New items for one table (report entries): plain values, marshalled here. */
export interface ItemWriteClient {
  putItem(table: string, item: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  /** at most 25 items; resolves with the items DynamoDB left unprocessed (to be sent again) */
  batchPutItems(table: string, items: Record<string, unknown>[], signal?: AbortSignal): Promise<Record<string, unknown>[]>;
}

/** BatchWriteItem's limit on requests per call. */
export const BATCH_WRITE_MAX_ITEMS = 25;

/** A GetItem as the document client takes it: a plain key, marshalled here. */
export interface GetItemInput {
  TableName: string;
  Key: Record<string, unknown>;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ConsistentRead?: boolean;
}

export interface GetItemClient {
  /** the item as plain values, or undefined when there is none */
  getItem(input: GetItemInput, signal?: AbortSignal): Promise<Record<string, unknown> | undefined>;
}

/** Fetched again this long before they expire (a task's role credentials last hours; a restore can too). */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;

/**
 * The credentials a copier task has: the environment's (locally, and wherever they are set), else
 * the container credential endpoint's (ECS and Fargate task roles), cached until shortly before
 * they expire. A task with neither fails its progress writes with the provider's message.
 */
export function copierCredentials(env: NodeJS.ProcessEnv = process.env): () => Promise<AwsCredentials> {
  const source = (): Promise<AwsCredentials> => {
    const fromEnvironment = environmentCredentials(env);
    if (fromEnvironment) return Promise.resolve(fromEnvironment);
    return fromHttp({
      awsContainerCredentialsRelativeUri: env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      awsContainerCredentialsFullUri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
      awsContainerAuthorizationToken: env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
      awsContainerAuthorizationTokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    })();
  };
  // the SDK's own cache: one fetch at a time, again once the credentials are within the margin
  const expiring = (credentials: AwsCredentials) => credentials.expiration !== undefined;
  const dueForRefresh = (credentials: AwsCredentials) => expiring(credentials) && credentials.expiration!.getTime() - Date.now() < REFRESH_BEFORE_EXPIRY_MS;
  return memoize(source, dueForRefresh, expiring);
}

export class DynamoDbHttpClient implements UpdateItemClient, GetItemClient, ItemWriteClient {
  private readonly http: AwsHttpClient;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    // one kept-alive connection serves a write a second (main.ts exits explicitly at the end, so an
    // idle socket never keeps a finished task alive)
    this.http = new AwsHttpClient(DYNAMODB, env, { credentials: copierCredentials(env), maxSockets: 4 });
  }

  async updateItem(input: UpdateItemInput, signal?: AbortSignal): Promise<void> {
    await this.http.json('DynamoDB_20120810.UpdateItem', {
      ...input,
      Key: marshall(input.Key, { removeUndefinedValues: true }),
      ...(input.ExpressionAttributeValues ? { ExpressionAttributeValues: marshall(input.ExpressionAttributeValues, { removeUndefinedValues: true }) } : {}),
    }, signal);
  }

  async putItem(table: string, item: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    await this.http.json('DynamoDB_20120810.PutItem', { TableName: table, Item: marshall(item, { removeUndefinedValues: true }) }, signal);
  }

  async batchPutItems(table: string, items: Record<string, unknown>[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    if (items.length === 0) return [];
    if (items.length > BATCH_WRITE_MAX_ITEMS) throw new RangeError(`BatchWriteItem takes at most ${BATCH_WRITE_MAX_ITEMS} items, got ${items.length}`);
    const answer = await this.http.json<{ UnprocessedItems?: Record<string, Array<{ PutRequest?: { Item?: Record<string, never> } }>> }>('DynamoDB_20120810.BatchWriteItem', {
      RequestItems: { [table]: items.map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })) },
    }, signal);
    return (answer.UnprocessedItems?.[table] ?? [])
      .map((request) => request.PutRequest?.Item)
      .filter((item): item is Record<string, never> => item !== undefined)
      .map((item) => unmarshall(item));
  }

  async getItem(input: GetItemInput, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const answer = await this.http.json<{ Item?: Parameters<typeof unmarshall>[0] }>('DynamoDB_20120810.GetItem', { ...input, Key: marshall(input.Key, { removeUndefinedValues: true }) }, signal);
    return answer.Item ? unmarshall(answer.Item) : undefined;
  }
}

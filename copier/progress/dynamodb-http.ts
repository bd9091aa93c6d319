// The copier's DynamoDB calls, UpdateItem (progress), GetItem (a restore's checkpoint, read once at
// its start: restore/checkpoint.ts) and PutItem / BatchWriteItem (report entries), made over HTTP(S)
// with the SDK's own request signer
// (@smithy/signature-v4), the SDK's container credential provider (ECS and Fargate task roles;
// AWS_ACCESS_KEY_ID and friends when set) and the SDK's marshalling (@aws-sdk/util-dynamodb).
//
// Why not the DynamoDB client: the copier is a process that often lives for a second or two (a
// small restore, a resumed one with nothing left to do), and the full client cost it 0.25–0.4 s of
// CPU to load and to make its first request (module graph, endpoint rules, credential chain), on a
// 2-core task that needs that CPU for the copy: on latfs, 2,000 files took 2.3–2.5 s with it and
// 2.1 s without progress at all (docs/performance.md). This module and its dependencies are ~50 KB
// bundled and load in a few ms. The wire format is DynamoDB's JSON protocol (awsJson1_0), the same
// request the client sends.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { Sha256 } from '@smithy/core/checksum';
import { memoize } from '@smithy/core/config';
import { SignatureV4 } from '@smithy/signature-v4';

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

/** A DynamoDB error answer (its __type's last part, e.g. ConditionalCheckFailedException). */
export class DynamoDbRequestError extends Error {
  override name = 'DynamoDbRequestError';
  constructor(readonly type: string, message: string, readonly statusCode: number) {
    super(`${type}: ${message}`);
  }
}

/** The hash the requests are signed with: the SDK's own SHA-256 for Node (node:crypto), the one
 * its clients sign with. */
export const signingSha256 = Sha256;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Fetched again this long before they expire (a task's role credentials last hours; a restore can too). */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;

/**
 * The credentials a copier task has: the environment's (locally, and wherever they are set), else
 * the container credential endpoint's (ECS and Fargate task roles), cached until shortly before
 * they expire. A task with neither fails its progress writes with the provider's message.
 */
export function copierCredentials(env: NodeJS.ProcessEnv = process.env): () => Promise<Credentials> {
  const source = (): Promise<Credentials> => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    if (accessKeyId && secretAccessKey) return Promise.resolve({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
    return fromHttp({
      awsContainerCredentialsRelativeUri: env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      awsContainerCredentialsFullUri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
      awsContainerAuthorizationToken: env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
      awsContainerAuthorizationTokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    })();
  };
  // the SDK's own cache: one fetch at a time, again once the credentials are within the margin
  const expiring = (credentials: Credentials) => credentials.expiration !== undefined;
  const dueForRefresh = (credentials: Credentials) => expiring(credentials) && credentials.expiration!.getTime() - Date.now() < REFRESH_BEFORE_EXPIRY_MS;
  return memoize(source, dueForRefresh, expiring);
}

/** The DynamoDB endpoint: AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL (as the SDK reads them), else the region's. */
export function dynamoDbEndpoint(env: NodeJS.ProcessEnv = process.env): { url: URL; region: string } {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set: no DynamoDB endpoint for progress writes');
  const configured = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  return { url: new URL(configured ?? `https://dynamodb.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`), region };
}

/** Answers worth one more try: throttling, a server error, a dropped connection. */
function retryable(error: unknown): boolean {
  if (error instanceof DynamoDbRequestError) return error.statusCode >= 500 || /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(error.type);
  return error instanceof Error && error.name !== 'AbortError' && error.name !== 'TimeoutError';
}

const ATTEMPTS = 3;

export class DynamoDbHttpClient implements UpdateItemClient, GetItemClient, ItemWriteClient {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const { url, region } = dynamoDbEndpoint(env);
    this.url = url;
    this.signer = new SignatureV4({ service: 'dynamodb', region, credentials: copierCredentials(env), sha256: signingSha256 });
    // one kept-alive connection serves a write a second (main.ts exits explicitly at the end, so an
    // idle socket never keeps a finished task alive)
    this.agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 4 }) : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  async updateItem(input: UpdateItemInput, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({
      ...input,
      Key: marshall(input.Key, { removeUndefinedValues: true }),
      ...(input.ExpressionAttributeValues ? { ExpressionAttributeValues: marshall(input.ExpressionAttributeValues, { removeUndefinedValues: true }) } : {}),
    });
    await this.call('DynamoDB_20120810.UpdateItem', body, signal);
  }

  async putItem(table: string, item: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    await this.call('DynamoDB_20120810.PutItem', JSON.stringify({ TableName: table, Item: marshall(item, { removeUndefinedValues: true }) }), signal);
  }

  async batchPutItems(table: string, items: Record<string, unknown>[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    if (items.length === 0) return [];
    if (items.length > BATCH_WRITE_MAX_ITEMS) throw new RangeError(`BatchWriteItem takes at most ${BATCH_WRITE_MAX_ITEMS} items, got ${items.length}`);
    const body = JSON.stringify({
      RequestItems: { [table]: items.map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })) },
    });
    const answer = JSON.parse(await this.call('DynamoDB_20120810.BatchWriteItem', body, signal) || '{}') as {
      UnprocessedItems?: Record<string, Array<{ PutRequest?: { Item?: Record<string, never> } }>>;
    };
    return (answer.UnprocessedItems?.[table] ?? [])
      .map((request) => request.PutRequest?.Item)
      .filter((item): item is Record<string, never> => item !== undefined)
      .map((item) => unmarshall(item));
  }

  async getItem(input: GetItemInput, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const body = JSON.stringify({ ...input, Key: marshall(input.Key, { removeUndefinedValues: true }) });
    const answer = JSON.parse(await this.call('DynamoDB_20120810.GetItem', body, signal)) as { Item?: Parameters<typeof unmarshall>[0] };
    return answer.Item ? unmarshall(answer.Item) : undefined;
  }

  /** One request, tried again on throttling, a server error or a dropped connection; the answer's text. */
  private async call(target: string, body: string, signal: AbortSignal | undefined): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(target, body, signal);
      } catch (error) {
        if (attempt >= ATTEMPTS || signal?.aborted || !retryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt).unref());
      }
    }
  }

  /** One request; the answer's body on HTTP 200. */
  private async send(target: string, body: string, signal: AbortSignal | undefined): Promise<string> {
    const { url } = this;
    // the request as signed is the request sent
    const signed = await this.signer.sign({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path: url.pathname, query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target, 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    const send = signed.protocol === 'https:' ? httpsRequest : httpRequest;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const { protocol, hostname, port, path, method, headers } = signed;
      const request = send({ protocol, hostname, port, path, method, headers, agent: this.agent, ...(signal ? { signal } : {}) }, resolve);
      request.on('error', reject);
      request.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const status = response.statusCode ?? 0;
    const text = Buffer.concat(chunks).toString('utf8');
    if (status === 200) return text;
    let type = `HTTP ${status}`;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
      if (parsed.__type) type = parsed.__type.slice(parsed.__type.lastIndexOf('#') + 1);
      message = parsed.message ?? parsed.Message ?? message;
    } catch {
      // not JSON (a proxy's page): the text says what it is
    }
    throw new DynamoDbRequestError(type, message, status);
  }
}

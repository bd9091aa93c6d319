// The copier's DynamoDB client (copier/progress/dynamodb-http.ts, on functions/adapters/aws-http.ts) against a real HTTP server that records what
// it receives and answers as DynamoDB does. (Against DynamoDB Local itself, the integration tests
// read the progress records restores write.)
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoProgressSink } from '../../copier/progress/dynamo-progress.ts';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsRequestError, awsEndpoint, DYNAMODB, signingSha256 } from '../../functions/adapters/aws-http.ts';
import { copierCredentials, DynamoDbHttpClient } from '../../copier/progress/dynamodb-http.ts';
import { DynamoCheckpointStore } from '../../copier/restore/checkpoint.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server answering each request with the next of `answers` ([status, body]). */
async function serve(answers: [number, unknown][]): Promise<{ endpoint: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const [status, body] = answers[Math.min(received.length, answers.length) - 1]!;
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, received };
}

const env = (endpoint: string) => ({ AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });

const input = {
  TableName: 'restores',
  Key: { id: 'r1' },
  UpdateExpression: 'SET #a0 = :v0, #a1 = :v1, #a2 = :v2',
  ConditionExpression: 'attribute_exists(#id)',
  ExpressionAttributeNames: { '#id': 'id', '#a0': 'phase', '#a1': 'files_done', '#a2': 'eta_seconds' },
  ExpressionAttributeValues: { ':v0': 'copying', ':v1': 42, ':v2': null },
};

describe('the copier DynamoDB writer', () => {
  it('signs with a hash that gives AWS\'s SigV4 test-suite signature (get-vanilla)', async () => {
    // a server that does not check signatures (DynamoDB Local, the one below) cannot catch a wrong one
    const signer = new SignatureV4({ service: 'service', region: 'us-east-1', sha256: signingSha256, applyChecksum: false, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } });
    const signed = await signer.sign({ method: 'GET', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com' } }, { signingDate: new Date('2015-08-30T12:36:00Z') });
    expect(signed.headers.authorization).toBe('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it('sends a SigV4-signed UpdateItem in the JSON protocol, values marshalled', async () => {
    const { endpoint, received } = await serve([[200, {}]]);
    await new DynamoDbHttpClient(env(endpoint)).updateItem(input);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.headers['x-amz-target']).toBe('DynamoDB_20120810.UpdateItem');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/);
    expect(JSON.parse(request!.body)).toEqual({
      ...input,
      Key: { id: { S: 'r1' } },
      ExpressionAttributeValues: { ':v0': { S: 'copying' }, ':v1': { N: '42' }, ':v2': { NULL: true } },
    });
  });

  it('sends report items as BatchWriteItem PutRequests and a summary as PutItem; hands back what DynamoDB left unprocessed', async () => {
    const unprocessed = { reports: [{ PutRequest: { Item: { operation_id: { S: 'r1' }, seq: { N: '2' }, path: { S: 'b' } } } }] };
    const { endpoint, received } = await serve([[200, { UnprocessedItems: unprocessed }], [200, {}]]);
    const client = new DynamoDbHttpClient(env(endpoint));
    const left = await client.batchPutItems('reports', [{ operation_id: 'r1', seq: 1, path: 'a' }, { operation_id: 'r1', seq: 2, path: 'b' }]);
    expect(left).toEqual([{ operation_id: 'r1', seq: 2, path: 'b' }]);
    expect(received[0]!.headers['x-amz-target']).toBe('DynamoDB_20120810.BatchWriteItem');
    expect(JSON.parse(received[0]!.body)).toEqual({ RequestItems: { reports: [
      { PutRequest: { Item: { operation_id: { S: 'r1' }, seq: { N: '1' }, path: { S: 'a' } } } },
      { PutRequest: { Item: { operation_id: { S: 'r1' }, seq: { N: '2' }, path: { S: 'b' } } } },
    ] } });
    await client.putItem('reports', { operation_id: 'r1', seq: 0, truncated: false });
    expect(received[1]!.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(JSON.parse(received[1]!.body)).toEqual({ TableName: 'reports', Item: { operation_id: { S: 'r1' }, seq: { N: '0' }, truncated: { BOOL: false } } });
    await expect(client.batchPutItems('reports', Array.from({ length: 26 }, (_, seq) => ({ operation_id: 'r1', seq })))).rejects.toThrow(RangeError);
  });

  it('sends a consistent GetItem of a restore\'s checkpoint and reads the item back unmarshalled (none: undefined)', async () => {
    const { endpoint, received } = await serve([[200, { Item: { id: { S: 'r1' }, verified_run_id: { S: 'exec-1' }, verified_below: { N: '4096' } } }], [200, {}]]);
    const store = new DynamoCheckpointStore({ table: 'restores', id: 'r1' }, new DynamoDbHttpClient(env(endpoint)));
    expect(await store.read()).toEqual({ runId: 'exec-1', verifiedBelow: 4096 });
    expect(received[0]!.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(JSON.parse(received[0]!.body)).toEqual({
      TableName: 'restores', Key: { id: { S: 'r1' } }, ConsistentRead: true,
      ProjectionExpression: '#r, #b', ExpressionAttributeNames: { '#r': 'verified_run_id', '#b': 'verified_below' },
    });
    // a record without a checkpoint (an item without them, or no item at all)
    expect(await store.read()).toBeUndefined();
  });

  it('writes a restore\'s checkpoint onto its existing progress record only', async () => {
    const { endpoint, received } = await serve([[200, {}]]);
    await new DynamoCheckpointStore({ table: 'restores', id: 'r1' }, new DynamoDbHttpClient(env(endpoint))).write({ runId: 'exec-1', verifiedBelow: 123 });
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    expect(received[0]!.headers['x-amz-target']).toBe('DynamoDB_20120810.UpdateItem');
    expect(body).toMatchObject({ ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#a0': 'verified_run_id', '#a1': 'verified_below' }, ExpressionAttributeValues: { ':v0': { S: 'exec-1' }, ':v1': { N: '123' } } });
  });

  it('reports DynamoDB\'s error type and message, and does not retry a client error', async () => {
    const { endpoint, received } = await serve([[400, { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' }]]);
    const failure = await new DynamoDbHttpClient(env(endpoint)).updateItem(input).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AwsRequestError);
    expect(failure).toMatchObject({ type: 'ConditionalCheckFailedException', statusCode: 400, message: 'ConditionalCheckFailedException: The conditional request failed' });
    expect(received).toHaveLength(1);
  });

  it('tries again after a server error or throttling, up to three times', async () => {
    const { endpoint, received } = await serve([[500, { __type: 'InternalServerError', message: 'boom' }], [400, { __type: 'x#ThrottlingException', message: 'slow down' }], [200, {}]]);
    await new DynamoDbHttpClient(env(endpoint)).updateItem(input);
    expect(received).toHaveLength(3);
    const { endpoint: failing, received: failures } = await (async () => {
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      return await serve([[503, { __type: 'ServiceUnavailable', message: 'down' }]]);
    })();
    await expect(new DynamoDbHttpClient(env(failing)).updateItem(input)).rejects.toMatchObject({ statusCode: 503 });
    expect(failures).toHaveLength(3);
  });

  it('finds the endpoint as the SDK does, and refuses to guess a region', () => {
    expect(awsEndpoint(DYNAMODB, { AWS_REGION: 'us-east-2' }).url.href).toBe('https://dynamodb.us-east-2.amazonaws.com/');
    expect(awsEndpoint(DYNAMODB, { AWS_DEFAULT_REGION: 'cn-north-1' }).url.href).toBe('https://dynamodb.cn-north-1.amazonaws.com.cn/');
    expect(awsEndpoint(DYNAMODB, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://localhost:8000' }).url.href).toBe('http://localhost:8000/');
    expect(awsEndpoint(DYNAMODB, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' }).url.href).toBe('http://b:2/');
    expect(() => awsEndpoint(DYNAMODB, {})).toThrow(/AWS_REGION/);
  });

  it('takes a Fargate task role\'s credentials from the container endpoint, and fetches them again before they expire', async () => {
    let served = 0;
    const start = Date.now();
    const expiring = [new Date(start + 10 * 60_000), new Date(start + 6 * 3600_000)];
    server = createServer((request, response) => {
      expect(request.url).toBe('/v2/credentials/abc');
      const expiration = expiring[Math.min(served, 1)]!;
      served += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ AccessKeyId: `AKID${served}`, SecretAccessKey: 's', Token: 't', Expiration: expiration.toISOString() }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const full = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/credentials/abc`;
    const credentials = copierCredentials({ AWS_CONTAINER_CREDENTIALS_FULL_URI: full });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      expect(await credentials()).toMatchObject({ accessKeyId: 'AKID1', sessionToken: 't' });
      expect(await credentials()).toMatchObject({ accessKeyId: 'AKID1' });
      expect(served).toBe(1);
      // six minutes on, the first ones expire within the refresh margin: fetched again; the second ones are kept
      vi.setSystemTime(start + 6 * 60_000);
      expect(await credentials()).toMatchObject({ accessKeyId: 'AKID2' });
      expect(await credentials()).toMatchObject({ accessKeyId: 'AKID2' });
      expect(served).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves a progress sink without a region usable: its writes fail (best effort), its creation does not', async () => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    try {
      const sink = new DynamoProgressSink({ progress: { table: 'restores', id: 'r1' } });
      await expect(sink.write({ phase: 'copying', files_total: 1, files_done: 0, bytes_total: 1, bytes_done: 0, warnings: 0, eta_seconds: null, updated_at: '2024-01-01T00:00:00.000Z', percent: '0' })).rejects.toThrow(/AWS_REGION/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

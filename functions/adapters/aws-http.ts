// AWS calls over HTTPS, signed with the SDK's own signer (@smithy/signature-v4): DynamoDB and Step
// Functions speak the JSON 1.0 protocol (POST / with X-Amz-Target), EFS's access point calls are
// REST JSON. The API's calls, and the copier's DynamoDB calls (copier/progress/dynamodb-http.ts
// builds on this client, with the task's credentials), for one reason: the SDK's clients, protocols
// and their error registries were ~260 kB of the API Lambda's bundle and most of its cold import,
// and cost the copier 0.25–0.4 s of CPU per run (docs/performance.md), for a dozen operations whose
// wire format is a JSON body. Endpoints and credentials are read as the SDK reads them:
// AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL, else the region's; AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (what Lambda gives a function, and the local stack).
//
// The copier's image copies this one file besides copier/ (copier/Dockerfile): it must import
// nothing but Node and the SDK's signer.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/** An AWS error answer: its type (e.g. ConditionalCheckFailedException), message and body. */
export class AwsRequestError extends Error {
  override name = 'AwsRequestError';
  constructor(readonly type: string, message: string, readonly statusCode: number, readonly body: Record<string, unknown> = {}) {
    super(`${type}: ${message}`);
  }
}

export interface AwsService {
  /** the endpoint's first label and the signing name: dynamodb, states, elasticfilesystem */
  endpointPrefix: string;
  /** AWS_ENDPOINT_URL_<this>: DYNAMODB, SFN, EFS */
  endpointVariable: string;
}

export const DYNAMODB: AwsService = { endpointPrefix: 'dynamodb', endpointVariable: 'DYNAMODB' };
export const STEP_FUNCTIONS: AwsService = { endpointPrefix: 'states', endpointVariable: 'SFN' };
export const EFS: AwsService = { endpointPrefix: 'elasticfilesystem', endpointVariable: 'EFS' };

/** Answers worth one more try: throttling, a server error, a dropped connection (as the SDK's standard retry). */
function retryable(error: unknown): boolean {
  if (error instanceof AwsRequestError) return error.statusCode >= 500 || /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests/.test(error.type);
  // a system error of the connection (ECONNRESET, EPIPE, ETIMEDOUT…): ours (no credentials, a bad answer) are not retried
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && error.name !== 'AbortError';
}

const ATTEMPTS = 3;

/** The hash requests are signed with: the SDK's own SHA-256 for Node (node:crypto), the one its clients sign with. */
export const signingSha256 = Sha256;

/** The service's endpoint: AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL (as the SDK reads them), else the region's. */
export function awsEndpoint(service: AwsService, env: NodeJS.ProcessEnv = process.env): { url: URL; region: string } {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error(`AWS_REGION is not set: no ${service.endpointPrefix} endpoint`);
  const configured = env[`AWS_ENDPOINT_URL_${service.endpointVariable}`] ?? env.AWS_ENDPOINT_URL;
  return { url: new URL(configured ?? `https://${service.endpointPrefix}.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`), region };
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The environment's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), if set. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
}

export interface AwsHttpOptions {
  /** where the signer takes credentials from; by default the environment's (an error without them) */
  credentials?: () => Promise<AwsCredentials>;
  /** connections kept to the endpoint at most (default: no limit) */
  maxSockets?: number;
}

export class AwsHttpClient {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent;

  constructor(service: AwsService, env: NodeJS.ProcessEnv = process.env, options: AwsHttpOptions = {}) {
    const { url, region } = awsEndpoint(service, env);
    this.url = url;
    const credentials = options.credentials ?? (async () => {
      const found = environmentCredentials(env);
      if (!found) throw new Error('AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
      return found;
    });
    this.signer = new SignatureV4({ service: service.endpointPrefix, region, credentials, sha256: signingSha256 });
    const agentOptions = { keepAlive: true, ...(options.maxSockets ? { maxSockets: options.maxSockets } : {}) };
    this.agent = url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  /** A JSON 1.0 call (DynamoDB, Step Functions): `target` is e.g. DynamoDB_20120810.GetItem. */
  async json<T>(target: string, input: object, signal?: AbortSignal): Promise<T> {
    const text = await this.call('POST', this.url.pathname, { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target }, JSON.stringify(input), signal);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** A REST JSON call (EFS): the answer's JSON, {} when it has no body. */
  async rest<T>(method: 'POST' | 'DELETE', path: string, input?: object): Promise<T> {
    const text = await this.call(method, `${this.url.pathname.replace(/\/$/, '')}${path}`, input ? { 'content-type': 'application/json' } : {}, input ? JSON.stringify(input) : '');
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** One request, tried again on throttling, a server error or a dropped connection (not once `signal` aborted); the answer's text. */
  private async call(method: string, path: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(method, path, headers, body, signal);
      } catch (error) {
        if (attempt >= ATTEMPTS || signal?.aborted || !retryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt + Math.random() * 50));
      }
    }
  }

  private async send(method: string, path: string, headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<string> {
    const { url } = this;
    // the request as signed is the request sent
    const signed = await this.signer.sign({
      method, protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path, query: {},
      headers: { host: url.host, ...headers, 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    const send = signed.protocol === 'https:' ? httpsRequest : httpRequest;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = send({ protocol: signed.protocol, hostname: signed.hostname, port: signed.port, path: signed.path, method: signed.method, headers: signed.headers, agent: this.agent, ...(signal ? { signal } : {}) }, resolve);
      request.on('error', reject);
      request.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const status = response.statusCode ?? 0;
    const text = Buffer.concat(chunks).toString('utf8');
    if (status >= 200 && status < 300) return text;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (a proxy's page): the text says what it is
    }
    // JSON 1.0: {"__type": "ns#Type"}; REST JSON: the x-amzn-errortype header ("Type:uri") or {"ErrorCode"}
    const header = response.headers['x-amzn-errortype'];
    const raw = String(parsed.__type ?? (typeof header === 'string' ? header.split(':')[0] : undefined) ?? parsed.ErrorCode ?? parsed.code ?? `HTTP ${status}`);
    const type = raw.slice(raw.lastIndexOf('#') + 1);
    const message = String(parsed.message ?? parsed.Message ?? text.slice(0, 500));
    throw new AwsRequestError(type, message, status, parsed);
  }
}

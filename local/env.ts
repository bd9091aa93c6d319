// Small shared pieces of the local runtime: free ports, the data folder, the physical table names
// and the fixed identifiers (account, region) that stand in for an AWS account on one machine.
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { TABLES, type TableNames } from '../functions/adapters/tables.ts';

/** The account id the local stack pretends to run in (ARNs need one). */
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const DEFAULT_API_PORT = 8786;
export const DEFAULT_DATA_DIR = '.local';
export const DEFAULT_TABLE_PREFIX = 'local-';
/** `npm start` prints this word and a JSON object on one line once it serves requests. */
export const READY_MARKER = 'LOCAL_STACK_READY';

/**
 * Dummy credentials: every local endpoint ignores them, but the AWS SDK refuses to sign without
 * some, and real ones must never be sent to a local endpoint.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export type { TableNames };

/** Every table of functions/adapters/tables.ts, named `<prefix><logical name>`. */
export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  return Object.fromEntries(TABLES.map((def) => [def.logicalName, `${prefix}${def.logicalName}`])) as TableNames;
}

/** The data folder (DynamoDB files, storage, signing key), absolute. */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATA_DIR || DEFAULT_DATA_DIR);
}

/**
 * A port that was free a moment ago: the OS picks one for a listener on port 0, which is closed
 * again. Another process could take it in between; on one developer machine that race is rare
 * enough, and it lets us hand a known port to programs (Java) that cannot report theirs.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolvePort(port)));
    });
  });
}

/** Reads an integer port from the environment; empty means the default, 0 means "any free port". */
export function portFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port "${value}"`);
  return port;
}

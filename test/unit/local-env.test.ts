import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { findFreePort, portFromEnv, tableNames } from '../../local/env.ts';

describe('local runtime settings', () => {
  it('reads ports from the environment', () => {
    expect(portFromEnv(undefined, 8786)).toBe(8786);
    expect(portFromEnv('', 8786)).toBe(8786);
    expect(portFromEnv('0', 8786)).toBe(0);
    expect(portFromEnv('9000', 8786)).toBe(9000);
    expect(() => portFromEnv('http', 8786)).toThrow(/invalid port/);
    expect(() => portFromEnv('70000', 8786)).toThrow(/invalid port/);
  });

  it('names tables with the prefix', () => {
    expect(tableNames('t1-')).toEqual({ shares: 't1-shares', backups: 't1-backups', restores: 't1-restores', reports: 't1-reports', shareTypes: 't1-shareTypes' });
  });

  it('finds a port that can be listened on', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

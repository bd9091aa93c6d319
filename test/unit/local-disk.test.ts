// The local runtime's writes under DATA_DIR when they fail: the execution store keeps going in
// memory and catches up, a restart skips what it cannot read, and the space reserve is given back
// on the first "no space" and taken again when there is room.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESERVE_BYTES, RESERVE_FILE, SpaceReserve, describeWriteError } from '../../local/disk.ts';
import { ExecutionStore } from '../../local/stepfunctions/executions.ts';

const folders: string[] = [];
function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'local-disk-test-'));
  folders.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:backup:run-1';
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('ExecutionStore when writes fail', () => {
  it('logs the failure once, keeps the execution in memory, and writes it once it can', () => {
    const dataDir = tempDataDir();
    const logged: string[] = [];
    const failures: unknown[] = [];
    const store = new ExecutionStore(dataDir, (err) => failures.push(err), (m) => logged.push(m));
    const dir = join(dataDir, 'stepfunctions', 'executions');
    // a file where the folder was: every write fails (ENOTDIR), as on a disk that refuses writes
    rmSync(dir, { recursive: true });
    writeFileSync(dir, '');

    const record = store.create({ executionArn: ARN, stateMachineArn: 'sm', name: 'run-1', input: '{}' });
    expect(() => store.flush()).not.toThrow();
    store.appendEvent(record, { timestamp: 1, type: 'ExecutionStarted' });
    store.flush();
    store.close();
    expect(logged.filter((m) => m.includes('cannot write execution history'))).toHaveLength(1);
    expect(failures).toHaveLength(2);
    expect(store.writeFailure).toMatch(/ENOTDIR/);
    expect(store.get(ARN)?.events).toHaveLength(1);

    rmSync(dir);
    mkdirSync(dir);
    store.flush();
    expect(store.writeFailure).toBeUndefined();
    expect(logged.at(-1)).toMatch(/written to .* again/);
    expect(new ExecutionStore(dataDir).get(ARN)?.events).toHaveLength(1);
  });

  it('starts over a folder holding an unreadable file and a half-written one', () => {
    const dataDir = tempDataDir();
    const first = new ExecutionStore(dataDir);
    first.create({ executionArn: ARN, stateMachineArn: 'sm', name: 'run-1', input: '{}' });
    first.flush();
    const dir = join(dataDir, 'stepfunctions', 'executions');
    writeFileSync(join(dir, 'broken.json'), '{"executionArn":');
    writeFileSync(join(dir, 'cut-short.json.tmp'), '{');

    const logged: string[] = [];
    const second = new ExecutionStore(dataDir, undefined, (m) => logged.push(m));
    expect(second.list().map((r) => r.executionArn)).toEqual([ARN]);
    expect(logged.join('\n')).toMatch(/skipping .*broken\.json/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('SpaceReserve', () => {
  it('holds its space, gives it back on the first "no space", and ignores other errors', () => {
    const dataDir = tempDataDir();
    const logged: string[] = [];
    const reserve = new SpaceReserve(dataDir, (m) => logged.push(m));
    reserve.start();
    try {
      const file = join(dataDir, RESERVE_FILE);
      expect(reserve.isHeld).toBe(true);
      expect(statSync(file).size).toBe(RESERVE_BYTES);

      reserve.writeFailed(Object.assign(new Error('EACCES'), { code: 'EACCES' }));
      expect(existsSync(file)).toBe(true);
      reserve.writeFailed(enospc());
      expect(existsSync(file)).toBe(false);
      expect(reserve.isHeld).toBe(false);
      expect(logged.join('\n')).toMatch(/disk is full: released the 16\.0 MiB/);
    } finally {
      reserve.stop();
    }
  });
});

describe('describeWriteError', () => {
  it('says what to do about a full disk, and passes other errors on', () => {
    expect(describeWriteError(enospc())).toBe('ENOSPC (no space left on device: free space in the data folder)');
    expect(describeWriteError(new Error('boom'))).toBe('boom');
  });
});

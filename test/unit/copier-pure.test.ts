// The copier's pure parts: manifest path rules, manifest lines, summary, configuration, progress
// arithmetic, the progress throttle and its DynamoDB updates, the order jobs start in.
import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { checksumOf, crc32Implementation, createDigest } from '../../copier/fs/checksum.ts';
import { loadCopierConfig } from '../../copier/config.ts';
import { DynamoProgressSink, snapshotUpdates } from '../../copier/progress/dynamo-progress.ts';
import type { UpdateItemInput } from '../../copier/progress/dynamodb-http.ts';
import { ConfigError, describeFailure, ManifestError, UnsafePathError } from '../../copier/errors.ts';
import { splitNs } from '../../copier/fs/fsx.ts';
import { decodeName, encodeName, isCanonicalName } from '../../copier/fs/names.ts';
import { parseManifestLine, parseSummary, serializeManifestEntry, type ManifestEntry } from '../../copier/manifest/entries.ts';
import { DirectorySpreadQueue } from '../../copier/plan/directory-spread.ts';
import { ancestorPaths, manifestPathComponents, parentPath, pathsOverlap } from '../../copier/fs/paths.ts';
import { etaSeconds, FinalProgressError, percentOf, ProgressReporter, type ProgressSnapshot } from '../../copier/progress/progress.ts';

describe('manifest paths', () => {
  it('names the directory of a manifest path', () => {
    expect(parentPath('f')).toBe('.');
    expect(parentPath('a/b/f')).toBe('a/b');
  });

  it.each([
    ['.', []],
    ['a', ['a']],
    ['a/b c/ü.txt', ['a', 'b c', 'ü.txt']],
    ['..a/b..', ['..a', 'b..']],
    ['a\\b', ['a\\b']],
  ])('accepts %j', (path, components) => {
    expect(manifestPathComponents(path)).toEqual(components);
  });

  it.each(['', '/abs', '/', '../x', 'a/../../x', 'a/..', '..', 'a//b', 'a/', './a', 'a/./b', 'a\0b', '\\abs', '..\\x', 'a\\..\\b', 'a/b\\..'])(
    'rejects %j',
    (path) => {
      expect(() => manifestPathComponents(path)).toThrow(UnsafePathError);
    },
  );

  it('rejects non-strings', () => {
    expect(() => manifestPathComponents(42)).toThrow(UnsafePathError);
  });

  it('never lets an accepted path resolve outside the root', () => {
    const root = resolve('/srv/target');
    const piece = fc.constantFrom('a', '.', '..', '', '/', '\\', 'b', '\0', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const path = pieces.join('');
        let components: string[];
        try {
          components = manifestPathComponents(path);
        } catch {
          return;
        }
        const resolved = resolve(root, ...components);
        expect(resolved === root || resolved.startsWith(root + sep)).toBe(true);
        expect(components.join('/') === path || path === '.').toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('lists ancestors and detects overlapping paths', () => {
    expect(ancestorPaths(['a', 'b', 'c'])).toEqual(['a', 'a/b']);
    expect(pathsOverlap('a', 'a/b')).toBe(true);
    expect(pathsOverlap('a/b', 'a')).toBe(true);
    expect(pathsOverlap('a', 'a')).toBe(true);
    expect(pathsOverlap('a', 'ab')).toBe(false);
    expect(pathsOverlap('.', 'x/y')).toBe(true);
  });
});

describe('manifest lines', () => {
  const sha = 'a'.repeat(64);
  const entries: ManifestEntry[] = [
    { path: '.', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime_ns: '1732700000123456789', size: 0 },
    { path: 'a/b.txt', type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtime_ns: '1', size: 12, sha256: sha },
    { path: 'a/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime_ns: '0', size: 0, target: '../../etc/passwd' },
    { path: 'a/hard', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime_ns: '5', size: 12, link_to: 'a/b.txt' },
  ];

  it('round-trips every entry type with the documented key order', () => {
    for (const entry of entries) {
      const line = serializeManifestEntry(entry);
      expect(Object.keys(JSON.parse(line))).toEqual(Object.keys(entry));
      const { components, ...parsed } = parseManifestLine(line, 1);
      expect(parsed).toEqual(entry);
      expect(components).toEqual(entry.path === '.' ? [] : entry.path.split('/'));
    }
  });

  it.each([
    ['not JSON', 'nope', ManifestError],
    ['unknown type', '{"path":"x","type":"chardev","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0}', ManifestError],
    ['file without sha256', '{"path":"x","type":"file","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0}', ManifestError],
    ['bad sha256', `{"path":"x","type":"file","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"sha256":"${'G'.repeat(64)}"}`, ManifestError],
    ['mode beyond 07777', '{"path":"x","type":"dir","mode":65535,"uid":0,"gid":0,"mtime_ns":"1","size":0}', ManifestError],
    ['negative size', `{"path":"x","type":"file","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":-1,"sha256":"${sha}"}`, ManifestError],
    ['mtime not decimal', '{"path":"x","type":"dir","mode":420,"uid":0,"gid":0,"mtime_ns":"1e9","size":0}', ManifestError],
    ['extra field', '{"path":"x","type":"dir","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"evil":1}', ManifestError],
    ['root as a file', `{"path":".","type":"file","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"sha256":"${sha}"}`, ManifestError],
    ['absolute path', '{"path":"/etc","type":"dir","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0}', UnsafePathError],
    ['dot-dot path', '{"path":"../x","type":"dir","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0}', UnsafePathError],
    ['dot-dot link_to', '{"path":"x","type":"hardlink","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"link_to":"../y"}', UnsafePathError],
    ['absolute link_to', '{"path":"x","type":"hardlink","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"link_to":"/etc/shadow"}', UnsafePathError],
    ['hard link to itself', '{"path":"x","type":"hardlink","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"link_to":"x"}', ManifestError],
    ['hard link to a path under it', '{"path":"x","type":"hardlink","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"link_to":"x/y"}', ManifestError],
    ['hard link to a path above it', '{"path":"x/y","type":"hardlink","mode":420,"uid":0,"gid":0,"mtime_ns":"1","size":0,"link_to":"x"}', ManifestError],
    ['symlink target with NUL', '{"path":"x","type":"symlink","mode":511,"uid":0,"gid":0,"mtime_ns":"1","size":0,"target":"a\\u0000b"}', ManifestError],
  ])('rejects a line with %s', (_name, line, errorClass) => {
    expect(() => parseManifestLine(line, 7)).toThrow(errorClass);
  });

  it('parses and rejects summaries', () => {
    expect(parseSummary('{"version":1,"entries":3,"files":1,"bytes":5,"created_at":"x"}').files).toBe(1);
    expect(() => parseSummary('{"version":3,"entries":3,"files":1,"bytes":5,"created_at":"x"}')).toThrow(ManifestError);
    expect(() => parseSummary('{')).toThrow(ManifestError);
  });

  it('splits nanoseconds into the seconds and nanoseconds futimens takes, exactly', () => {
    for (const ns of ['1732700000123456789', '0', '978307200987000000', '1704164645122999000', '4102444799999999999']) {
      const [seconds, nanoseconds] = splitNs(ns);
      expect(seconds * 1_000_000_000n + BigInt(nanoseconds), ns).toBe(BigInt(ns));
      expect(nanoseconds).toBeGreaterThanOrEqual(0);
      expect(nanoseconds).toBeLessThan(1e9);
    }
    expect(splitNs(-1n)).toEqual([-1n, 999_999_999]);
  });
});

describe('configuration', () => {
  const base = { COPIER_MODE: 'restore', COPIER_SOURCE: '/b', COPIER_TARGET: '/s' };

  it('reads the contract variables', () => {
    const config = loadCopierConfig({
      ...base,
      COPIER_CONCURRENCY: '16',
      COPIER_FAIL_AFTER_FILES: '3',
      PROGRESS_TABLE: 'restores',
      PROGRESS_ID: 'r1',
      PERCENT_TABLE: 'backups',
      PERCENT_ID: 'b1',
      PERCENT_ATTRIBUTE: 'restore_progress',
    });
    expect(config).toEqual({
      mode: 'restore',
      source: '/b',
      target: '/s',
      concurrency: 16,
      failAfterFiles: 3,
      progress: { progress: { table: 'restores', id: 'r1' }, percent: { table: 'backups', id: 'b1', attribute: 'restore_progress' } },
      // (no COPIER_RUN_ID: the progress record's id is the restore's id)
      runId: 'r1',
    });
    expect(loadCopierConfig(base).progress).toBeUndefined();
  });

  it('reads the report table and the operation id (COPIER_RUN_ID, else PROGRESS_ID); a backup records what it holds', () => {
    expect(loadCopierConfig({ ...base, REPORT_TABLE: 'reports', COPIER_RUN_ID: 'r1' }).report).toEqual({ table: 'reports', operationId: 'r1' });
    expect(loadCopierConfig({ ...base, REPORT_TABLE: 'reports', PROGRESS_TABLE: 'restores', PROGRESS_ID: 'r2' }).report).toEqual({ table: 'reports', operationId: 'r2' });
    expect(loadCopierConfig(base).report).toBeUndefined();
    const backup = loadCopierConfig({ ...base, COPIER_MODE: 'backup', PROGRESS_TABLE: 'backups', PROGRESS_ID: 'b1' });
    expect(backup.progress).toEqual({ progress: { table: 'backups', id: 'b1' }, recordMeasured: true });
  });

  it.each([
    [{ ...base, COPIER_MODE: 'sync' }],
    [{ COPIER_MODE: 'backup', COPIER_TARGET: '/t' }],
    [{ ...base, COPIER_CONCURRENCY: '0' }],
    [{ ...base, COPIER_CONCURRENCY: 'many' }],
    [{ ...base, PROGRESS_TABLE: 't' }],
    [{ ...base, REPORT_TABLE: 'reports' }],
    [{ ...base, PERCENT_TABLE: 't', PERCENT_ID: 'x', PERCENT_ATTRIBUTE: 'a b' }],
  ])('refuses %j with a ConfigError (exit 2)', (env) => {
    let thrown: unknown;
    try {
      loadCopierConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(describeFailure(thrown).exitCode).toBe(2);
  });
});

describe('progress arithmetic', () => {
  const counters = { phase: 'copying' as const, files_total: 10, files_done: 5, bytes_total: 1000, bytes_done: 250 };

  it('computes percent by bytes, by files without bytes, and 100 only when done', () => {
    expect(percentOf(counters)).toBe(25);
    expect(percentOf({ ...counters, bytes_total: 0, bytes_done: 0 })).toBe(50);
    expect(percentOf({ ...counters, bytes_done: 1000 })).toBe(99);
    expect(percentOf({ ...counters, bytes_done: 5000 })).toBe(99);
    expect(percentOf({ ...counters, files_total: 0, bytes_total: 0 })).toBe(0);
    expect(percentOf({ ...counters, phase: 'done' })).toBe(100);
  });

  it('estimates the time left from the rate so far', () => {
    expect(etaSeconds(counters, 10_000)).toBe(30);
    expect(etaSeconds({ ...counters, bytes_done: 0 }, 10_000)).toBeNull();
    expect(etaSeconds({ ...counters, phase: 'done' }, 10_000)).toBe(0);
  });
});

describe('a full file system, said with its side', () => {
  const roots = { source: '/mnt/backup', target: '/mnt/share' };
  const enospc = (path?: string, code = 'ENOSPC') => Object.assign(new Error(`${code}: no space left on device${path ? `, open '${path}'` : ''}`), { code, ...(path ? { path } : {}) });
  it.each([
    ['a path under the target', enospc('/mnt/share/d/f'), "No space left on the target (/mnt/share): ENOSPC: no space left on device, open '/mnt/share/d/f'"],
    ['a path under the source', enospc('/mnt/backup/data/x'), "No space left on the source (/mnt/backup): ENOSPC: no space left on device, open '/mnt/backup/data/x'"],
    ['no path (a write through a file handle): the written side', enospc(), 'No space left on the target (/mnt/share): ENOSPC: no space left on device'],
    ['a quota (EDQUOT)', enospc('/mnt/share/f', 'EDQUOT'), "No space left on the target (/mnt/share): EDQUOT: no space left on device, open '/mnt/share/f'"],
  ])('%s', (_name, error, reason) => {
    expect(describeFailure(error, roots)).toEqual({ error: 'FileSystemError', reason, exitCode: 1 });
  });
});

describe('progress throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function recordingSink() {
    const writes: { at: number; snapshot: ProgressSnapshot }[] = [];
    const failures: string[] = [];
    return {
      writes,
      failures,
      sink: {
        write: async (snapshot: ProgressSnapshot) => {
          writes.push({ at: Date.now(), snapshot });
        },
        fail: async (reason: string) => {
          failures.push(reason);
        },
      },
    };
  }

  it('writes at most once a second, keeps the latest values, and writes once at the end', async () => {
    vi.useFakeTimers({ now: 0 });
    const { writes, sink } = recordingSink();
    const reporter = new ProgressReporter(sink);
    reporter.setTotals(100, 1000);
    reporter.setPhase('copying');
    for (let i = 0; i < 50; i++) {
      reporter.addBytes(10);
      reporter.fileDone();
      await vi.advanceTimersByTimeAsync(100);
    }
    await reporter.finish();
    const times = writes.map((w) => w.at);
    for (let i = 1; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    // 5 s of changes: a leading write, one a second, and the final one
    expect(writes.length).toBeGreaterThanOrEqual(5);
    expect(writes.length).toBeLessThanOrEqual(7);
    const last = writes.at(-1)!.snapshot;
    expect(last).toMatchObject({ phase: 'copying', files_done: 50, bytes_done: 500, percent: '50' });
    // a trailing write carries the values of the end of the burst, not of its start
    const second = writes[1]!.snapshot;
    expect(second.bytes_done).toBeGreaterThanOrEqual(90);
  });

  it('writes the trailing change of a burst after the interval', async () => {
    vi.useFakeTimers({ now: 0 });
    const { writes, sink } = recordingSink();
    const reporter = new ProgressReporter(sink);
    reporter.setPhase('copying');
    reporter.setTotals(2, 0);
    reporter.fileDone();
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(writes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toHaveLength(2);
    expect(writes[1]!.snapshot).toMatchObject({ files_done: 1, percent: '50' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toHaveLength(2);
  });

  it('counts warnings into the snapshots; the final write must land, a failure hands over the last figures', async () => {
    const { writes, sink } = recordingSink();
    const reporter = new ProgressReporter(sink);
    reporter.setPhase('copying');
    reporter.warning();
    reporter.warning();
    reporter.setPhase('done');
    await reporter.finish();
    expect(writes.at(-1)!.snapshot).toMatchObject({ phase: 'done', warnings: 2, percent: '100' });

    const failing = new ProgressReporter({ write: () => Promise.reject(new Error('db down')), fail: async () => undefined });
    failing.setPhase('done');
    await expect(failing.finish()).rejects.toThrow(FinalProgressError);

    const lasts: ProgressSnapshot[] = [];
    const failed = new ProgressReporter({ write: async () => undefined, fail: async (_reason, last) => void lasts.push(last) });
    failed.setTotals(10, 100);
    failed.fileDone();
    failed.warning();
    await failed.fail('killed');
    expect(lasts).toEqual([expect.objectContaining({ files_done: 1, files_total: 10, warnings: 1 })]);
  });

  it('records a failure reason after writes in flight, and survives a failing sink', async () => {
    const reasons: string[] = [];
    const errors: unknown[] = [];
    const reporter = new ProgressReporter(
      { write: () => Promise.reject(new Error('db down')), fail: async (reason) => void reasons.push(reason) },
      { onWriteError: (error) => errors.push(error) },
    );
    reporter.setPhase('copying');
    await reporter.fail('disk full');
    expect(reasons).toEqual(['disk full']);
    expect(errors).toHaveLength(1);
  });
});

describe('progress updates on DynamoDB', () => {
  const snapshot: ProgressSnapshot = { phase: 'copying', files_total: 4, files_done: 1, bytes_total: 100, bytes_done: 30, warnings: 0, eta_seconds: 7, updated_at: '2024-01-01T00:00:00.000Z', percent: '30' };

  it('updates the progress record and the percent attribute of another record', () => {
    const updates = snapshotUpdates({ progress: { table: 'restores', id: 'r1' }, percent: { table: 'backups', id: 'b1', attribute: 'restore_progress' } }, snapshot);
    expect(updates).toHaveLength(2);
    expect(updates[0]).toMatchObject({ TableName: 'restores', Key: { id: 'r1' }, ConditionExpression: 'attribute_exists(#id)' });
    const values = Object.values(updates[0]!.ExpressionAttributeValues!);
    expect(values).toEqual(['copying', 4, 1, 100, 30, 7, 0, '2024-01-01T00:00:00.000Z']);
    expect(updates[1]).toMatchObject({ TableName: 'backups', Key: { id: 'b1' }, UpdateExpression: 'SET #a0 = :v0', ExpressionAttributeNames: { '#a0': 'restore_progress' }, ExpressionAttributeValues: { ':v0': '30' } });
  });

  it('a backup\'s final write records what it holds (files, bytes: the totals it ended with); earlier writes and restores do not', () => {
    const done = { ...snapshot, phase: 'done' as const, files_total: 4, bytes_total: 2 * 1024 ** 3, warnings: 3, percent: '100' };
    const [backup] = snapshotUpdates({ progress: { table: 'backups', id: 'b1' }, recordMeasured: true }, done);
    const set = Object.fromEntries(Object.entries(backup!.ExpressionAttributeNames!).filter(([k]) => k !== '#id')
      .map(([k, name]) => [name, backup!.ExpressionAttributeValues![k.replace('#a', ':v')]]));
    expect(set).toMatchObject({ files: 4, bytes: 2 * 1024 ** 3, warnings: 3, phase: 'done' });
    const [running] = snapshotUpdates({ progress: { table: 'backups', id: 'b1' }, recordMeasured: true }, snapshot);
    expect(Object.values(running!.ExpressionAttributeNames!)).not.toContain('bytes');
    const [restore] = snapshotUpdates({ progress: { table: 'restores', id: 'r1' } }, done);
    expect(Object.values(restore!.ExpressionAttributeNames!)).not.toContain('bytes');
  });

  it('a failed run\'s last write carries the reason with the counters as they stood, and no percent', async () => {
    const sent: UpdateItemInput[] = [];
    const sink = new DynamoProgressSink(
      { progress: { table: 'restores', id: 'r1' }, percent: { table: 'backups', id: 'b1', attribute: 'restore_progress' } },
      { updateItem: async (input) => void sent.push(input) },
    );
    await sink.fail('ENOSPC on the target', { ...snapshot, files_done: 3, bytes_done: 77, warnings: 2 });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.TableName).toBe('restores');
    const set = Object.fromEntries(Object.entries(sent[0]!.ExpressionAttributeNames!).filter(([k]) => k !== '#id')
      .map(([k, name]) => [name, sent[0]!.ExpressionAttributeValues![k.replace('#a', ':v')]]));
    expect(set).toMatchObject({ fail_reason: 'ENOSPC on the target', files_done: 3, bytes_done: 77, warnings: 2, eta_seconds: null });
    expect(set).not.toHaveProperty('phase');
    expect(set).not.toHaveProperty('restore_progress');
  });

  it('uses one update when progress and percent are the same record', () => {
    const updates = snapshotUpdates({ progress: { table: 'backups', id: 'b1' }, percent: { table: 'backups', id: 'b1', attribute: 'progress' } }, snapshot);
    expect(updates).toHaveLength(1);
    expect(Object.values(updates[0]!.ExpressionAttributeNames!)).toContain('progress');
    expect(Object.values(updates[0]!.ExpressionAttributeValues!)).toContain('30');
  });
});

describe('generated manifest validators', () => {
  it('are what the schemas in manifest/schema.ts generate (npm run generate rewrites them)', async () => {
    const { generateValidatorsSource, GENERATED_VALIDATORS } = await import('../../copier/manifest/schema.ts');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(GENERATED_VALIDATORS, 'utf8')).toBe(generateValidatorsSource());
  });
});

describe('restore I/O plan', () => {
  it('keeps more files in flight than cores for small files, one per core for large ones, many on a network file system', async () => {
    const { defaultFilesInFlight, workerShape } = await import('../../copier/plan/io-plan.ts');
    const { availableParallelism } = await import('node:os');
    const cores = availableParallelism();
    expect(defaultFilesInFlight(false, 8 * 1024)).toBe(Math.min(16, Math.max(4, 2 * cores)));
    expect(defaultFilesInFlight(false, 256 * 1024 * 1024)).toBe(cores);
    expect(defaultFilesInFlight(true, 256 * 1024 * 1024)).toBe(Math.min(256, Math.max(64, 64 * cores)));
    // locally a worker per file in flight, blocking; on a network file system few workers, many files each
    expect(workerShape(4, false)).toEqual({ workers: 4, jobsInFlight: 1 });
    expect(workerShape(128, true)).toEqual({ workers: Math.min(128, cores), jobsInFlight: Math.ceil(128 / Math.min(128, cores)) });
    expect(workerShape(1, true)).toEqual({ workers: 1, jobsInFlight: 1 });
  });

  it('stops V8 at its mid tier for a short restore only', async () => {
    const { SHORT_RESTORE_FILES, v8FlagsFor } = await import('../../copier/plan/io-plan.ts');
    const restore = loadCopierConfig({ COPIER_MODE: 'restore', COPIER_SOURCE: '/tmp', COPIER_TARGET: '/tmp' });
    expect(v8FlagsFor(restore, 2000)).toEqual(['--max-opt=2']);
    expect(v8FlagsFor(restore, SHORT_RESTORE_FILES - 1)).toEqual(['--max-opt=2']);
    expect(v8FlagsFor(restore, SHORT_RESTORE_FILES)).toEqual([]);
    // no summary to read: no guess
    expect(v8FlagsFor(restore, undefined)).toEqual([]);
    expect(v8FlagsFor(loadCopierConfig({ COPIER_MODE: 'backup', COPIER_SOURCE: '/tmp', COPIER_TARGET: '/tmp' }), 10)).toEqual([]);
  });
});

describe('jobs started round-robin over their directories', () => {
  const drain = (queue: DirectorySpreadQueue<string>) => {
    const out: string[] = [];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
    return out;
  };

  it('takes one job of each waiting directory in turn, each directory in its own order', () => {
    const queue = new DirectorySpreadQueue<string>();
    for (const path of ['a/1', 'a/2', 'a/3', 'b/1', 'b/2', 'c/1']) queue.push(parentPath(path), path);
    expect(queue.size).toBe(6);
    expect(drain(queue)).toEqual(['a/1', 'b/1', 'c/1', 'a/2', 'b/2', 'a/3']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('gives a directory that arrives later its turn after those already waiting', () => {
    const queue = new DirectorySpreadQueue<string>();
    for (const path of ['a/1', 'a/2', 'b/1', 'b/2']) queue.push(parentPath(path), path);
    expect(queue.shift()).toBe('a/1');
    queue.push('c', 'c/1');
    queue.push('a', 'a/3');
    expect(drain(queue)).toEqual(['b/1', 'a/2', 'c/1', 'b/2', 'a/3']);
  });

  it('returns every job pushed exactly once, in push order within a directory, whatever the interleaving', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('.', 'a', 'a/b', 'c'), fc.boolean()), { maxLength: 60 }), (steps) => {
      const queue = new DirectorySpreadQueue<string>();
      const pushed: string[] = [];
      const taken: string[] = [];
      steps.forEach(([directory, shiftAfter], i) => {
        const item = `${directory}/${i}`;
        queue.push(directory, item);
        pushed.push(item);
        if (shiftAfter) taken.push(queue.shift()!);
      });
      taken.push(...drain(queue));
      expect([...taken].sort()).toEqual([...pushed].sort());
      for (const directory of ['.', 'a', 'a/b', 'c']) {
        const mine = (list: string[]) => list.filter((item) => item.slice(0, item.lastIndexOf('/')) === directory);
        expect(mine(taken)).toEqual(mine(pushed));
      }
    }));
  });

  it('keeps its order through a directory that never runs dry (its taken items dropped on the way)', () => {
    const queue = new DirectorySpreadQueue<number>();
    const taken: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      queue.push('flat', i);
      queue.push('flat', 10_000 + i);
      taken.push(queue.shift()!);
    }
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) taken.push(item);
    const pushed = Array.from({ length: 10_000 }, (_, i) => [i, 10_000 + i]).flat();
    expect(taken).toEqual(pushed);
  });
});

describe('CRC-32 (checksum.ts)', () => {
  it('is the native one on this machine (npm installs @node-rs/crc32 for linux x64 and arm64)', () => {
    expect(crc32Implementation()).toBe('native');
  });

  it('gives zlib\'s values: any bytes, any alignment, any split into pieces', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(64), fc.array(fc.nat(5000), { maxLength: 4 }), (bytes, offset, cuts) => {
      // an offset into a larger buffer: Buffers of small files are slices of a shared pool
      const data = Buffer.concat([Buffer.alloc(offset, 0xa5), bytes]).subarray(offset);
      const expected = zlibCrc32(data).toString(16).padStart(8, '0');
      expect(checksumOf('crc32', data)).toBe(expected);
      const digest = createDigest('crc32');
      let start = 0;
      for (const cut of [...cuts.map((c) => Math.min(c, data.length))].sort((a, b) => a - b)) {
        digest.update(data.subarray(start, cut));
        start = cut;
      }
      digest.update(data.subarray(start));
      expect(digest.hex()).toBe(expected);
    }));
  });

  it('gives the check value of CRC-32/ISO-HDLC, and 00000000 for no bytes', () => {
    expect(checksumOf('crc32', Buffer.from('123456789'))).toBe('cbf43926');
    expect(checksumOf('crc32', Buffer.alloc(0))).toBe('00000000');
  });
});

describe('names of any bytes (names.ts)', () => {
  const raw = (...bytes: number[]) => Buffer.from(bytes);
  it.each([
    ['ASCII', raw(0x61, 0x62), 'ab'],
    ['UTF-8', Buffer.from('é€😀'), 'é€😀'],
    ['invalid bytes', raw(0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe), 'bad-\udcff\udcfe'],
    ['a truncated sequence', raw(0xe2, 0x82), '\udce2\udc82'],
    ['an overlong slash', raw(0xc0, 0xaf), '\udcc0\udcaf'],
    ['an encoded surrogate', raw(0xed, 0xa0, 0x80), '\udced\udca0\udc80'],
    ['valid beside invalid', Buffer.concat([Buffer.from('é'), raw(0x80)]), 'é\udc80'],
  ])('decodes %s losslessly, and encodes back to the same bytes', (_name, bytes, text) => {
    expect(decodeName(bytes)).toBe(text);
    expect(encodeName(text).equals(bytes)).toBe(true);
    expect(isCanonicalName(text)).toBe(true);
    // through a manifest line and back
    expect(JSON.parse(JSON.stringify(text))).toBe(text);
  });

  it.each([
    ['a surrogate no byte maps to', 'a\ud800b'],
    ['an escape below 0x80', '\udc2f'],
    ['escapes of bytes that are valid UTF-8 (a second spelling of "é")', '\udcc3\udca9'],
  ])('refuses %s', (_name, text) => {
    expect(isCanonicalName(text)).toBe(false);
    expect(() => manifestPathComponents(text)).toThrow(UnsafePathError);
  });

  it('checks the raw form: escaped bytes are never "/", "." or NUL', () => {
    expect(manifestPathComponents('d\udcff/x\udc80')).toEqual(['d\udcff', 'x\udc80']);
    expect(() => manifestPathComponents('\udcff/../x')).toThrow(UnsafePathError);
  });
});

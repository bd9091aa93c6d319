// copier/main.ts as the process the facade (and Fargate) runs: exit codes and the one JSON line on
// stderr.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../copier/backup/index.ts';

const repoRoot = join(import.meta.dirname, '../..');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copier-main-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  stderr: string;
}

function runCopier(env: Record<string, string>, onSpawn?: (child: ReturnType<typeof spawn>) => void): Promise<Exit> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  const child = spawn(process.execPath, ['--import', 'tsx', 'copier/main.ts'], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  onSpawn?.(child);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function lastLine(stderr: string): unknown {
  const lines = stderr.trimEnd().split('\n');
  return JSON.parse(lines.at(-1)!);
}

describe('copier/main.ts', () => {
  it('backs up and restores, exiting 0', async () => {
    const share = join(work, 'ok-share');
    await mkdir(join(share, 'd'), { recursive: true });
    await writeFile(join(share, 'd/f.txt'), 'hello');
    const backup = await runCopier({ COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: join(work, 'ok-backup') });
    expect(backup.code, backup.stderr).toBe(0);
    const restore = await runCopier({ COPIER_MODE: 'restore', COPIER_SOURCE: join(work, 'ok-backup'), COPIER_TARGET: join(work, 'ok-restored'), COPIER_CONCURRENCY: '2' });
    expect(restore.code, restore.stderr).toBe(0);
    expect(await readFile(join(work, 'ok-restored/d/f.txt'), 'utf8')).toBe('hello');
  });

  it('exits 1 with one JSON line on stderr when the restore fails', async () => {
    const share = join(work, 'bad-share');
    await mkdir(share);
    await writeFile(join(share, 'f'), 'original');
    await runBackup({ source: share, target: join(work, 'bad-backup') });
    await writeFile(join(work, 'bad-backup/data/f'), 'tampered');
    const exit = await runCopier({ COPIER_MODE: 'restore', COPIER_SOURCE: join(work, 'bad-backup'), COPIER_TARGET: join(work, 'bad-restored') });
    expect(exit.code).toBe(1);
    const jsonLines = exit.stderr.trimEnd().split('\n').filter((line) => line.startsWith('{'));
    expect(jsonLines).toHaveLength(1);
    expect(lastLine(exit.stderr)).toEqual({ error: 'ChecksumMismatchError', reason: expect.stringContaining('checksum mismatch') });
  });

  it('reports the fault switch', async () => {
    const share = join(work, 'fault-share');
    await mkdir(share);
    for (let i = 0; i < 5; i++) await writeFile(join(share, `f${i}`), String(i));
    const exit = await runCopier({ COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: join(work, 'fault-backup'), COPIER_FAIL_AFTER_FILES: '2' });
    expect(exit.code).toBe(1);
    expect(lastLine(exit.stderr)).toEqual({ error: 'FaultInjectedError', reason: 'fault injected after 2 files' });
  });

  it('exits 2 on a bad configuration', async () => {
    const exit = await runCopier({ COPIER_MODE: 'mirror', COPIER_SOURCE: '/x', COPIER_TARGET: '/y' });
    expect(exit.code).toBe(2);
    expect(lastLine(exit.stderr)).toMatchObject({ error: 'ConfigError' });
  });

  it('stops on SIGTERM with exit 143, leaving the rest uncopied', async () => {
    const share = join(work, 'term-share');
    await mkdir(share);
    const count = 3000;
    await Promise.all(Array.from({ length: count }, (_, i) => writeFile(join(share, `f${i}`), `file number ${i}`)));
    await runBackup({ source: share, target: join(work, 'term-backup') });
    const target = join(work, 'term-restored');
    let signalled = false;
    const exit = await runCopier({ COPIER_MODE: 'restore', COPIER_SOURCE: join(work, 'term-backup'), COPIER_TARGET: target, COPIER_CONCURRENCY: '1' }, (child) => {
      const poll = setInterval(() => {
        void readdir(target).then((names) => {
          if (names.length > 0 && !signalled) {
            signalled = true;
            clearInterval(poll);
            child.kill('SIGTERM');
          }
        }, () => undefined);
      }, 5);
      child.on('close', () => clearInterval(poll));
    });
    expect(signalled).toBe(true);
    expect(exit.code, exit.stderr).toBe(143);
    expect(lastLine(exit.stderr)).toEqual({ error: 'StoppedError', reason: 'stopped by SIGTERM' });
    expect((await readdir(target)).length).toBeLessThan(count);
  }, 30_000);
});

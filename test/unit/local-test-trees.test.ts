// The tree comparison the integration tests rely on must itself notice every kind of difference.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareDirectories, diffTrees, hashTree, readTree, removeTree } from '../integration/helpers/trees.ts';

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await removeTree(root);
});

function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'trees-test-'));
  roots.push(root);
  mkdirSync(join(root, 'a/b'), { recursive: true });
  writeFileSync(join(root, 'a/b/file.txt'), 'hello');
  writeFileSync(join(root, 'top.bin'), Buffer.from([0, 1, 2]));
  linkSync(join(root, 'a/b/file.txt'), join(root, 'a/hard.txt'));
  symlinkSync('b/file.txt', join(root, 'a/link'));
  chmodSync(join(root, 'top.bin'), 0o640);
  // nanoseconds, as a share has them (touch sets them exactly; Node's utimes takes a double)
  for (const p of ['a/b/file.txt', 'top.bin', 'a/b', 'a', '.']) touchNs(join(root, p), 1704164645122999123n);
  return root;
}

function touchNs(path: string, ns: bigint): void {
  execFileSync('touch', ['-h', '-m', '-d', `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`, path]);
}

/** A copy with the same content, modes, mtimes and hard links. */
function copyTree(from: string): string {
  const to = mkdtempSync(join(tmpdir(), 'trees-copy-'));
  roots.push(to);
  cpSync(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  // cpSync copies hard links as separate files: link them again
  rmSync(join(to, 'a/hard.txt'));
  linkSync(join(to, 'a/b/file.txt'), join(to, 'a/hard.txt'));
  chmodSync(to, statSync(from).mode & 0o7777);
  // cpSync's preserveTimestamps goes through a double of seconds (Node 22: a microsecond off at
  // today's times): every mtime is copied exactly instead
  for (const p of ['a/b/file.txt', 'top.bin', 'a/b', 'a', '.']) touchNs(join(to, p), lstatSync(join(from, p), { bigint: true }).mtimeNs);
  return to;
}

describe('tree comparison', () => {
  it('finds no difference between a tree and a faithful copy', async () => {
    const a = makeTree();
    const b = copyTree(a);
    expect(await compareDirectories(a, b)).toEqual([]);
    expect(hashTree(await readTree(a))).toBe(hashTree(await readTree(b)));
    const tree = await readTree(a);
    expect(tree.get('a/hard.txt')!.linkGroup).toBe('a/b/file.txt');
    expect(tree.get('a/link')).toMatchObject({ type: 'symlink', target: 'b/file.txt' });
    expect(tree.get('top.bin')!.mode).toBe(0o640);
  });

  it('notices content, mode, mtime, symlink, hard-link and membership differences', async () => {
    const a = makeTree();
    const b = copyTree(a);
    writeFileSync(join(b, 'top.bin'), Buffer.from([0, 1, 3]));
    chmodSync(join(b, 'top.bin'), 0o600);
    utimesSync(join(b, 'a/b/file.txt'), new Date(0), new Date(0));
    rmSync(join(b, 'a/link'));
    symlinkSync('elsewhere', join(b, 'a/link'));
    rmSync(join(b, 'a/hard.txt'));
    writeFileSync(join(b, 'a/hard.txt'), 'hello');
    writeFileSync(join(b, 'extra'), '');
    const problems = diffTrees(await readTree(a), await readTree(b), { dirMtime: false });
    expect(problems).toEqual(
      expect.arrayContaining([
        'top.bin: content differs',
        'top.bin: mode 600, expected 640',
        expect.stringMatching(/^a\/b\/file\.txt: mtime 0 ns/),
        'a/link: symlink to elsewhere, expected b/file.txt',
        expect.stringMatching(/^a\/hard\.txt: hard link group/),
        'extra: unexpected',
      ]),
    );
    expect(hashTree(await readTree(a), { dirMtime: false })).not.toBe(hashTree(await readTree(b), { dirMtime: false }));
  });
});

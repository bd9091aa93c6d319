// Directory trees as tests compare them: every entry's type, permission bits, mtime (ns), size,
// content hash, symlink target and hard-link grouping, keyed by relative POSIX path ("." = root).
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, readdirSync, rmSync } from 'node:fs';
import { chmod, lstat, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  mtimeNs: bigint;
  size: number;
  sha256?: string;
  target?: string;
  /** for files with more than one link: the first path (in sorted order) of the same inode */
  linkGroup?: string;
}

export type Tree = Map<string, TreeEntry>;

export interface CompareOptions {
  /** compare mtimes to the nanosecond (default true): the copier sets them so (futimens) */
  mtime?: boolean;
  /** compare directory mtimes too (default true; off when a tool cannot keep them) */
  dirMtime?: boolean;
  /** compare the root directory's own metadata (default true) */
  root?: boolean;
  /** compare permission bits (default true) */
  mode?: boolean;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolveHash(hash.digest('hex')))
      .on('error', reject);
  });
}

/** Reads a whole tree (without following symlinks). */
export async function readTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const inodes = new Map<string, string[]>();
  const visit = async (relative: string) => {
    const absolute = relative === '.' ? root : join(root, relative);
    const stat = await lstat(absolute, { bigint: true });
    const type: TreeEntry['type'] = stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'symlink' : 'other';
    const entry: TreeEntry = {
      path: relative,
      type,
      mode: Number(stat.mode & 0o7777n),
      mtimeNs: stat.mtimeNs,
      size: type === 'file' ? Number(stat.size) : 0,
    };
    if (type === 'file') {
      entry.sha256 = await sha256File(absolute);
      if (stat.nlink > 1n) {
        const key = `${stat.dev}:${stat.ino}`;
        inodes.set(key, [...(inodes.get(key) ?? []), relative]);
      }
    }
    if (type === 'symlink') entry.target = await readlink(absolute);
    tree.set(relative, entry);
    if (type === 'dir') {
      const names = (await readdir(absolute)).sort();
      for (const name of names) await visit(relative === '.' ? name : `${relative}/${name}`);
    }
  };
  await visit('.');
  for (const paths of inodes.values()) {
    if (paths.length < 2) continue; // its other links are outside the tree
    const first = [...paths].sort()[0]!;
    for (const path of paths) tree.get(path)!.linkGroup = first;
  }
  return tree;
}

/** The differences between two trees, one readable line each; empty when they match. */
export function diffTrees(expected: Tree, actual: Tree, options: CompareOptions = {}): string[] {
  const { mtime = true, dirMtime = true, root = true, mode = true } = options;
  const problems: string[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (!got) {
      problems.push(`${path}: missing`);
      continue;
    }
    if (got.type !== want.type) {
      problems.push(`${path}: type ${got.type}, expected ${want.type}`);
      continue;
    }
    const checkMeta = root || path !== '.';
    if (checkMeta && mode && want.type !== 'symlink' && got.mode !== want.mode) {
      problems.push(`${path}: mode ${got.mode.toString(8)}, expected ${want.mode.toString(8)}`);
    }
    const mtimeMatters = mtime && want.type !== 'symlink' && (want.type !== 'dir' || dirMtime);
    if (checkMeta && mtimeMatters && got.mtimeNs !== want.mtimeNs) {
      problems.push(`${path}: mtime ${got.mtimeNs} ns, expected ${want.mtimeNs} ns`);
    }
    if (want.type === 'file') {
      if (got.size !== want.size) problems.push(`${path}: size ${got.size}, expected ${want.size}`);
      else if (got.sha256 !== want.sha256) problems.push(`${path}: content differs`);
      if (got.linkGroup !== want.linkGroup) {
        problems.push(`${path}: hard link group ${got.linkGroup ?? '(none)'}, expected ${want.linkGroup ?? '(none)'}`);
      }
    }
    if (want.type === 'symlink' && got.target !== want.target) {
      problems.push(`${path}: symlink to ${got.target}, expected ${want.target}`);
    }
  }
  for (const path of actual.keys()) {
    if (!expected.has(path)) problems.push(`${path}: unexpected`);
  }
  return problems;
}

/** One hash for a whole tree under the given comparison options: equal trees, equal hashes. */
export function hashTree(tree: Tree, options: CompareOptions = {}): string {
  const { mtime = true, dirMtime = true, root = true, mode = true } = options;
  const hash = createHash('sha256');
  for (const path of [...tree.keys()].sort()) {
    const e = tree.get(path)!;
    const checkMeta = root || path !== '.';
    const withMtime = checkMeta && mtime && e.type !== 'symlink' && (e.type !== 'dir' || dirMtime);
    hash.update(
      JSON.stringify([
        e.path,
        e.type,
        checkMeta && mode && e.type !== 'symlink' ? e.mode : null,
        withMtime ? e.mtimeNs.toString() : null,
        e.size,
        e.sha256 ?? null,
        e.target ?? null,
        e.linkGroup ?? null,
      ]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

/** Reads both trees and returns their differences (empty: same content and metadata). */
export async function compareDirectories(expectedRoot: string, actualRoot: string, options: CompareOptions = {}): Promise<string[]> {
  return diffTrees(await readTree(expectedRoot), await readTree(actualRoot), options);
}

/** rm -rf that also gets through directories a test made read-only. */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    const unlock = async (dir: string) => {
      await chmod(dir, 0o700).catch(() => undefined);
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) await unlock(join(dir, entry.name));
      }
    };
    await unlock(path);
    await rm(path, { recursive: true, force: true });
  }
}

/** removeTree for process 'exit' handlers, where nothing asynchronous runs any more. */
export function removeTreeSync(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    const unlock = (dir: string) => {
      try {
        chmodSync(dir, 0o700);
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory()) unlock(join(dir, entry.name));
        }
      } catch {
        // best effort
      }
    };
    unlock(path);
    rmSync(path, { recursive: true, force: true });
  }
}

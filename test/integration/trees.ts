// Snapshots of a directory tree as a user would compare two of them: per path its type, content
// hash, mode, mtime (ms) and symlink target, and which paths share an inode (hard links).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry { type: 'file' | 'dir' | 'symlink'; mode: number; mtimeMs: number; sha256?: string; target?: string; linkGroup?: string }

export function snapshotTree(root: string): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string[]>();
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const key = rel || '.';
    if (st.isSymbolicLink()) {
      out[key] = { type: 'symlink', mode: 0, mtimeMs: Math.floor(st.mtimeMs), target: readlinkSync(abs) };
    } else if (st.isDirectory()) {
      out[key] = { type: 'dir', mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs) };
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else {
      out[key] = { type: 'file', mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), sha256: createHash('sha256').update(readFileSync(abs)).digest('hex') };
      if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), key]);
    }
  };
  walk('');
  for (const names of inodes.values()) for (const n of names) out[n]!.linkGroup = names.slice().sort()[0];
  return out;
}

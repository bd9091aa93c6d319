// Oracles that compare two trees and share no code with the copier: rsync's own comparison
// (content by checksum, hard links, ACLs, xattrs, owners, modes, mtimes, specials), getfattr and
// getfacl dumps, and stat's view of every entry (type, mode, owner, size, allocated blocks, mtime
// to the nanosecond). Used by the copier's fidelity tests and the API's (test/unit/
// copier-fidelity.test.ts, test/integration/fidelity-api.test.ts). Needs rsync, attr and acl
// (.ci/run installs them); the torture tree they compare also needs root.
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'vitest';

const tools = ['rsync', 'getfattr', 'getfacl', 'setfattr', 'setfacl', 'mkfifo', 'mknod'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
/** Whether this machine can build a torture tree and compare copies of it. */
export const canCompareTrees = process.getuid?.() === 0 && tools && process.platform === 'linux';

/** A dump's name relative to the root, without the "./" some tools print. */
const relative = (name: string) => name.replace(/^\.\//, '');

/** Whether `name` is one of the `excluded` paths or under one of them. */
const isExcluded = (name: string, excluded: readonly string[]) => excluded.some((path) => name === path || name.startsWith(`${path}/`));

export function sh(command: string, args: string[], cwd?: string): Buffer {
  return execFileSync(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** rsync's list of what it would change to make dst like src: empty when they are the same. */
export function rsyncDifferences(src: string, dst: string, excluded: readonly string[] = []): string {
  const excludes = excluded.map((path) => `--exclude=/${path}`);
  return sh('rsync', ['-aHAXS', '--specials', '--dry-run', '--itemize-changes', '--checksum', ...excludes, `${src}/`, `${dst}/`]).toString('latin1');
}

/** Blocks of a dump that starts each entry with "# file: <name>", by name (walk order differs). */
function blocksByFile(dump: Buffer, excluded: readonly string[]): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const block of dump.toString('latin1').split(/\n\n+/)) {
    const match = /^# file: (.*)$/m.exec(block);
    if (!match) continue;
    const name = relative(match[1]!);
    if (!isExcluded(name, excluded)) blocks.set(name, block.trim().replace(/^# file: .*$/m, `# file: ${name}`));
  }
  return blocks;
}

/** getfattr's dump of every xattr in every namespace (symlinks themselves, not followed). */
export function xattrDump(root: string, excluded: readonly string[] = []): Map<string, string> {
  return blocksByFile(sh('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], root), excluded);
}

/** getfacl's dump of every ACL (and owner, group, set-id flags), symlinks skipped. */
export function aclDump(root: string, excluded: readonly string[] = []): Map<string, string> {
  return blocksByFile(sh('getfacl', ['-R', '-P', '.'], root), excluded);
}

/** stat of every entry: type, mode, owner, size, allocated blocks, mtime with nanoseconds.
 * (Directory sizes are the file system's business: only their other attributes count.) */
export function statDump(root: string, excluded: readonly string[] = []): Map<string, string> {
  const out = sh('sh', ['-c', "find . -print0 | xargs -0 stat --printf '%n\\0%F %a %u %g %s %b %y\\0'"], root);
  const fields = out.toString('latin1').split('\0');
  const entries = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = relative(fields[i]!);
    if (isExcluded(name, excluded)) continue;
    const line = fields[i + 1]!;
    entries.set(name, line.startsWith('directory ') ? line.replace(/^(directory \S+ \S+ \S+) \S+ \S+/, '$1') : line);
  }
  return entries;
}

/** dst is src, by every oracle, but for the `excluded` paths (and what is under them) on either side. */
export function expectSameTree(src: string, dst: string, excluded: readonly string[] = []): void {
  expect(rsyncDifferences(src, dst, excluded)).toBe('');
  expect(Object.fromEntries(statDump(dst, excluded))).toEqual(Object.fromEntries(statDump(src, excluded)));
  expect(Object.fromEntries(xattrDump(dst, excluded))).toEqual(Object.fromEntries(xattrDump(src, excluded)));
  expect(Object.fromEntries(aclDump(dst, excluded))).toEqual(Object.fromEntries(aclDump(src, excluded)));
}

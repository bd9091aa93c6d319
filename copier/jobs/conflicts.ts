// What a restore does with an entry already in the target whose type is not the backup's (a
// directory where the backup has a file, a symlink where it has a directory, a FIFO, …): the
// target's entry is renamed aside in its own directory, to "<name>.restore-<tag>" ("-2", "-3", … when
// that is taken; <name> cut short where it must, below), and reported; the backup's entry is then
// written under the name. Nothing is ever deleted recursively: a tenant's directory may hold data the
// backup never had.
//
// An aside name fits in a directory entry: where "<name>" and the suffix together would pass 255
// bytes (NAME_MAX on Linux, EFS and NFS; a share can hold 255-byte names), bytes are cut from the end
// of "<name>", never from the suffix, which still says which restore moved the entry and keeps each
// n's name distinct (asideName).
//
// Renaming never follows a symlink at the name (rename and link act on the name itself), so a
// planted symlink is moved like any other entry, and what it points to is never touched.
//
// The aside name is taken without replacing anything, though rename(2) replaces a non-directory
// (or an empty directory) silently and Node has no renameat2(RENAME_NOREPLACE):
// - a non-directory is hard-linked to the aside name (link fails with EEXIST on any existing name)
//   and its old name unlinked: the inode, its data, is never at risk;
// - a directory is renamed onto an empty directory this run has just created there with mkdir
//   (which fails with EEXIST on any existing name); if someone filled it meanwhile, the rename fails
//   with ENOTEMPTY and the next name is tried.
// Where a hard link is refused (EPERM: fs.protected_hardlinks, a copier without root linking
// another user's file; or a file system without hard links) the name is checked free with lstat and
// renamed: only a name created in that instant could be replaced.
import type { BigIntStats } from 'node:fs';
import { errnoCode, UnsafePathError } from '../errors.ts';
import { encodeName, type FsPath } from '../fs/names.ts';
import { underRoot } from '../fs/paths.ts';
import { linkPath, lstatPathBig, mkdirPath, renamePath, rmdirPath, unlinkPath, type Steps } from './syscalls.ts';
import type { ReportEntry } from '../progress/report.ts';

/** Aside names tried before the restore gives up on an entry (a name taken by 1,000 others is a
 * target nobody should write into blindly). */
const MAX_ASIDE_NAMES = 1000;

/**
 * The tag of a restore's aside names: the first 8 characters of its restore id, with anything that
 * is not a letter, a digit, '-' or '_' made '_' (the id is ours, from the environment, but a name
 * must never gain a '/').
 */
export function asideTag(restoreId: string): string {
  return restoreId.slice(0, 8).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The most bytes a name in a directory can have (NAME_MAX on Linux, EFS and NFS). */
export const NAME_MAX_BYTES = 255;

/** How many bytes of a name one character of its decoded string (names.ts) stands for. */
function bytesOf(char: string): number {
  const code = char.charCodeAt(0);
  // an escaped byte that is not UTF-8 (U+DC80..U+DCFF) is that one byte
  if (char.length === 1 && code >= 0xdc80 && code <= 0xdcff) return 1;
  return Buffer.byteLength(char, 'utf8');
}

/**
 * The n-th name (n ≥ 1) to move an entry named `name` (one decoded name, names.ts) aside to:
 * "<name>.restore-<tag>", "-<n>" added from n = 2. When that would pass NAME_MAX_BYTES, `name`'s
 * own part is cut from its end to what fits, the suffix kept whole. The cut falls between
 * characters of the decoded name: never inside a UTF-8 sequence, and a byte that is not UTF-8 (one
 * escape) is cut alone. The result is itself the decoding of its bytes (the cut prefix decodes to
 * itself, and the suffix, starting with '.', cannot join a sequence before it), so as a manifest path
 * component it names exactly the entry on disk.
 */
export function asideName(name: string, tag: string, n: number): string {
  const suffix = `.restore-${tag}${n === 1 ? '' : `-${n}`}`;
  const room = NAME_MAX_BYTES - Buffer.byteLength(suffix, 'utf8');
  if (encodeName(name).length <= room) return `${name}${suffix}`;
  let bytes = 0;
  let end = 0;
  for (const char of name) {
    bytes += bytesOf(char);
    if (bytes > room) break;
    end += char.length;
  }
  return `${name.slice(0, end)}${suffix}`;
}

/** What an entry is, in a report's words. */
export function kindOf(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isCharacterDevice()) return 'a character device';
  return 'an entry of unknown type';
}

/**
 * Renames the entry at manifest path `path` (which lstat saw as `stats`) aside in its directory;
 * returns the report entry saying where it went. `backupHas` names what the backup has there
 * ("a regular file").
 */
export function* moveAside(targetRoot: string, path: string, stats: BigIntStats, tag: string, backupHas: string): Steps<ReportEntry> {
  const from = underRoot(targetRoot, path);
  // (the entry's directory, "" at the root, and its own name: only the name is made to fit)
  const directory = path.slice(0, path.lastIndexOf('/') + 1);
  const name = path.slice(directory.length);
  for (let n = 1; n <= MAX_ASIDE_NAMES; n++) {
    const asidePath = `${directory}${asideName(name, tag, n)}`;
    const to = underRoot(targetRoot, asidePath);
    if (yield* (stats.isDirectory() ? renameDirectory(from, to) : renameNonDirectory(from, to))) {
      return { path, what: 'entry', action: 'moved-aside', why: `the target had ${kindOf(stats)} where the backup has ${backupHas}`, moved_to: asidePath };
    }
  }
  throw new UnsafePathError(`"${path}": ${MAX_ASIDE_NAMES} names to move the target's entry aside to are all taken`);
}

/** Renames a directory to `to` if that name is free; false when it is taken. */
function* renameDirectory(from: FsPath, to: FsPath): Steps<boolean> {
  try {
    yield* mkdirPath(to, 0o700);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    yield* renamePath(from, to);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    // filled meanwhile: it is someone else's now, left as it is
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    try {
      yield* rmdirPath(to);
    } catch {
      // (only our empty reservation, left behind)
    }
    throw error;
  }
}

/** Moves a non-directory to `to` if that name is free; false when it is taken. */
function* renameNonDirectory(from: FsPath, to: FsPath): Steps<boolean> {
  try {
    yield* linkPath(from, to);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
    if (yield* lstatPathBig(to)) return false;
    yield* renamePath(from, to);
    return true;
  }
  yield* unlinkPath(from);
  return true;
}

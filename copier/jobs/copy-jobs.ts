// A restore's per-entry file-system steps, as the copy workers (copy-worker.ts) run them: each job is
// a generator of the calls it makes (syscalls.ts), run either blocking in each call (a local disk)
// or with many jobs in flight per worker (a network file system).
//
// The safety rules are those of fs-ops.ts: sources are opened with O_NOFOLLOW, targets created with
// O_EXCL|O_NOFOLLOW, metadata is set through an open descriptor or with the l* calls. The caller
// (restore/target-dirs.ts) has checked that every ancestor of the path is a real directory of the target.
//
// An existing name is never followed, and never deleted recursively: an entry of the same type (a
// regular file where the backup has a file, a symlink where it has a symlink, a FIFO where it has a
// FIFO, …) is unlinked and written anew (a regular file or symlink reported as repaired), or, for a
// FIFO or socket, kept; anything else (a directory, a FIFO, a symlink where the backup has a file,
// …) is moved aside and reported (conflicts.ts).
//
// Resume: an existing regular file is kept only if its content matches the manifest's checksum
// (read from the file), or, with verifyExisting 'size-mtime' (an administrator's opt-in) or below
// this same restore's checkpoint (`trusted`), if its size and mtime (to the nanosecond) match; only
// its ownership, mode, xattrs and mtime are re-applied where they differ. Size and mtime prove
// nothing about content: a file rewritten with the same size and its mtime put back (`touch -r`)
// has both. A symlink with the right target is kept likewise (its target is read: an exact
// comparison).
//
// Fidelity (docs/user-guide.md, "Fidelity"): mtimes to the nanosecond (futimens, through the native
// addon fsx.ts), extended attributes and POSIX ACLs from the manifest's `xattrs`, sparse files with
// their holes, FIFOs and sockets. An xattr the target refuses is a report entry on the job's
// outcome (the main thread hands it to the run's report), never a failure and never silent. The
// mtime is set last, after the xattrs: a file whose mtime matches was completed, xattrs included.
import { constants, type BigIntStats } from 'node:fs';
import { checksumOf, createDigest, type ChecksumAlgorithm } from '../fs/checksum.ts';
import { ChecksumMismatchError, errnoCode, ManifestError, SizeMismatchError, StoppedError, UnsafePathError } from '../errors.ts';
import { moveAside } from './conflicts.ts';
// Files up to WHOLE_FILE_LIMIT are read whole, hashed, checked and only then written; larger ones
// stream in CHUNK_SIZE chunks (1 MiB: it stays in the CPU's cache between read, hash and write;
// 8 MiB chunks measured 15–25 % slower on 8 × 256 MiB), hashed as they go, checked after the last.
import { CHUNK_SIZE, WHOLE_FILE_LIMIT } from '../fs/fs-ops.ts';
import { xattrRefused } from '../fs/fsx.ts';
import { encodeName, fsTarget, type FsPath } from '../fs/names.ts';
import { underRoot } from '../fs/paths.ts';
import type { ReportEntry } from '../progress/report.ts';
import {
  closeFd, copyFileExclusive, fchmodFd, fchownFd, fsetxattrFd, fstatFd, fstatFdBig, ftruncateFd, futimensFd, lchmodPath, lchownPath, lsetxattrPath, lstatPathBig, lutimensPath, mknodPath, openFile, readAt,
  readlinkPath, seekDataFd, seekHoleFd, symlinkAt, unlinkPath, writeAt,
  type Steps,
} from './syscalls.ts';


const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** How an existing target file is recognised as already restored: 'checksum', its content is read
 * and must match the manifest's checksum (the default); 'size-mtime', an administrator's opt-in
 * (COPIER_VERIFY_EXISTING), a regular file with the manifest's size and mtime is trusted unread,
 * and only one that differs in either is read. */
export type VerifyExisting = 'size-mtime' | 'checksum';

/** The manifest attributes every job carries. */
export interface JobMetadata {
  mode: number;
  uid: number;
  gid: number;
  /** nanoseconds since the epoch, decimal (the manifest's mtime_ns) */
  mtimeNs: string;
  /** extended attributes, name → base64 value (the manifest's xattrs); none: nothing to set */
  xattrs?: Record<string, string>;
}

/** A manifest entry's metadata as jobs carry it. */
export function jobMetadataOf(entry: { mode: number; uid: number; gid: number; mtime_ns: string; xattrs?: Record<string, string> }): JobMetadata {
  const metadata: JobMetadata = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeNs: entry.mtime_ns };
  if (entry.xattrs !== undefined) metadata.xattrs = entry.xattrs;
  return metadata;
}

export interface FileJob extends JobMetadata {
  kind: 'file';
  /** the manifest path (under JobSettings.dataRoot and .targetRoot) */
  path: string;
  size: number;
  /** the manifest's checksum the copy is verified against (checksum.ts), and which one it is */
  checksum: string;
  algorithm: ChecksumAlgorithm;
  /** the target's directory was created by this run: nothing can be at the name yet */
  fresh: boolean;
  /** this same restore already wrote and verified the file (a retry or redrive below its checkpoint:
   * restore/checkpoint.ts): a file in place with its size and mtime is trusted unread */
  trusted?: boolean;
  /** the source had holes: only the backup data's extents are written, the holes recreated */
  sparse?: boolean;
}

export interface SymlinkJob extends JobMetadata {
  kind: 'symlink';
  path: string;
  linkTarget: string;
  fresh: boolean;
}

export interface DirMetadataJob extends JobMetadata {
  kind: 'dir-metadata';
  path: string;
}

/** A FIFO or a socket, made with mknod (a socket so made is a name no process listens on, as cp -a
 * and rsync --specials make it). */
export interface SpecialJob extends JobMetadata {
  kind: 'special';
  path: string;
  type: 'fifo' | 'socket';
  fresh: boolean;
}

export type Job = FileJob | SymlinkJob | DirMetadataJob | SpecialJob;

/** What alreadyRestored needs of a file or symlink job. */
export type InPlaceQuestion =
  | Pick<FileJob, 'kind' | 'path' | 'size' | 'trusted' | keyof JobMetadata>
  | Pick<SymlinkJob, 'kind' | 'path' | 'linkTarget' | keyof JobMetadata>;

export interface JobSettings {
  /** real paths of the backup's data directory and of the target share's root */
  dataRoot: string;
  targetRoot: string;
  chown: boolean;
  verifyExisting: VerifyExisting;
  /** the tag of the names the target's entries are moved aside to (conflicts.ts asideTag) */
  asideTag: string;
  /** Int32Array over a SharedArrayBuffer: non-zero once the run is stopped */
  stopFlag: Int32Array;
  /** bytes copied so far of a large file (progress while it streams) */
  onBytes?: (bytes: number) => void;
  /** the process's umask (new files get the mode asked for less these bits) */
  umask: number;
  /** files of KERNEL_COPY_MIN_BYTES and more are copied by the kernel and verified by reading the
   * copy back (kernelCopyAndVerify); else they stream through user space, checked on the way */
  kernelCopy?: boolean;
  /** where this worker remembers the owner of new files by directory (none: always fstat) */
  newFileOwners?: NewFileOwners;
}

export interface JobOutcome {
  /** regular-file bytes accounted for (written or found in place) */
  bytes: number;
  /** true when the file (or symlink) was already there and only metadata was checked */
  unchanged: boolean;
  /** the bytes were already reported through JobSettings.onBytes while streaming */
  streamed?: boolean;
  /** a directory that was at the name and was moved aside (the caller forgets what it knew under it) */
  movedAsideDir?: string;
  /** what the job repaired, moved aside or could not keep (report.ts): the main thread reports them */
  reports?: ReportEntry[];
}

function addReport(outcome: JobOutcome, entry: ReportEntry): void {
  (outcome.reports ??= []).push(entry);
}

/** mtimes are compared to the nanosecond: futimens sets them so (fsx.ts). */
function sameMtime(stats: BigIntStats, mtimeNs: string): boolean {
  return stats.mtimeNs === BigInt(mtimeNs);
}

/** Sets the manifest's xattrs with `set` (fsetxattr or lsetxattr); one the target refuses (ENOTSUP,
 * EPERM for trusted.* without CAP_SYS_ADMIN, ...) becomes a report entry on `outcome`. POSIX ACLs
 * are the xattrs system.posix_acl_access/default and go the same way. */
function* applyXattrs(job: JobMetadata & { path: string }, outcome: JobOutcome, set: (name: FsPath, value: Buffer) => Steps<void>): Steps<void> {
  if (!job.xattrs) return;
  for (const [name, value] of Object.entries(job.xattrs)) {
    try {
      yield* set(name.isWellFormed() ? name : encodeName(name), Buffer.from(value, 'base64'));
    } catch (error) {
      const code = errnoCode(error);
      if (!xattrRefused(code)) throw error;
      const what = name.startsWith('system.posix_acl_') ? 'acl' : 'xattrs';
      addReport(outcome, { path: job.path, what, action: 'not-kept', why: `the target refused the extended attribute ${JSON.stringify(name)} (${code})` });
    }
  }
}

function throwIfStopped(stopFlag: Int32Array): void {
  if (Atomics.load(stopFlag, 0) !== 0) throw new StoppedError('stopped');
}

/** What a report calls the backup's entry of a job's type. */
function backupKind(job: FileJob | SymlinkJob | SpecialJob): string {
  if (job.kind === 'file') return 'a regular file';
  if (job.kind === 'symlink') return 'a symlink';
  return job.type === 'fifo' ? 'a FIFO' : 'a socket';
}

/** Whether the entry lstat saw is of the job's own type. */
function sameType(job: FileJob | SymlinkJob | SpecialJob, stats: BigIntStats): boolean {
  if (job.kind === 'file') return stats.isFile();
  if (job.kind === 'symlink') return stats.isSymbolicLink();
  return job.type === 'fifo' ? stats.isFIFO() : stats.isSocket();
}

/**
 * Frees the job's name in the target, never following what is there: an entry of the job's own type
 * (a regular file for a file, a symlink for a symlink, a FIFO for a FIFO, a socket for a socket) is
 * unlinked, its content being replaced by the backup's; anything else is moved aside and reported
 * (conflicts.ts).
 */
function* clearName(job: FileJob | SymlinkJob | SpecialJob, target: FsPath, settings: JobSettings, outcome: JobOutcome, seen?: BigIntStats): Steps<void> {
  const stats = seen ?? (yield* lstatPathBig(target));
  if (!stats) return;
  if (sameType(job, stats)) {
    yield* unlinkPath(target);
    return;
  }
  addReport(outcome, yield* moveAside(settings.targetRoot, job.path, stats, settings.asideTag, backupKind(job)));
  if (stats.isDirectory()) outcome.movedAsideDir = job.path;
}

/** Whether `stats` is a regular file with the entry's size and mtime (what a re-run trusts). */
function sameContentMarks(stats: BigIntStats, job: Pick<FileJob, 'size' | 'mtimeNs'>): boolean {
  return stats.isFile() && stats.size === BigInt(job.size) && sameMtime(stats, job.mtimeNs);
}

/** Whether `stats` already has the entry's ownership (when asked) and mode. */
function metadataRight(stats: BigIntStats, job: JobMetadata, chown: boolean): boolean {
  if (chown && (stats.uid !== BigInt(job.uid) || stats.gid !== BigInt(job.gid))) return false;
  return Number(stats.mode & 0o7777n) === job.mode;
}

/** What the metadata step compares with the manifest: a descriptor's owner, permission bits and
 * (for something that existed before) mtime. */
interface CurrentMetadata {
  uid: number;
  gid: number;
  /** permission bits (mode & 0o7777) */
  mode: number;
  /** undefined for a file this run just created: its mtime is always set */
  stats?: BigIntStats;
}

function currentOf(stats: BigIntStats): CurrentMetadata {
  return { uid: Number(stats.uid), gid: Number(stats.gid), mode: Number(stats.mode & 0o7777n), stats };
}

/** The owner new files get in a directory (per worker, the last few directories). */
export type NewFileOwners = Map<string, { uid: number; gid: number } | 'unknown'>;
const NEW_FILE_OWNERS_KEPT = 256;

/**
 * A just-created file's owner and mode, as the file system made them: on a local disk the copier's
 * user, on an EFS access point its POSIX user, in a set-group-ID directory that directory's group.
 * Knowing them saves a chown where they already match (on EFS a round trip per file). The first
 * file created in a directory is asked (fstat); later ones there are known to get the same owner,
 * and the mode asked for less the umask, unless that first file showed otherwise.
 */
function* createdMetadata(fd: number, job: FileJob, settings: JobSettings): Steps<CurrentMetadata> {
  const owners = settings.newFileOwners;
  const dir = job.path.slice(0, Math.max(0, job.path.lastIndexOf('/')));
  const mode = creationMode(job) & ~settings.umask;
  const known = owners?.get(dir);
  if (known !== undefined && known !== 'unknown') return { uid: known.uid, gid: known.gid, mode };
  const stats = yield* fstatFd(fd);
  if (owners && known === undefined) {
    if (owners.size >= NEW_FILE_OWNERS_KEPT) owners.clear();
    owners.set(dir, (stats.mode & 0o7777) === mode ? { uid: stats.uid, gid: stats.gid } : 'unknown');
  }
  return { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 };
}

/** Ownership (when asked; first, since chown clears set-id bits), xattrs (with the mtime: see the
 * top), mode and mtime (last), each only where it differs from what the descriptor has. An ACL
 * sets the group bits to its mask, which the backup's mode has too: the chmod after agrees with it. */
function* applyMetadataWhereDifferent(fd: number, current: CurrentMetadata, job: JobMetadata & { path: string }, chown: boolean, outcome: JobOutcome): Steps<void> {
  let chowned = false;
  if (chown && (current.uid !== job.uid || current.gid !== job.gid)) {
    yield* fchownFd(fd, job.uid, job.gid);
    chowned = true;
  }
  const mtimeDiffers = !current.stats || !sameMtime(current.stats, job.mtimeNs);
  if (mtimeDiffers) yield* applyXattrs(job, outcome, (name, value) => fsetxattrFd(fd, name, value));
  if (current.mode !== job.mode || (chowned && (job.mode & 0o6000) !== 0) || (mtimeDiffers && job.xattrs)) yield* fchmodFd(fd, job.mode);
  if (mtimeDiffers) yield* futimensFd(fd, job.mtimeNs);
}

function* readFull(fd: number, buffer: Buffer, length: number, position: number): Steps<number> {
  let filled = 0;
  while (filled < length) {
    const bytesRead = yield* readAt(fd, buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

function* writeAll(fd: number, buffer: Buffer, length: number, position: number): Steps<void> {
  let offset = 0;
  while (offset < length) offset += yield* writeAt(fd, buffer, offset, length - offset, position + offset);
}

/** The checksum of a whole file, read through `buffer`. */
function* checksumFile(fd: number, algorithm: ChecksumAlgorithm, buffer: Buffer, stopFlag: Int32Array): Steps<string> {
  const hash = createDigest(algorithm);
  for (let position = 0; ; ) {
    throwIfStopped(stopFlag);
    const length = yield* readFull(fd, buffer, buffer.length, position);
    if (length === 0) break;
    hash.update(buffer.subarray(0, length));
    position += length;
  }
  return hash.hex();
}

/**
 * The reusable buffer of one job at a time (a lane of a worker with jobs in flight, or a blocking
 * worker): a small file is read into it whole, a large one streams through it chunk by chunk. One
 * buffer, not one of each: a job is one or the other, and on a network file system, with 128 lanes
 * in flight, a small-file buffer grown to 1 MiB beside a chunk buffer in every lane took 300 MiB
 * on the mixed set (docs/performance.md).
 */
export class CopyBuffers {
  private buffer = Buffer.allocUnsafe(64 * 1024);

  /** At least `size` bytes: grown by doubling (up to CHUNK_SIZE, or to `size` if more) and kept. */
  forSmall(size: number): Buffer {
    if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(Math.max(size, Math.min(CHUNK_SIZE, this.buffer.length * 2)));
    return this.buffer;
  }

  /** Exactly CHUNK_SIZE bytes, in the same memory. */
  forChunk(): Buffer {
    return this.forSmall(CHUNK_SIZE).subarray(0, CHUNK_SIZE);
  }
}

/** What keepExistingFile found: the entry in place (kept), or not; `differs` says how a regular file
 * at the name differs from the backup's (what its rewrite is reported with). */
type InPlace = { kept: true } | { kept: false; differs?: string };
const KEPT: InPlace = { kept: true };
const NOT_A_FILE: InPlace = { kept: false };

/**
 * Whether the target already holds the entry: a regular file (not followed) of the manifest's size
 * whose content has the manifest's checksum. With verifyExisting 'size-mtime', a file whose mtime
 * matches too is trusted without being read. Its ownership, mode and mtime are re-applied where
 * they differ. Not kept: the name is free, holds something else, or a file that differs (the caller
 * frees the name: clearName).
 */
function* keepExistingFile(job: FileJob, target: FsPath, settings: JobSettings, buffers: CopyBuffers, outcome: JobOutcome): Steps<InPlace> {
  // one lstat (never follows) settles the common cases: the name is free, holds something else or
  // a file of another size, or (size-mtime) the file with all its metadata right (nothing to open)
  const seen = yield* lstatPathBig(target);
  if (!seen || !seen.isFile()) return NOT_A_FILE;
  if (seen.size !== BigInt(job.size)) return { kept: false, differs: `the target's file had ${seen.size} bytes, the backup's has ${job.size}` };
  const trustMarks = settings.verifyExisting === 'size-mtime' || job.trusted === true;
  if (trustMarks && sameMtime(seen, job.mtimeNs) && metadataRight(seen, job, settings.chown)) return KEPT;
  let fd: number;
  try {
    fd = yield* openFile(target, READ_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    // gone or replaced meanwhile (a symlink: ELOOP): the normal path frees the name
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') return NOT_A_FILE;
    if (code === 'EACCES') return { kept: false, differs: 'the target\'s file could not be read to compare it (EACCES)' };
    throw error;
  }
  try {
    const stats = yield* fstatFdBig(fd);
    if (!stats.isFile() || stats.size !== BigInt(job.size)) return NOT_A_FILE;
    if (!(trustMarks && sameMtime(stats, job.mtimeNs))) {
      const actual = yield* checksumFile(fd, job.algorithm, buffers.forChunk(), settings.stopFlag);
      if (actual !== job.checksum) return { kept: false, differs: `the target's file had the backup's size and another content (${job.algorithm} checksum ${actual}, the backup's ${job.checksum})` };
    }
    yield* applyMetadataWhereDifferent(fd, currentOf(stats), job, settings.chown, outcome);
    return KEPT;
  } finally {
    yield* closeFd(fd);
  }
}

/**
 * The mode to create a file with. A mode without set-id or sticky bits is given at creation, so
 * where the umask leaves it intact no chmod follows (on EFS a round trip per file); any other file
 * is created 0600 and chmod-ed once written (a set-id file must never exist with the wrong owner
 * and its final mode).
 */
function creationMode(job: FileJob): number {
  return (job.mode & 0o7000) === 0 ? job.mode : 0o600;
}

/** Creates the target (O_EXCL); an existing name is freed first (clearName), never followed. */
function* createTarget(job: FileJob, target: FsPath, settings: JobSettings, outcome: JobOutcome): Steps<number> {
  const mode = creationMode(job);
  try {
    return yield* openFile(target, CREATE_FLAGS, mode);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  yield* clearName(job, target, settings, outcome);
  return yield* openFile(target, CREATE_FLAGS, mode);
}

function* openBackupData(job: FileJob, source: FsPath): Steps<number> {
  try {
    return yield* openFile(source, READ_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') throw new ManifestError(`"${job.path}": the backup has no data file for it`);
    if (code === 'ELOOP') throw new UnsafePathError(`"${job.path}": the backup's data file is a symlink`);
    throw error;
  }
}

function checkHash(job: FileJob, checksum: string): void {
  if (checksum !== job.checksum) throw new ChecksumMismatchError(`"${job.path}": checksum mismatch (${job.algorithm} of the data ${checksum}, manifest ${job.checksum})`);
}

/** A written copy whose checksum is not the manifest's is removed, so no corrupt file is left under
 * the name, and the job fails with the mismatch (streamed and sparse copies alike). */
function* discardMismatch(job: FileJob, targetPath: FsPath, checksum: string): Steps<void> {
  yield* unlinkPath(targetPath);
  checkHash(job, checksum);
}

/**
 * The size from which a local restore lets the kernel copy a file (copy_file_range) and reads the
 * copy back to check it, instead of streaming it through user space: every file that is not read
 * whole. Both pass over the bytes twice; on this VM the dearer pass is writing from user space into
 * the page cache (14 % of a mixed restore's samples), which the kernel's copy avoids. Mixed set,
 * nine alternating pairs: 2.66–3.32 s against 2.84–3.89 s streamed, the kernel copy faster in eight;
 * 8 × 256 MiB: 1.42 s against 1.49 s. (An earlier measurement in 0.3 found the reverse on the mixed
 * set, 3.2 against 2.7 s, and set this at 64 MiB; repeated side by side, it did not hold.)
 */
export const KERNEL_COPY_MIN_BYTES = WHOLE_FILE_LIMIT + 1;

/** Restores one regular file: verified against the manifest's size and checksum. */
function* restoreFile(job: FileJob, settings: JobSettings, buffers: CopyBuffers, outcome: JobOutcome): Steps<JobOutcome> {
  const targetPath = underRoot(settings.targetRoot, job.path);
  if (!job.fresh) {
    const inPlace = yield* keepExistingFile(job, targetPath, settings, buffers, outcome);
    if (inPlace.kept) {
      outcome.unchanged = true;
      return outcome;
    }
    // (reported before the copy: a copy that fails fails the batch, and its outcomes with it)
    if (inPlace.differs !== undefined) addReport(outcome, { path: job.path, what: 'content', action: 'repaired', why: inPlace.differs });
  }
  const source = yield* openBackupData(job, underRoot(settings.dataRoot, job.path));
  try {
    const stats = yield* fstatFd(source);
    if (!stats.isFile()) throw new ManifestError(`"${job.path}": the backup's data file is not a regular file`);
    if (stats.size !== job.size) throw new SizeMismatchError(`"${job.path}": the backup's data file has ${stats.size} bytes, the manifest says ${job.size}`);
    if (job.sparse) {
      yield* copySparse(job, source, targetPath, settings, buffers, outcome);
      return outcome;
    }
    if (job.size <= WHOLE_FILE_LIMIT) {
      // read and check first: a corrupt small file never replaces what the target has
      const buffer = buffers.forSmall(job.size);
      const length = yield* readFull(source, buffer, job.size, 0);
      if (length !== job.size) throw new SizeMismatchError(`"${job.path}": read ${length} bytes, expected ${job.size}`);
      checkHash(job, checksumOf(job.algorithm, buffer.subarray(0, length)));
      throwIfStopped(settings.stopFlag);
      const target = yield* createTarget(job, targetPath, settings, outcome);
      try {
        // (before the write: on a network file system the create's reply still holds the answer)
        const created = yield* createdMetadata(target, job, settings);
        yield* writeAll(target, buffer, length, 0);
        yield* applyMetadataWhereDifferent(target, created, job, settings.chown, outcome);
      } finally {
        yield* closeFd(target);
      }
      return outcome;
    }
    if (settings.kernelCopy && job.size >= KERNEL_COPY_MIN_BYTES && (stats.mode & 0o7000) === 0) {
      yield* kernelCopyAndVerify(job, underRoot(settings.dataRoot, job.path), targetPath, settings, buffers, outcome);
      return outcome;
    }
    const target = yield* createTarget(job, targetPath, settings, outcome);
    const hash = createDigest(job.algorithm);
    let verified = false;
    try {
      const created = yield* createdMetadata(target, job, settings);
      const buffer = buffers.forChunk();
      let position = 0;
      while (position < job.size) {
        throwIfStopped(settings.stopFlag);
        const want = Math.min(buffer.length, job.size - position);
        const length = yield* readFull(source, buffer, want, position);
        if (length === 0) break;
        hash.update(buffer.subarray(0, length));
        yield* writeAll(target, buffer, length, position);
        position += length;
        settings.onBytes?.(length);
      }
      if (position !== job.size) throw new SizeMismatchError(`"${job.path}": read ${position} bytes, expected ${job.size}`);
      outcome.streamed = true;
      verified = hash.hex() === job.checksum;
      if (verified) yield* applyMetadataWhereDifferent(target, created, job, settings.chown, outcome);
    } finally {
      yield* closeFd(target);
    }
    if (!verified) yield* discardMismatch(job, targetPath, hash.hex());
    return outcome;
  } finally {
    yield* closeFd(source);
  }
}

/**
 * A large file copied by the kernel (copy_file_range: no pass through user space) and verified by
 * hashing the copy it made, read back from the page cache: the sha256 checked is that of the bytes
 * in the target. The copy and the hash of different files overlap across workers, so a local disk's
 * large files cost one user-space pass (the hash) instead of two. A copy that does not match is
 * removed. Only for data files without set-id bits (the kernel copy creates the target with the
 * data file's mode, before its owner is set).
 */
function* kernelCopyAndVerify(job: FileJob, sourcePath: FsPath, targetPath: FsPath, settings: JobSettings, buffers: CopyBuffers, outcome: JobOutcome): Steps<void> {
  try {
    yield* copyFileExclusive(sourcePath, targetPath);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    yield* clearName(job, targetPath, settings, outcome);
    yield* copyFileExclusive(sourcePath, targetPath);
  }
  const target = yield* openFile(targetPath, READ_FLAGS);
  let verified = false;
  try {
    const stats = yield* fstatFdBig(target);
    if (stats.size !== BigInt(job.size)) throw new SizeMismatchError(`"${job.path}": copied ${stats.size} bytes, expected ${job.size}`);
    checkHash(job, yield* checksumFile(target, job.algorithm, buffers.forChunk(), settings.stopFlag));
    verified = true;
    yield* applyMetadataWhereDifferent(target, currentOf(stats), job, settings.chown, outcome);
  } finally {
    yield* closeFd(target);
    if (!verified) yield* unlinkPath(targetPath);
  }
}

/** Zeros to hash for a hole (a hole reads as zeros, and the checksum is of the content). */
const ZEROS = Buffer.alloc(CHUNK_SIZE);

/**
 * A sparse file: only the backup data's extents (SEEK_DATA/SEEK_HOLE) are read and written, so the
 * target gets holes where the backup has them, and its size from ftruncate. The checksum covers the
 * holes as the zeros they read as. Where the backup's file system reports no holes (lseek's generic
 * answer: all data), the file is copied whole, and dense.
 */
function* copySparse(job: FileJob, source: number, targetPath: FsPath, settings: JobSettings, buffers: CopyBuffers, outcome: JobOutcome): Steps<void> {
  const target = yield* createTarget(job, targetPath, settings, outcome);
  const hash = createDigest(job.algorithm);
  const hashZeros = (length: number) => {
    for (let left = length; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  };
  let verified = false;
  try {
    const created = yield* createdMetadata(target, job, settings);
    const buffer = buffers.forChunk();
    let position = 0;
    let written = 0;
    while (position < job.size) {
      throwIfStopped(settings.stopFlag);
      const data = yield* seekDataFd(source, position);
      if (data === -1 || data >= job.size) break;
      hashZeros(data - position);
      const end = Math.min(job.size, yield* seekHoleFd(source, data));
      for (position = data; position < end;) {
        throwIfStopped(settings.stopFlag);
        const length = yield* readFull(source, buffer, Math.min(buffer.length, end - position), position);
        if (length === 0) throw new SizeMismatchError(`"${job.path}": read ${position} bytes, expected ${job.size}`);
        hash.update(buffer.subarray(0, length));
        yield* writeAll(target, buffer, length, position);
        position += length;
        written += length;
        settings.onBytes?.(length);
      }
    }
    hashZeros(job.size - position);
    yield* ftruncateFd(target, job.size);
    outcome.streamed = true;
    // the holes' bytes count as done too: progress is of the files' sizes
    settings.onBytes?.(job.size - written);
    verified = hash.hex() === job.checksum;
    if (verified) yield* applyMetadataWhereDifferent(target, created, job, settings.chown, outcome);
  } finally {
    yield* closeFd(target);
  }
  if (!verified) yield* discardMismatch(job, targetPath, hash.hex());
}

/** A symlink's ownership (when asked), xattrs and mtime, each only where it differs from `existing`
 * (Linux keeps no mode of a symlink's own). */
function* applySymlinkMetadata(job: SymlinkJob, target: FsPath, existing: BigIntStats | undefined, chown: boolean, outcome: JobOutcome): Steps<void> {
  if (chown && (!existing || existing.uid !== BigInt(job.uid) || existing.gid !== BigInt(job.gid))) yield* lchownPath(target, job.uid, job.gid);
  if (!existing || !sameMtime(existing, job.mtimeNs)) {
    yield* applyXattrs(job, outcome, (name, value) => lsetxattrPath(target, name, value));
    yield* lutimensPath(target, job.mtimeNs);
  }
}

/** Restores one symlink (its target verbatim, never followed); one already right is kept. */
function* restoreSymlink(job: SymlinkJob, settings: JobSettings, outcome: JobOutcome): Steps<JobOutcome> {
  const target = underRoot(settings.targetRoot, job.path);
  if (job.fresh) {
    try {
      yield* symlinkAt(fsTarget(job.linkTarget), target);
      yield* applySymlinkMetadata(job, target, undefined, settings.chown, outcome);
      return outcome;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
  const existing = yield* lstatPathBig(target);
  if (existing?.isSymbolicLink()) {
    const current = yield* readlinkPath(target);
    if (current === job.linkTarget) {
      outcome.unchanged = true;
      yield* applySymlinkMetadata(job, target, existing, settings.chown, outcome);
      return outcome;
    }
    yield* unlinkPath(target);
    addReport(outcome, { path: job.path, what: 'content', action: 'repaired', why: `the target's symlink pointed to ${JSON.stringify(current)}, the backup's to ${JSON.stringify(job.linkTarget)}` });
  } else if (existing) {
    yield* clearName(job, target, settings, outcome, existing);
  }
  yield* symlinkAt(fsTarget(job.linkTarget), target);
  yield* applySymlinkMetadata(job, target, undefined, settings.chown, outcome);
  return outcome;
}

/** A directory's ownership, mode and mtime, through an O_NOFOLLOW|O_DIRECTORY descriptor. */
function* applyDirMetadata(job: DirMetadataJob, settings: JobSettings): Steps<JobOutcome> {
  const outcome: JobOutcome = { bytes: 0, unchanged: false };
  const fd = yield* openFile(underRoot(settings.targetRoot, job.path), DIR_FLAGS);
  try {
    yield* applyMetadataWhereDifferent(fd, currentOf(yield* fstatFdBig(fd)), job, settings.chown, outcome);
  } finally {
    yield* closeFd(fd);
  }
  return outcome;
}

const SPECIAL_TYPE_BITS = { fifo: constants.S_IFIFO, socket: constants.S_IFSOCK } as const;

/**
 * A FIFO or socket: made with mknod (0600), then its owner, xattrs, mode and mtime set by name
 * without following (lchown, lsetxattr, fchmodat(AT_SYMLINK_NOFOLLOW), utimensat): opening a FIFO
 * could block and a socket cannot be opened. One of the same type already there is kept and its
 * metadata set; anything else at the name is moved aside and reported (clearName), never deleted.
 */
function* restoreSpecial(job: SpecialJob, settings: JobSettings, outcome: JobOutcome): Steps<JobOutcome> {
  const target = underRoot(settings.targetRoot, job.path);
  const typeBits = SPECIAL_TYPE_BITS[job.type];
  let existing: BigIntStats | undefined;
  let made = false;
  if (job.fresh) {
    try {
      yield* mknodPath(target, typeBits | 0o600);
      made = true;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
  if (!made) {
    const seen = yield* lstatPathBig(target);
    if (seen && sameType(job, seen)) existing = seen;
    else if (seen) yield* clearName(job, target, settings, outcome, seen);
    if (!existing) yield* mknodPath(target, typeBits | 0o600);
  }
  outcome.unchanged = existing !== undefined;
  if (settings.chown && (!existing || existing.uid !== BigInt(job.uid) || existing.gid !== BigInt(job.gid))) yield* lchownPath(target, job.uid, job.gid);
  const mtimeDiffers = !existing || !sameMtime(existing, job.mtimeNs);
  if (mtimeDiffers) yield* applyXattrs(job, outcome, (name, value) => lsetxattrPath(target, name, value));
  if (!existing || Number(existing.mode & 0o7777n) !== job.mode || mtimeDiffers) yield* lchmodPath(target, job.mode);
  if (mtimeDiffers) yield* lutimensPath(target, job.mtimeNs);
  return outcome;
}

/**
 * Whether a file or symlink job has nothing left to do, found by looking only (one lstat, a readlink
 * for a symlink), never reading a file's content: a symlink with the right target, owner and mtime;
 * a file only where size and mtime may be trusted (verifyExisting 'size-mtime', or a file this same
 * restore verified: `trusted`) and they, owner and mode are right, since otherwise a file's content
 * must be read (a worker's job: keepExistingFile). A resumed restore on a local disk
 * asks this on the main thread, so what it settles sends no job to a worker; anything else goes to a
 * worker, whose job re-checks and does what is needed. The resume scout (resume-scout.ts) asks it
 * too, ahead of the main thread.
 */
export function* alreadyRestored(job: InPlaceQuestion, settings: Pick<JobSettings, 'targetRoot' | 'chown' | 'verifyExisting'>): Steps<boolean> {
  const target = underRoot(settings.targetRoot, job.path);
  if (job.kind === 'file' && settings.verifyExisting !== 'size-mtime' && job.trusted !== true) return false;
  const seen = yield* lstatPathBig(target);
  if (!seen) return false;
  if (job.kind === 'file') return sameContentMarks(seen, job) && metadataRight(seen, job, settings.chown);
  if (!seen.isSymbolicLink() || !sameMtime(seen, job.mtimeNs)) return false;
  if (settings.chown && (seen.uid !== BigInt(job.uid) || seen.gid !== BigInt(job.gid))) return false;
  return (yield* readlinkPath(target)) === job.linkTarget;
}

/** One job's steps. */
export function* jobSteps(job: Job, settings: JobSettings, buffers: CopyBuffers): Steps<JobOutcome> {
  if (job.kind === 'dir-metadata') return yield* applyDirMetadata(job, settings);
  const outcome: JobOutcome = { bytes: job.kind === 'file' ? job.size : 0, unchanged: false };
  try {
    switch (job.kind) {
      case 'file':
        return yield* restoreFile(job, settings, buffers, outcome);
      case 'symlink':
        return yield* restoreSymlink(job, settings, outcome);
      case 'special':
        return yield* restoreSpecial(job, settings, outcome);
    }
  } catch (error) {
    // what the job did before it failed (an entry moved aside, say) is still to be reported
    if (outcome.reports && error instanceof Error) (error as ErrorWithReports).reports = outcome.reports;
    throw error;
  }
}

/** A job's failure, with the report entries of what it did before it failed. */
export type ErrorWithReports = Error & { reports?: ReportEntry[] };

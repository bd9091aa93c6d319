// File-system steps shared by backup and restore. Nothing here follows a symlink at the last
// component: sources and targets are opened with O_NOFOLLOW, targets are created with O_EXCL (which
// refuses any existing name, a dangling symlink included), and metadata is set through the open
// descriptor or with the l* calls.
import { BackupDigests } from './checksum.ts';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { errnoCode, SizeMismatchError, StoppedError } from '../errors.ts';
import { fsx, fsxCall, splitNs } from './fsx.ts';
import type { FsPath } from './names.ts';

/** Files up to this size are read whole, hashed and written in one go; larger ones stream in chunks. */
export const WHOLE_FILE_LIMIT = 1024 * 1024;
export const CHUNK_SIZE = 1024 * 1024;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface Ownership {
  uid: number;
  gid: number;
}

export interface FileMetadata {
  mode: number;
  /** nanoseconds since the epoch, decimal (set with futimens: fsx.ts) */
  mtimeNs: string;
  /** set only when the copier may change ownership (root) */
  owner?: Ownership;
}

/**
 * Creates a new regular file at `abs`. An existing name is removed first (via `beforeReplace`, which
 * gets the chance to refuse or to record that a directory goes away) and creation retried once; a
 * name that reappears in between fails the run rather than being followed.
 */
export async function createFile(abs: FsPath, beforeReplace: (abs: FsPath) => Promise<void>): Promise<FileHandle> {
  try {
    return await open(abs, CREATE_FLAGS, 0o600);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  await beforeReplace(abs);
  return await open(abs, CREATE_FLAGS, 0o600);
}

/** Sets ownership (when asked), mode and mtime through an open descriptor; chown first because it
 * clears set-id bits. */
export async function applyMetadata(handle: FileHandle, metadata: FileMetadata, blocking = false): Promise<void> {
  if (metadata.owner) await handle.chown(metadata.owner.uid, metadata.owner.gid);
  await handle.chmod(metadata.mode);
  const [seconds, nanoseconds] = splitNs(metadata.mtimeNs);
  // (blocking on a local disk: a few µs, against ten times that for a hand-off to the thread pool)
  if (blocking) fsx().futimens(handle.fd, seconds, nanoseconds);
  else await fsxCall((callback) => fsx().futimens(handle.fd, seconds, nanoseconds, callback));
}

async function writeAll(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Reads up to `length` bytes at `position`, looping over short reads; fewer only at end of file. */
async function readFull(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

export interface CopyRequest {
  /** the opened source (the caller owns and closes it) */
  source: FileHandle;
  /** the source's size as fstat saw it */
  size: number;
  /** creates the target file (the caller's replacement policy); called once the source is read for
   * small files, so a corrupt small file never truncates a target */
  createTarget: () => Promise<FileHandle>;
  metadata: FileMetadata;
  /**
   * restore: the size the copy must have (fails on a short source); backup: undefined, the copy
   * takes what the source holds when read
   */
  exactSize?: boolean;
  /** the source may have holes (fewer blocks than its size): copy its data extents only */
  sparse?: boolean;
  /** native calls (futimens) made blocking: the target is on a local disk */
  blocking?: boolean;
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /** what to call the source in messages */
  label: string;
}

export interface CopyResult {
  size: number;
  sha256: string;
  crc32: string;
  /** holes were found and recreated in the copy */
  sparse?: boolean;
}

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new StoppedError('stopped');
}

/**
 * Copies one regular file through user space, hashing what is written. Small files: one read, one
 * hash, one write; large files: 1 MiB chunks, hashed as they go.
 */
export async function copyFileHashing(request: CopyRequest): Promise<CopyResult> {
  const { source, size, exactSize, label } = request;
  if (request.sparse) return await copySparseHashing(request);
  if (size <= WHOLE_FILE_LIMIT) {
    const buffer = Buffer.allocUnsafe(size);
    const length = await readFull(source, buffer, size, 0);
    if (exactSize && length !== size) throw new SizeMismatchError(`${label}: read ${length} bytes, expected ${size}`);
    const digests = new BackupDigests();
    digests.update(buffer.subarray(0, length));
    const checksums = digests.result();
    throwIfStopped(request.signal);
    const target = await request.createTarget();
    try {
      await writeAll(target, buffer, length, 0);
      request.onBytes?.(length);
      await applyMetadata(target, request.metadata, request.blocking);
    } finally {
      await target.close();
    }
    return { size: length, ...checksums };
  }

  const hash = new BackupDigests();
  const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  const target = await request.createTarget();
  let position = 0;
  try {
    for (;;) {
      throwIfStopped(request.signal);
      const want = exactSize ? Math.min(CHUNK_SIZE, size - position) : CHUNK_SIZE;
      if (want === 0) break;
      const length = await readFull(source, buffer, want, position);
      if (length === 0) break;
      hash.update(buffer.subarray(0, length));
      await writeAll(target, buffer, length, position);
      position += length;
      request.onBytes?.(length);
      if (length < want) break;
    }
    if (exactSize && position !== size) throw new SizeMismatchError(`${label}: read ${position} bytes, expected ${size}`);
    const checksums = hash.result();
    await applyMetadata(target, request.metadata, request.blocking);
    return { size: position, ...checksums };
  } finally {
    await target.close();
  }
}

/** Zeros to hash for a hole: a hole reads as zeros, and the checksums are of the content. */
const ZEROS = Buffer.alloc(CHUNK_SIZE);

/**
 * Copies a file with holes: its data extents only (SEEK_DATA/SEEK_HOLE), each written at its offset,
 * and the size set with ftruncate, so the copy has the holes the source has. The checksums cover
 * the holes as zeros. A file system that reports no holes (lseek's generic answer) gives a dense copy.
 */
async function copySparseHashing(request: CopyRequest): Promise<CopyResult> {
  const { source, size, label } = request;
  const hash = new BackupDigests();
  const hashZeros = (length: number) => {
    for (let left = length; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  };
  const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  const target = await request.createTarget();
  let position = 0;
  let holes = false;
  try {
    while (position < size) {
      throwIfStopped(request.signal);
      // (blocking: lseek asks a server only on NFS 4.2, which EFS is not; elsewhere it costs µs)
      const data = fsx().seekData(source.fd, position);
      if (data === -1 || data >= size) break;
      if (data > position) holes = true;
      hashZeros(data - position);
      const end = Math.min(size, fsx().seekHole(source.fd, data));
      for (position = data; position < end;) {
        throwIfStopped(request.signal);
        const length = await readFull(source, buffer, Math.min(CHUNK_SIZE, end - position), position);
        if (length === 0) break;
        hash.update(buffer.subarray(0, length));
        await writeAll(target, buffer, length, position);
        position += length;
        request.onBytes?.(length);
      }
      if (position < end) break; // shorter than fstat said: it shrank meanwhile
    }
    if (position < size) {
      holes = true;
      hashZeros(size - position);
      request.onBytes?.(size - position);
    }
    if (request.exactSize && position !== size && !holes) throw new SizeMismatchError(`${label}: read ${position} bytes, expected ${size}`);
    await target.truncate(size);
    const checksums = hash.result();
    await applyMetadata(target, request.metadata, request.blocking);
    return { size, ...checksums, ...(holes ? { sparse: true } : {}) };
  } finally {
    await target.close();
  }
}

/** Opens a source file without following a symlink at its name. */
export async function openSource(abs: FsPath): Promise<FileHandle> {
  return await open(abs, READ_FLAGS);
}

// The file-system calls a restore job makes, as values. A job (copy-jobs.ts) is a generator that
// yields each call it needs and receives its result; a driver makes the calls. Two drivers run the
// same jobs:
//
// - runSync blocks in each call. On a local disk that is cheapest: a synchronous call costs a few
//   µs of CPU, an asynchronous one ~15–40 µs of hand-off to libuv's thread pool
//   (../shared/design/performance-notes.md), and parallelism comes from a few worker threads.
// - runAsync makes each call through libuv's thread pool, so one worker thread keeps many jobs in
//   flight. On a network file system (EFS) each call is a round trip of 0.5–3 ms: what wins there
//   is many files in flight, and a thread per file in flight (a worker costs ~10 MB and ~25 ms of
//   CPU to start) would not scale to 64 of them.
//
// One job body, two drivers: the safety rules and the resume logic exist once.
//
// Paths are FsPath (names.ts): a string, or the raw bytes of a name that is not UTF-8. What fs lacks
// (nanosecond times, xattrs, holes, mknod) the native addon makes (fsx.ts), blocking or on the
// thread pool like fs's own calls.
import {
  close, closeSync, constants, copyFile, copyFileSync, fchmod, fchmodSync, fchown, fchownSync, fstat, fstatSync, ftruncate, ftruncateSync, lchown, lchownSync, link, linkSync, lstat, lstatSync,
  mkdir, mkdirSync, open, openSync, read, readlink, readlinkSync, readSync, rename, renameSync, rmdir, rmdirSync, symlink, symlinkSync, unlink, unlinkSync, write, writeSync,
  type BigIntStats, type Stats,
} from 'node:fs';
import { fsx, splitNs } from '../fs/fsx.ts';
import { decodeName, fsPathText, type FsPath } from '../fs/names.ts';

export type Syscall =
  | { call: 'open'; path: FsPath; flags: number; mode: number }
  | { call: 'fstat'; fd: number }
  | { call: 'fstatBig'; fd: number }
  /** BigIntStats, or undefined when nothing is at the path (lstat never follows) */
  | { call: 'lstatBig'; path: FsPath }
  | { call: 'read'; fd: number; buffer: Buffer; offset: number; length: number; position: number }
  | { call: 'write'; fd: number; buffer: Buffer; offset: number; length: number; position: number }
  | { call: 'close'; fd: number }
  | { call: 'fchown'; fd: number; uid: number; gid: number }
  | { call: 'fchmod'; fd: number; mode: number }
  /** mtime (and atime) to the nanosecond: mtimeNs is the manifest's decimal mtime_ns */
  | { call: 'futimens'; fd: number; mtimeNs: string }
  | { call: 'lchown'; path: FsPath; uid: number; gid: number }
  | { call: 'lutimens'; path: FsPath; mtimeNs: string }
  /** chmod, never following (a FIFO or socket: no descriptor to fchmod) */
  | { call: 'lchmod'; path: FsPath; mode: number }
  | { call: 'fsetxattr'; fd: number; name: FsPath; value: Buffer }
  | { call: 'lsetxattr'; path: FsPath; name: FsPath; value: Buffer }
  /** a FIFO or a socket (mode has S_IFIFO or S_IFSOCK) */
  | { call: 'mknod'; path: FsPath; mode: number }
  /** lseek SEEK_DATA / SEEK_HOLE: the offset, or -1 where no data follows */
  | { call: 'seekData'; fd: number; offset: number }
  | { call: 'seekHole'; fd: number; offset: number }
  | { call: 'ftruncate'; fd: number; size: number }
  | { call: 'unlink'; path: FsPath }
  /** an empty directory only */
  | { call: 'rmdir'; path: FsPath }
  | { call: 'mkdir'; path: FsPath; mode: number }
  /** replaces a non-directory at `to` (or an empty directory, when `from` is one) */
  | { call: 'rename'; from: FsPath; to: FsPath }
  /** a hard link: fails with EEXIST on any existing name; a symlink at `from` is linked, not followed */
  | { call: 'link'; from: FsPath; to: FsPath }
  | { call: 'symlink'; target: FsPath; path: FsPath }
  /** the target decoded as names are (names.ts) */
  | { call: 'readlink'; path: FsPath }
  /** copy_file_range where the kernel can; the target is created O_EXCL (never through a symlink) */
  | { call: 'copyFile'; source: FsPath; target: FsPath };

/** A job: yields calls, receives each one's result, returns its outcome. */
export type Steps<T> = Generator<Syscall, T, unknown>;

// Each helper yields one call and types its result; jobs use them with `yield*`.
export function* openFile(path: FsPath, flags: number, mode = 0o600): Steps<number> {
  return (yield { call: 'open', path, flags, mode }) as number;
}
export function* fstatFd(fd: number): Steps<Stats> {
  return (yield { call: 'fstat', fd }) as Stats;
}
export function* fstatFdBig(fd: number): Steps<BigIntStats> {
  return (yield { call: 'fstatBig', fd }) as BigIntStats;
}
export function* lstatPathBig(path: FsPath): Steps<BigIntStats | undefined> {
  return (yield { call: 'lstatBig', path }) as BigIntStats | undefined;
}
export function* readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Steps<number> {
  return (yield { call: 'read', fd, buffer, offset, length, position }) as number;
}
export function* writeAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Steps<number> {
  return (yield { call: 'write', fd, buffer, offset, length, position }) as number;
}
export function* closeFd(fd: number): Steps<void> {
  yield { call: 'close', fd };
}
export function* fchownFd(fd: number, uid: number, gid: number): Steps<void> {
  yield { call: 'fchown', fd, uid, gid };
}
export function* fchmodFd(fd: number, mode: number): Steps<void> {
  yield { call: 'fchmod', fd, mode };
}
export function* futimensFd(fd: number, mtimeNs: string): Steps<void> {
  yield { call: 'futimens', fd, mtimeNs };
}
export function* lchownPath(path: FsPath, uid: number, gid: number): Steps<void> {
  yield { call: 'lchown', path, uid, gid };
}
export function* lutimensPath(path: FsPath, mtimeNs: string): Steps<void> {
  yield { call: 'lutimens', path, mtimeNs };
}
export function* lchmodPath(path: FsPath, mode: number): Steps<void> {
  yield { call: 'lchmod', path, mode };
}
export function* fsetxattrFd(fd: number, name: FsPath, value: Buffer): Steps<void> {
  yield { call: 'fsetxattr', fd, name, value };
}
export function* lsetxattrPath(path: FsPath, name: FsPath, value: Buffer): Steps<void> {
  yield { call: 'lsetxattr', path, name, value };
}
export function* mknodPath(path: FsPath, mode: number): Steps<void> {
  yield { call: 'mknod', path, mode };
}
export function* seekDataFd(fd: number, offset: number): Steps<number> {
  return (yield { call: 'seekData', fd, offset }) as number;
}
export function* seekHoleFd(fd: number, offset: number): Steps<number> {
  return (yield { call: 'seekHole', fd, offset }) as number;
}
export function* ftruncateFd(fd: number, size: number): Steps<void> {
  yield { call: 'ftruncate', fd, size };
}
export function* unlinkPath(path: FsPath): Steps<void> {
  yield { call: 'unlink', path };
}
export function* rmdirPath(path: FsPath): Steps<void> {
  yield { call: 'rmdir', path };
}
export function* mkdirPath(path: FsPath, mode: number): Steps<void> {
  yield { call: 'mkdir', path, mode };
}
export function* renamePath(from: FsPath, to: FsPath): Steps<void> {
  yield { call: 'rename', from, to };
}
export function* linkPath(from: FsPath, to: FsPath): Steps<void> {
  yield { call: 'link', from, to };
}
export function* symlinkAt(target: FsPath, path: FsPath): Steps<void> {
  yield { call: 'symlink', target, path };
}
export function* copyFileExclusive(source: FsPath, target: FsPath): Steps<void> {
  yield { call: 'copyFile', source, target };
}
export function* readlinkPath(path: FsPath): Steps<string> {
  return (yield { call: 'readlink', path }) as string;
}

function callSync(syscall: Syscall): unknown {
  switch (syscall.call) {
    case 'open': return openSync(syscall.path, syscall.flags, syscall.mode);
    case 'fstat': return fstatSync(syscall.fd);
    case 'fstatBig': return fstatSync(syscall.fd, { bigint: true });
    case 'lstatBig': return lstatSync(syscall.path, { bigint: true, throwIfNoEntry: false });
    case 'read': return readSync(syscall.fd, syscall.buffer, syscall.offset, syscall.length, syscall.position);
    case 'write': return writeSync(syscall.fd, syscall.buffer, syscall.offset, syscall.length, syscall.position);
    case 'close': return closeSync(syscall.fd);
    case 'fchown': return fchownSync(syscall.fd, syscall.uid, syscall.gid);
    case 'fchmod': return fchmodSync(syscall.fd, syscall.mode);
    case 'futimens': return fsx().futimens(syscall.fd, ...splitNs(syscall.mtimeNs));
    case 'lchown': return lchownSync(syscall.path, syscall.uid, syscall.gid);
    case 'lutimens': return fsx().lutimens(syscall.path, ...splitNs(syscall.mtimeNs));
    case 'lchmod': return fsx().lchmod(syscall.path, syscall.mode);
    case 'fsetxattr': return fsx().fsetxattr(syscall.fd, syscall.name, syscall.value);
    case 'lsetxattr': return fsx().lsetxattr(syscall.path, syscall.name, syscall.value);
    case 'mknod': return fsx().mknod(syscall.path, syscall.mode);
    case 'seekData': return fsx().seekData(syscall.fd, syscall.offset);
    case 'seekHole': return fsx().seekHole(syscall.fd, syscall.offset);
    case 'ftruncate': return ftruncateSync(syscall.fd, syscall.size);
    case 'unlink': return unlinkSync(syscall.path);
    case 'rmdir': return rmdirSync(syscall.path);
    case 'mkdir': return mkdirSync(syscall.path, syscall.mode);
    case 'rename': return renameSync(syscall.from, syscall.to);
    case 'link': return linkSync(syscall.from, syscall.to);
    case 'symlink': return symlinkSync(syscall.target, syscall.path);
    case 'readlink': return decodeName(readlinkSync(syscall.path, { encoding: 'buffer' }));
    case 'copyFile': return copyFileSync(syscall.source, syscall.target, constants.COPYFILE_EXCL);
  }
}

type Callback = (error: NodeJS.ErrnoException | null, result?: unknown) => void;

function callAsync(syscall: Syscall, done: Callback): void {
  switch (syscall.call) {
    case 'open': return open(syscall.path, syscall.flags, syscall.mode, done);
    case 'fstat': return fstat(syscall.fd, done);
    case 'fstatBig': return fstat(syscall.fd, { bigint: true }, done);
    case 'lstatBig': return lstat(syscall.path, { bigint: true }, (error, stats) => (error?.code === 'ENOENT' ? done(null, undefined) : done(error, stats)));
    case 'read': return read(syscall.fd, syscall.buffer, syscall.offset, syscall.length, syscall.position, done);
    case 'write': return write(syscall.fd, syscall.buffer, syscall.offset, syscall.length, syscall.position, done);
    case 'close': return close(syscall.fd, done);
    case 'fchown': return fchown(syscall.fd, syscall.uid, syscall.gid, done);
    case 'fchmod': return fchmod(syscall.fd, syscall.mode, done);
    case 'futimens': return fsx().futimens(syscall.fd, ...splitNs(syscall.mtimeNs), done);
    case 'lchown': return lchown(syscall.path, syscall.uid, syscall.gid, done);
    case 'lutimens': return fsx().lutimens(syscall.path, ...splitNs(syscall.mtimeNs), done);
    case 'lchmod': return fsx().lchmod(syscall.path, syscall.mode, done);
    case 'fsetxattr': return fsx().fsetxattr(syscall.fd, syscall.name, syscall.value, done);
    case 'lsetxattr': return fsx().lsetxattr(syscall.path, syscall.name, syscall.value, done);
    case 'mknod': return fsx().mknod(syscall.path, syscall.mode, done);
    // (blocking: lseek asks a server only on NFS 4.2, which EFS is not; elsewhere it costs µs)
    case 'seekData':
    case 'seekHole':
      try {
        return done(null, syscall.call === 'seekData' ? fsx().seekData(syscall.fd, syscall.offset) : fsx().seekHole(syscall.fd, syscall.offset));
      } catch (error) {
        return done(error as NodeJS.ErrnoException);
      }
    case 'ftruncate': return ftruncate(syscall.fd, syscall.size, done);
    case 'unlink': return unlink(syscall.path, done);
    case 'rmdir': return rmdir(syscall.path, done);
    case 'mkdir': return mkdir(syscall.path, syscall.mode, done);
    case 'rename': return rename(syscall.from, syscall.to, done);
    case 'link': return link(syscall.from, syscall.to, done);
    case 'symlink': return symlink(syscall.target, syscall.path, done);
    case 'readlink': return readlink(syscall.path, { encoding: 'buffer' }, (error, target) => (error ? done(error) : done(null, decodeName(target))));
    case 'copyFile': return copyFile(syscall.source, syscall.target, constants.COPYFILE_EXCL, done);
  }
}

/** Runs a job to its end, blocking in each call. A failed call is thrown into the job, so its
 * try/finally (closing descriptors) and catch (EEXIST, ENOENT, ...) work as in straight code. */
export function runSync<T>(steps: Steps<T>): T {
  let step = steps.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = callSync(step.value);
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(result);
  }
  return step.value;
}

/** Descriptors runAsync opened under a local root: calls on them block too. */
const blockingFds = new Set<number>();

/** Whether runAsync makes this call blocking: it is on a local file system, where a blocking call
 * costs a few µs and an asynchronous one ten times that in thread hand-offs. */
function blocks(syscall: Syscall, localRoot: string | undefined): boolean {
  if ('fd' in syscall) return blockingFds.has(syscall.fd);
  return localRoot !== undefined && 'path' in syscall && fsPathText(syscall.path).startsWith(`${localRoot}/`);
}

/**
 * Runs a job to its end, each call on libuv's thread pool; other jobs run meanwhile. Calls on paths
 * under `localRoot` (the backup, when only the target is remote), and on descriptors opened there,
 * are made blocking.
 */
export function runAsync<T>(steps: Steps<T>, localRoot?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const advance = (next: () => IteratorResult<Syscall, T>) => {
      for (;;) {
        let step: IteratorResult<Syscall, T>;
        try {
          step = next();
        } catch (error) {
          reject(error);
          return;
        }
        if (step.done) {
          resolve(step.value);
          return;
        }
        const syscall = step.value;
        if (!blocks(syscall, localRoot)) {
          callAsync(syscall, (error, result) => advance(error ? () => steps.throw(error) : () => steps.next(result)));
          return;
        }
        try {
          const result = callSync(syscall);
          if (syscall.call === 'open') blockingFds.add(result as number);
          else if (syscall.call === 'close') blockingFds.delete(syscall.fd);
          next = () => steps.next(result);
        } catch (error) {
          next = () => steps.throw(error);
        }
      }
    };
    advance(() => steps.next());
  });
}

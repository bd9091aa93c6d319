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
import {
  close, closeSync, constants, copyFile, copyFileSync, fchmod, fchmodSync, fchown, fchownSync, fstat, fstatSync, futimes, futimesSync, lchown, lchownSync, link, linkSync, lstat, lstatSync, lutimes, lutimesSync,
  mkdir, mkdirSync, open, openSync, read, readlink, readlinkSync, readSync, rename, renameSync, rmdir, rmdirSync, symlink, symlinkSync, unlink, unlinkSync, write, writeSync,
  type BigIntStats, type Stats,
} from 'node:fs';

export type Syscall =
  | { call: 'open'; path: string; flags: number; mode: number }
  | { call: 'fstat'; fd: number }
  | { call: 'fstatBig'; fd: number }
  /** BigIntStats, or undefined when nothing is at the path (lstat never follows) */
  | { call: 'lstatBig'; path: string }
  | { call: 'read'; fd: number; buffer: Buffer; offset: number; length: number; position: number }
  | { call: 'write'; fd: number; buffer: Buffer; offset: number; length: number; position: number }
  | { call: 'close'; fd: number }
  | { call: 'fchown'; fd: number; uid: number; gid: number }
  | { call: 'fchmod'; fd: number; mode: number }
  | { call: 'futimes'; fd: number; seconds: number }
  | { call: 'lchown'; path: string; uid: number; gid: number }
  | { call: 'lutimes'; path: string; seconds: number }
  | { call: 'unlink'; path: string }
  /** an empty directory only */
  | { call: 'rmdir'; path: string }
  | { call: 'mkdir'; path: string; mode: number }
  /** replaces a non-directory at `to` (or an empty directory, when `from` is one) */
  | { call: 'rename'; from: string; to: string }
  /** a hard link: fails with EEXIST on any existing name; a symlink at `from` is linked, not followed */
  | { call: 'link'; from: string; to: string }
  | { call: 'symlink'; target: string; path: string }
  | { call: 'readlink'; path: string }
  /** copy_file_range where the kernel can; the target is created O_EXCL (never through a symlink) */
  | { call: 'copyFile'; source: string; target: string };

/** A job: yields calls, receives each one's result, returns its outcome. */
export type Steps<T> = Generator<Syscall, T, unknown>;

// Each helper yields one call and types its result; jobs use them with `yield*`.
export function* openFile(path: string, flags: number, mode = 0o600): Steps<number> {
  return (yield { call: 'open', path, flags, mode }) as number;
}
export function* fstatFd(fd: number): Steps<Stats> {
  return (yield { call: 'fstat', fd }) as Stats;
}
export function* fstatFdBig(fd: number): Steps<BigIntStats> {
  return (yield { call: 'fstatBig', fd }) as BigIntStats;
}
export function* lstatPathBig(path: string): Steps<BigIntStats | undefined> {
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
export function* futimesFd(fd: number, seconds: number): Steps<void> {
  yield { call: 'futimes', fd, seconds };
}
export function* lchownPath(path: string, uid: number, gid: number): Steps<void> {
  yield { call: 'lchown', path, uid, gid };
}
export function* lutimesPath(path: string, seconds: number): Steps<void> {
  yield { call: 'lutimes', path, seconds };
}
export function* unlinkPath(path: string): Steps<void> {
  yield { call: 'unlink', path };
}
export function* rmdirPath(path: string): Steps<void> {
  yield { call: 'rmdir', path };
}
export function* mkdirPath(path: string, mode: number): Steps<void> {
  yield { call: 'mkdir', path, mode };
}
export function* renamePath(from: string, to: string): Steps<void> {
  yield { call: 'rename', from, to };
}
export function* linkPath(from: string, to: string): Steps<void> {
  yield { call: 'link', from, to };
}
export function* symlinkAt(target: string, path: string): Steps<void> {
  yield { call: 'symlink', target, path };
}
export function* copyFileExclusive(source: string, target: string): Steps<void> {
  yield { call: 'copyFile', source, target };
}
export function* readlinkPath(path: string): Steps<string> {
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
    case 'futimes': return futimesSync(syscall.fd, syscall.seconds, syscall.seconds);
    case 'lchown': return lchownSync(syscall.path, syscall.uid, syscall.gid);
    case 'lutimes': return lutimesSync(syscall.path, syscall.seconds, syscall.seconds);
    case 'unlink': return unlinkSync(syscall.path);
    case 'rmdir': return rmdirSync(syscall.path);
    case 'mkdir': return mkdirSync(syscall.path, syscall.mode);
    case 'rename': return renameSync(syscall.from, syscall.to);
    case 'link': return linkSync(syscall.from, syscall.to);
    case 'symlink': return symlinkSync(syscall.target, syscall.path);
    case 'readlink': return readlinkSync(syscall.path);
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
    case 'futimes': return futimes(syscall.fd, syscall.seconds, syscall.seconds, done);
    case 'lchown': return lchown(syscall.path, syscall.uid, syscall.gid, done);
    case 'lutimes': return lutimes(syscall.path, syscall.seconds, syscall.seconds, done);
    case 'unlink': return unlink(syscall.path, done);
    case 'rmdir': return rmdir(syscall.path, done);
    case 'mkdir': return mkdir(syscall.path, syscall.mode, done);
    case 'rename': return rename(syscall.from, syscall.to, done);
    case 'link': return link(syscall.from, syscall.to, done);
    case 'symlink': return symlink(syscall.target, syscall.path, done);
    case 'readlink': return readlink(syscall.path, done);
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
  return localRoot !== undefined && 'path' in syscall && syscall.path.startsWith(`${localRoot}/`);
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

// A "torture tree": every kind of entry and attribute a POSIX share can hold, made with the system's
// own tools (mkfifo, mknod, setfattr, setfacl, touch, python's socket) and Node's fs, never with the
// copier's code, so that a comparison of a copy with it is independent of what is tested. Needs root
// (owners, trusted.* xattrs, mknod of a device) and a file system with user xattrs and ACLs (ext4).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, ftruncateSync, linkSync, lchownSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';

/** A path under root: names may be Buffers of any bytes. */
function at(root: string, ...names: (string | Buffer)[]): Buffer {
  return Buffer.concat([Buffer.from(root), ...names.flatMap((name) => [Buffer.from('/'), Buffer.isBuffer(name) ? name : Buffer.from(name)])]);
}

/** Runs a tool on paths whose names are UTF-8 (a process's arguments are strings in Node; names
 * of other bytes are handled by the Python step at the end). */
function run(command: string, ...args: (string | Buffer)[]): void {
  execFileSync(command, args.map((arg) => arg.toString()), { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Python, on bytes paths: an xattr on a name that is not UTF-8, then a distinct mtime with
 * nanoseconds on every entry (os.utime(ns=...), symlinks not followed), deepest first, since
 * writing into a directory changes its mtime. */
const FINISH = `
import os, sys
root = os.fsencode(sys.argv[1])
os.setxattr(os.path.join(root, b'names', bytes.fromhex(sys.argv[2])), b'user.on-odd-name', b'odd')
index = 0
def visit(path):
    global index
    if os.path.isdir(path) and not os.path.islink(path):
        for name in sorted(os.listdir(path)):
            visit(os.path.join(path, name))
    ns = (1600000000 + index * 3607) * 10**9 + (index * 123456789 + 1) % 10**9
    os.utime(path, ns=(ns, ns), follow_symlinks=False)
    index += 1
visit(root)
`;

export interface TortureTree {
  /** names (relative paths) of the entries a backup cannot hold: device nodes */
  devices: string[];
  /** the sparse file's apparent size */
  sparseBytes: number;
}

export const BAD_UTF8 = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66, 0x38]); // "bad-\xff\xfe-utf8"
export const DEVICE_NAME = 'dev-null-copy';

/**
 * Makes the tree at `root` (which must exist and be empty). `sparseGiB`: the sparse file's apparent
 * size (a few KiB of data in it).
 */
export function makeTortureTree(root: string, options: { sparseGiB?: number; depth?: number } = {}): TortureTree {
  const depth = options.depth ?? 200;
  const sparseBytes = (options.sparseGiB ?? 2) * 1024 ** 3;

  // names: bytes that are not UTF-8, a newline, a backslash, 255 bytes (ASCII and multi-byte)
  mkdirSync(at(root, 'names'));
  writeFileSync(at(root, 'names', BAD_UTF8), 'not UTF-8\n');
  mkdirSync(at(root, 'names', Buffer.from([0xc0, 0xaf, 0x80])));
  writeFileSync(at(root, 'names', Buffer.from([0xc0, 0xaf, 0x80]), Buffer.from([0xe9, 0x74, 0xe9])), 'latin-1 name in a non-UTF-8 directory\n');
  writeFileSync(at(root, 'names', 'new\nline'), 'newline\n');
  writeFileSync(at(root, 'names', 'back\\slash'), 'backslash\n');
  writeFileSync(at(root, 'names', 'n'.repeat(255)), '255 bytes\n');
  writeFileSync(at(root, 'names', `${'é'.repeat(127)}x`), '255 bytes of UTF-8\n');
  writeFileSync(at(root, 'names', ' leading space and trailing '), 'spaces\n');
  symlinkSync(Buffer.concat([Buffer.from('../names/'), BAD_UTF8]) as unknown as string, at(root, 'names', Buffer.concat([Buffer.from('link-to-'), BAD_UTF8])));

  // depth
  const deep: string[] = [];
  for (let i = 0; i < depth; i++) deep.push('d');
  mkdirSync(at(root, 'deep', ...deep), { recursive: true });
  writeFileSync(at(root, 'deep', ...deep, 'bottom.txt'), `at depth ${depth}\n`);

  // entry types: FIFO, socket, device node, symlinks (dangling, absolute), hard links, empty things
  mkdirSync(at(root, 'types'));
  run('mkfifo', '-m', '0640', at(root, 'types', 'fifo'));
  run('/usr/bin/python3', '-c', 'import os, socket, sys; socket.socket(socket.AF_UNIX).bind(os.fsencode(sys.argv[1]))', at(root, 'types', 'socket'));
  run('mknod', '-m', '0600', at(root, 'types', DEVICE_NAME), 'c', '1', '3');
  symlinkSync('does/not/exist', at(root, 'types', 'dangling'));
  symlinkSync('/etc/passwd', at(root, 'types', 'absolute'));
  symlinkSync('x'.repeat(200), at(root, 'types', 'long-target'));
  writeFileSync(at(root, 'types', 'linked'), 'three names, one inode\n');
  mkdirSync(at(root, 'types', 'elsewhere'));
  linkSync(at(root, 'types', 'linked'), at(root, 'types', 'elsewhere', 'linked-2'));
  linkSync(at(root, 'types', 'linked'), at(root, 'names', Buffer.concat([Buffer.from('linked-'), BAD_UTF8])));
  writeFileSync(at(root, 'types', 'empty'), '');
  mkdirSync(at(root, 'types', 'empty-dir'));

  // a sparse file: data at the start, in the middle and at the end, holes between
  const sparse = openSync(at(root, 'sparse.img'), 'w');
  try {
    ftruncateSync(sparse, sparseBytes);
    for (const offset of [0, Math.floor(sparseBytes / 2 / 4096) * 4096, sparseBytes - 4096]) writeSync(sparse, Buffer.alloc(4096, 0x5a), 0, 4096, offset);
  } finally {
    closeSync(sparse);
  }
  // a file that ends in a hole
  const tail = openSync(at(root, 'tail-hole.img'), 'w');
  try {
    writeSync(tail, Buffer.alloc(8192, 0x33), 0, 8192, 0);
    ftruncateSync(tail, 64 * 1024 * 1024);
  } finally {
    closeSync(tail);
  }

  // extended attributes and ACLs
  mkdirSync(at(root, 'attrs'));
  writeFileSync(at(root, 'attrs', 'file'), 'with xattrs\n');
  run('setfattr', '-n', 'user.x', '-v', '1', at(root, 'attrs', 'file'));
  run('setfattr', '-n', 'user.binary', '-v', '0x00ff10fe', at(root, 'attrs', 'file'));
  run('setfattr', '-n', 'user.empty', at(root, 'attrs', 'file'));
  run('setfattr', '-n', 'trusted.t', '-v', 'only root sees this', at(root, 'attrs', 'file'));
  run('setfattr', '-n', 'user.on-dir', '-v', 'dir value', at(root, 'attrs'));
  run('setfattr', '-n', 'trusted.on-symlink', '-v', 'l', '-h', at(root, 'types', 'dangling'));
  run('setfattr', '-n', 'trusted.on-fifo', '-v', 'f', at(root, 'types', 'fifo')); // (user.* only on files and directories)
  writeFileSync(at(root, 'attrs', 'acl-file'), 'with an access ACL\n');
  run('setfacl', '-m', 'u:1234:rw,g:4321:r,m::rw', at(root, 'attrs', 'acl-file'));
  mkdirSync(at(root, 'attrs', 'acl-dir'));
  run('setfacl', '-m', 'u:1234:rwx', '-d', '-m', 'g:555:rx,u:1234:rwx', at(root, 'attrs', 'acl-dir'));
  writeFileSync(at(root, 'attrs', 'acl-dir', 'inherited'), 'inherits the default ACL\n');

  // modes and owners
  mkdirSync(at(root, 'modes'));
  writeFileSync(at(root, 'modes', 'setuid'), '#!/bin/sh\n');
  chownSync(at(root, 'modes', 'setuid'), 1000, 1000);
  chmodSync(at(root, 'modes', 'setuid'), 0o4755);
  writeFileSync(at(root, 'modes', 'setgid'), '#!/bin/sh\n');
  chownSync(at(root, 'modes', 'setgid'), 0, 50);
  chmodSync(at(root, 'modes', 'setgid'), 0o2711);
  writeFileSync(at(root, 'modes', 'no-access'), 'mode 0000\n');
  chmodSync(at(root, 'modes', 'no-access'), 0);
  mkdirSync(at(root, 'modes', 'read-only-dir'));
  writeFileSync(at(root, 'modes', 'read-only-dir', 'inside'), 'in a 0555 directory\n');
  mkdirSync(at(root, 'modes', 'sticky'));
  chmodSync(at(root, 'modes', 'sticky'), 0o1777);
  mkdirSync(at(root, 'modes', 'setgid-dir'));
  chownSync(at(root, 'modes', 'setgid-dir'), 0, 100);
  chmodSync(at(root, 'modes', 'setgid-dir'), 0o2775);
  writeFileSync(at(root, 'modes', 'owned'), 'owned by 1234:5678\n');
  chownSync(at(root, 'modes', 'owned'), 1234, 5678);
  symlinkSync('owned', at(root, 'modes', 'owned-link'));
  lchownSync(at(root, 'modes', 'owned-link'), 4321, 8765);
  chownSync(at(root, 'types', 'fifo'), 2000, 2001);
  chmodSync(at(root, 'modes', 'read-only-dir'), 0o555);

  run('/usr/bin/python3', '-c', FINISH, root, BAD_UTF8.toString('hex'));
  return { devices: [`types/${DEVICE_NAME}`], sparseBytes };
}

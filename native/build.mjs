// Builds native/fsx.c into native/build/fsx.node (docs/developer-reference.md, "The native addon").
// Run by `npm ci`/`npm install` (package.json's "install" script) and by copier/Dockerfile's build
// stage. A direct `cc -shared` rather than node-gyp: one C file needs no gyp project, and node-gyp
// downloads Node's headers from the internet, which build machines here do not reach; the headers
// installed with Node (or Debian's /usr/include/node) are enough, since N-API is the same on every
// Node version. Idempotent: nothing is done when the binary is newer than its source and this script.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'fsx.c');
const BINARY = join(here, 'build', 'fsx.node');

if (process.platform !== 'linux') {
  // the copier runs on Linux only; elsewhere (a developer's Mac running the CDK tests) nothing to build
  console.warn(`native/build.mjs: fsx is Linux-only, not built on ${process.platform}`);
  process.exit(0);
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);
if (!process.argv.includes('--force') && mtime(BINARY) > Math.max(mtime(source), mtime(fileURLToPath(import.meta.url)))) process.exit(0);

const includeDirs = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/local/include/node', '/usr/include/node'];
const include = includeDirs.find((dir) => existsSync(join(dir, 'node_api.h')));
if (!include) {
  console.error(`native/build.mjs: node_api.h not found in ${includeDirs.join(', ')} (install Node's headers)`);
  process.exit(1);
}
const compiler = process.env.CC || 'cc';
mkdirSync(dirname(BINARY), { recursive: true });
const partial = `${BINARY}.${process.pid}.partial`;
execFileSync(compiler, ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden', `-I${include}`, '-o', partial, source], { stdio: 'inherit' });
// renamed into place: a build interrupted, or two at once, never leaves a half-written binary
renameSync(partial, BINARY);
console.log(`native/build.mjs: built ${BINARY}`);

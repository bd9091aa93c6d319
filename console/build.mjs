// Builds the web console into console/dist when it is missing or older than its sources.
// Run by `npm ci` / `npm install` (the `prepare` script) and by `npm start` before it serves the
// console, so `npm ci && npm start` needs no other command. `--force` builds regardless.
// Plain JavaScript: it must run before anything is compiled.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dist = join(here, 'dist', 'index.html');
/** what the bundle is made of: the console and the API's domain modules it imports */
const SOURCES = [
  join(here, 'src'), join(here, 'index.html'), join(here, 'vite.config.ts'),
  ...['restore-rules.ts', 'errors.ts', 'records.ts'].map((name) => join(root, 'functions', 'domain', name)),
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

export function consoleIsStale() {
  if (!existsSync(dist)) return true;
  return Math.max(...SOURCES.map(newestMtime)) > statSync(dist).mtimeMs;
}

export async function buildConsole({ force = false, quiet = false } = {}) {
  if (!force && !consoleIsStale()) return false;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    // an install without dev dependencies (a production image) has no console to build
    if (!quiet) process.stderr.write('console: vite is not installed, the web console is not built\n');
    return false;
  }
  // built aside and swapped in, so that stacks starting together (tests) never serve a half-written
  // folder, and a build that fails leaves the previous one in place
  const fresh = join(here, `dist.building-${process.pid}`);
  const old = join(here, `dist.old-${process.pid}`);
  try {
    await vite.build({ configFile: join(here, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info', build: { outDir: fresh, emptyOutDir: true } });
    if (existsSync(join(here, 'dist'))) renameSync(join(here, 'dist'), old);
    renameSync(fresh, join(here, 'dist'));
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole({ force: process.argv.includes('--force') });
}

// The copier's bundle: its launcher (copier.cjs, copier/launch.ts), copier/main.ts (copier.js) and its
// worker threads (copy-worker.js, which copier/workers/worker-pool.ts loads from beside the main module, and
// scout-worker.js, copier/workers/resume-scout.ts's), ES modules for Node 22 with their
// dependencies (AWS SDK v3 tree-shaken) inside. The image build runs this file
// (`npx tsx cdk/copier-bundle.ts <outdir>`, see
// copier/Dockerfile) and the tests import it, so what is tested is what the image runs.
import { copyFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { nodeEsmBundleOptions } from './node-bundle.ts';
import { NATIVE_CRC32_FILE } from '../copier/fs/checksum.ts';
import { NATIVE_FSX_FILE } from '../copier/fs/fsx.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The entry the image runs: `node <outdir>/copier.cjs`, a CommonJS launcher (copier/launch.ts)
 * that sizes libuv's thread pool and then loads copier.js. */
export const COPIER_ENTRY = 'copier.cjs';

/**
 * The node options the image runs the copier with (copier/Dockerfile's ENV NODE_OPTIONS, kept equal
 * by a test; the bench uses them too). `--max-semi-space-size=2`: each of the copier's V8
 * isolates (main, copy workers) would otherwise let its young generation grow to
 * 3 × 16 MB; capped, peak RSS of a 50,000-file restore fell from 180 to 150 MB at the same speed.
 */
export const COPIER_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=2';

export function copierBuildOptions(outdir: string): BuildOptions {
  return {
    ...nodeEsmBundleOptions(),
    entryPoints: { copier: 'copier/main.ts', 'copy-worker': 'copier/workers/copy-worker.ts', 'scout-worker': 'copier/workers/scout-worker.ts' },
    outdir,
    // class names are part of the copier's contract: an error's name is the "error" field of the
    // JSON line it prints, and how a copy worker's failure is revived as the same error class on
    // the main thread (minified, every class was "v" or "w")
    keepNames: true,
  };
}

/** The launcher: CommonJS, so that it runs before libuv's thread pool is first used. */
export function launcherBuildOptions(outdir: string): BuildOptions {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: { copier: 'copier/launch.ts' },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    define: { COPIER_MAIN_MODULE: JSON.stringify('./copier.js') },
    external: ['./copier.js'],
    logLevel: 'warning',
  };
}

/**
 * The native CRC-32 binary npm installed for this machine (copier/fs/checksum.ts): the one
 * @node-rs/crc32's own loader picks (by os, cpu and libc), found in require's cache once loaded,
 * since the package exports no path. The image's build stage runs on the platform the image runs
 * on, so this is the binary for it. Undefined where npm has none: the copier then computes with zlib.
 */
export function nativeCrc32Binary(): string | undefined {
  const load = createRequire(join(REPO_ROOT, 'package.json'));
  try {
    load('@node-rs/crc32');
  } catch {
    return undefined; // no binary for this platform
  }
  return Object.keys(load.cache).find((path) => path.endsWith('.node') && path.includes(`${sep}@node-rs${sep}crc32`));
}

/** The copier's own native addon (native/fsx.c), as `npm ci` (or `node native/build.mjs`) built it. */
export const NATIVE_FSX_BINARY = join(REPO_ROOT, 'native', 'build', NATIVE_FSX_FILE);

/** Bundles the copier into `outdir` (copier.cjs, copier.js, copy-worker.js, scout-worker.js, their
 * maps, fsx.node, and crc32.node where npm has one for this platform); returns esbuild's metafile of
 * the copier. */
export async function bundleCopier(outdir: string): Promise<Metafile> {
  const [result] = await Promise.all([build(copierBuildOptions(resolve(outdir))), build(launcherBuildOptions(resolve(outdir)))]);
  if (!result.metafile) throw new Error('esbuild returned no metafile');
  const crc32Binary = nativeCrc32Binary();
  if (crc32Binary) await copyFile(crc32Binary, join(outdir, NATIVE_CRC32_FILE));
  // (no fallback for this one: copier/fs/fsx.ts says why; a missing binary fails the build here)
  await copyFile(NATIVE_FSX_BINARY, join(outdir, NATIVE_FSX_FILE)).catch((error: unknown) => {
    throw new Error(`${NATIVE_FSX_BINARY} is not built (run \`node native/build.mjs\`): ${(error as Error).message}`);
  });
  // .js files are ES modules only under a package.json that says so
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  return result.metafile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outdir = process.argv[2];
  if (!outdir) {
    console.error('usage: tsx cdk/copier-bundle.ts <outdir>');
    process.exit(2);
  }
  await bundleCopier(outdir);
}

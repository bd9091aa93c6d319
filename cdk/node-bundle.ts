// What every esbuild bundle of ours for Node shares (the API Lambda's, cdk/api-bundle.ts, and the
// copier's, cdk/copier-bundle.ts): one ES module per entry for Node 22 (Lambda's and the copier
// image's runtime), minified, with an external map of file names and lines but no sources.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

export const BUNDLE_REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export function nodeEsmBundleOptions(): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: BUNDLE_REPO_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    // the maps name files and lines (what a stack trace needs); without the sources inside, a fifth
    // of the bytes, and Node never reads them unless --enable-source-maps asks it to
    sourcemap: true,
    sourcesContent: false,
    // ESM module resolution first, so the ES modules of @smithy/* and @aws-sdk/* are what gets tree-shaken
    mainFields: ['module', 'main'],
    // CommonJS dependencies bundled into an ES module still call require() for Node built-ins
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  };
}

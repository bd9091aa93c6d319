// The API Lambda's bundle: functions/api/handler.ts as one minified ES module for Node 22 (index.mjs),
// its dependencies (AWS SDK v3 among them) inside and tree-shaken. One set of esbuild options, used
// by the stack (cdk/service-stack.ts bundles the ApiFunction asset with it) and by the bench
// (`npm run bench -- api`, bench/api-cold-import.ts), so what is measured is what is deployed.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, buildSync, type BuildOptions, type Metafile } from 'esbuild';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export const API_ENTRY = 'functions/api/handler.ts';
/** The file the bundle is written to; the Lambda's handler is `index.handler`. */
export const API_BUNDLE_FILE = 'index.mjs';

/**
 * NODE_OPTIONS of the API Lambda (undefined: none set). Not `--enable-source-maps`: with it, Node
 * reads and parses the map at every cold start, which cost more than the import itself (the figures
 * are in docs/performance.md, "The API Lambda's bundle"). The map is still written beside the bundle,
 * without the sources inside, for reading a stack trace after the fact (docs/developer-reference.md).
 */
export const API_NODE_OPTIONS: string | undefined = undefined;

export function apiBuildOptions(outdir: string): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: [API_ENTRY],
    outfile: resolve(outdir, API_BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    // an external map (index.mjs.map) that Node never reads at run time (see API_NODE_OPTIONS); file
    // names and lines only, no sources: a fifth of the bytes
    sourcemap: true,
    sourcesContent: false,
    // the SDK's credential chain reduced to the link Lambda uses (functions/api/lambda-credentials.ts says why)
    // and without event streams, which no operation it calls has (functions/api/no-event-streams.ts)
    alias: {
      '@aws-sdk/credential-provider-node': './functions/api/lambda-credentials.ts',
      '@smithy/core/event-streams': './functions/api/no-event-streams.ts',
    },
    // ESM module resolution first, so the SDK's ES modules are what gets tree-shaken
    mainFields: ['module', 'main'],
    // CommonJS dependencies bundled into an ES module still call require() for Node built-ins
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  };
}

/** Bundles the API Lambda into `outdir`; returns esbuild's metafile. */
export async function bundleApi(outdir: string): Promise<Metafile> {
  return (await build(apiBuildOptions(outdir))).metafile;
}

/** The same, synchronously: CDK's local bundling (ILocalBundling.tryBundle) is synchronous. */
export function bundleApiSync(outdir: string): Metafile {
  return buildSync(apiBuildOptions(outdir)).metafile;
}

/** Issue 21: the bundle's budget (bytes of index.mjs; `npm run bench -- api` reports it, met or not)… */
export const API_SIZE_BUDGET_BYTES = 300_000;
/**
 * …and the limit test/cdk/api-bundle.test.ts enforces meanwhile: what the bundle weighs now plus a
 * little, so that it cannot grow back unnoticed. Not yet the budget: the rest of the way is the AWS
 * SDK's own machinery (docs/performance.md, "The API Lambda's bundle"); lower this as it shrinks.
 */
export const API_SIZE_LIMIT_BYTES = 400_000;
/** …and its cold import's (the median `npm run bench -- api` reports; a measure, not a test). */
export const API_IMPORT_BUDGET_MS = 150;

// The API Lambda's bundle: functions/api/handler.ts as one minified ES module for Node 22 (index.mjs),
// its dependencies inside and tree-shaken (no AWS SDK client: functions/adapters/aws-http.ts says
// why). One set of esbuild options, used by the stack (cdk/service-stack.ts bundles the ApiFunction
// asset with it), by the bench (`npm run bench -- api`, bench/api-cold-import.ts) and by
// test/cdk/api-bundle.test.ts, so what is measured and tested is what is deployed.
import { resolve } from 'node:path';
import { build, buildSync, type BuildOptions, type Metafile } from 'esbuild';
import { nodeEsmBundleOptions } from './node-bundle.ts';


export const API_ENTRY = 'functions/api/handler.ts';
/** The file the bundle is written to; the Lambda's handler is `index.handler`. */
export const API_BUNDLE_FILE = 'index.mjs';

/**
 * NODE_OPTIONS of the API Lambda (undefined: none set). Not `--enable-source-maps`: with it, Node
 * reads and parses the map at every cold start, which added up to ~85 % to the import (the figures
 * are in docs/performance.md, "The API Lambda's bundle"). The map is still written beside the bundle,
 * without the sources inside, for reading a stack trace after the fact (docs/developer-reference.md).
 */
export const API_NODE_OPTIONS: string | undefined = undefined;

export function apiBuildOptions(outdir: string): BuildOptions & { metafile: true } {
  return { ...nodeEsmBundleOptions(), entryPoints: [API_ENTRY], outfile: resolve(outdir, API_BUNDLE_FILE) };
}

/** Bundles the API Lambda into `outdir`; returns esbuild's metafile. */
export async function bundleApi(outdir: string): Promise<Metafile> {
  return (await build(apiBuildOptions(outdir))).metafile;
}

/** The same, synchronously: CDK's local bundling (ILocalBundling.tryBundle) is synchronous. */
export function bundleApiSync(outdir: string): Metafile {
  return buildSync(apiBuildOptions(outdir)).metafile;
}

/** Issue 21: the bundle's budget (bytes of index.mjs; test/cdk/api-bundle.test.ts enforces it)… */
export const API_SIZE_BUDGET_BYTES = 300_000;
/** …and its cold import's (the median `npm run bench -- api` reports; a measure, not a test). */
export const API_IMPORT_BUDGET_MS = 150;

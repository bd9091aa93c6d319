// The web console's build (`npm run build:console`, also run by `npm ci` through `prepare`):
// static files in console/dist, with relative asset paths so the same build is served under
// /console/ by the local stack and at the root of the CloudFront distribution on AWS.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // JSX for Preact without a plugin: the compiler's automatic runtime, imported from preact
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  // the console imports the API's pure domain checks from ../functions/domain
  server: { fs: { allow: ['..'] } },
});

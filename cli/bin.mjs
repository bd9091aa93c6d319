#!/usr/bin/env node
// The `share` command installed by package.json's "bin": runs the TypeScript CLI through tsx, so a
// clone needs no build step (`npx share --help`, `npm exec share -- list`).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');

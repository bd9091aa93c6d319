// The JSON schemas of manifest lines and summary.json, and the generator of their validators.
//
// Why generated: ajv compiles a schema into JavaScript at run time, and loading ajv and compiling
// these two cost ~100 ms of CPU at every copier start (a no-op restore of a few files took longer
// to start than rsync takes to finish). ajv's standalone mode writes the compiled validators out
// once (validators.generated.js, committed); the copier imports them and never loads ajv.
// `npm run generate` rewrites the file, and a unit test fails when it differs from what these
// schemas generate, so the two cannot drift apart.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';

// (a CommonJS module: its function is also its `default`)
const standaloneCode = standalone.default;

const common = {
  path: { type: 'string', minLength: 1, maxLength: 4096 },
  mode: { type: 'integer', minimum: 0, maximum: 0o7777 },
  uid: { type: 'integer', minimum: 0, maximum: 0xffffffff },
  gid: { type: 'integer', minimum: 0, maximum: 0xffffffff },
  mtime_ns: { type: 'string', pattern: '^(0|[1-9][0-9]{0,19})$' },
  size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
} as const;
const commonRequired = ['path', 'type', 'mode', 'uid', 'gid', 'mtime_ns', 'size'] as const;
/** Optional on every entry (since 0.5): extended attributes and POSIX ACLs (system.posix_acl_*),
 * name → base64 of the value. Names are decoded as paths are (names.ts); Linux caps a name at 255
 * bytes and a value at 64 KiB. */
const xattrs = {
  type: 'object',
  propertyNames: { minLength: 1, maxLength: 255 },
  additionalProperties: { type: 'string', maxLength: 87384, pattern: '^[A-Za-z0-9+/]*={0,2}$' },
} as const;

function variant<T extends string>(type: T, extra: Record<string, object> = {}, optional: Record<string, object> = {}) {
  return {
    type: 'object',
    additionalProperties: false,
    required: [...commonRequired, ...Object.keys(extra)],
    properties: { ...common, type: { const: type }, ...extra, ...optional, xattrs },
  };
}

export const entrySchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['dir', 'file', 'symlink', 'hardlink', 'fifo', 'socket'] } },
  // the variant is picked by "type" instead of trying them all (manifests have millions of lines)
  discriminator: { propertyName: 'type' },
  oneOf: [
    variant('dir'),
    // sparse (since 0.5): the file had holes; a restore writes its data extents only
    variant('file', { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, { crc32: { type: 'string', pattern: '^[0-9a-f]{8}$' }, sparse: { type: 'boolean' } }),
    // a symlink's target is recreated verbatim and never followed, so any non-empty string without NUL
    variant('symlink', { target: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^[^\\u0000]+$' } }),
    variant('hardlink', { link_to: { type: 'string', minLength: 1, maxLength: 4096 } }),
    // (since 0.5) made with mknod on restore; they hold no data
    variant('fifo'),
    variant('socket'),
  ],
};

export const summarySchema = {
  type: 'object',
  required: ['version', 'entries', 'files', 'bytes', 'created_at'],
  properties: {
    // 2 (since 0.5): entries may have xattrs, sparse, the types fifo and socket, and names with
    // escaped bytes; code that knows only 1 refuses the backup before writing anything
    version: { type: 'integer', enum: [1, 2] },
    entries: { type: 'integer', minimum: 0 },
    files: { type: 'integer', minimum: 0 },
    bytes: { type: 'integer', minimum: 0 },
    manifest_sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', nullable: true },
    created_at: { type: 'string' },
  },
};


export const GENERATED_VALIDATORS = fileURLToPath(new URL('./validators.generated.js', import.meta.url));

/**
 * ajv's standalone code of `exports` (export name → schema key) as an ES module: ajv writes its
 * runtime helpers as require() calls even in an ES module, and these are turned into imports (a
 * CommonJS module's default import is its exports object under Node, its `default` under loaders
 * that honour __esModule, as tsx and esbuild do: both are handled). Also used by
 * functions/validators-generate.ts, the API's validators.
 */
export function standaloneModule(ajv: Ajv, exports: Record<string, string>, header: string): string {
  const imports: string[] = [];
  const code = standaloneCode(ajv, exports).replace(
    /const (\w+) = require\("(ajv\/dist\/runtime\/\w+)"\)\.default;/g,
    (_line: string, name: string, module: string) => {
      imports.push(`import ${name}Module from "${module}.js";`);
      return `const ${name} = typeof ${name}Module === "function" ? ${name}Module : ${name}Module.default;`;
    },
  );
  if (/\brequire\(/.test(code)) throw new Error('ajv standalone code still calls require()');
  return `${header}\n${imports.join('\n')}\n${code.replace(/^"use strict";\n?/, '')}\n`;
}

/** The ES module source of the validators (validateEntry, validateSummary). */
export function generateValidatorsSource(): string {
  const ajv = new Ajv({ allErrors: false, strict: true, strictTuples: false, discriminator: true, code: { source: true, esm: true, lines: true } });
  ajv.addSchema(entrySchema, 'entry');
  ajv.addSchema(summarySchema, 'summary');
  return standaloneModule(ajv, { validateEntry: 'entry', validateSummary: 'summary' },
    '// Generated by copier/manifest/schema.ts (npm run generate) from the schemas there: do not edit.');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(GENERATED_VALIDATORS, generateValidatorsSource());
  console.log(`wrote ${GENERATED_VALIDATORS}`);
}

// The API's validators are ajv's standalone code, generated at build time (functions/validators-generate.ts):
// the checked-in file must be what the schemas generate, and the API must not load ajv at run time.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_API_VALIDATORS, GENERATED_API_VALIDATOR_TYPES, generateApiValidatorTypes, generateApiValidatorsSource } from '../../functions/validators-generate.ts';

describe('generated API validators', () => {
  it('are up to date with functions/api/schemas.ts and functions/domain/claims.ts (npm run generate)', async () => {
    expect(await readFile(GENERATED_API_VALIDATORS, 'utf8')).toBe(generateApiValidatorsSource());
    expect(await readFile(GENERATED_API_VALIDATOR_TYPES, 'utf8')).toBe(generateApiValidatorTypes());
  });

  it('import nothing of ajv but its small runtime helpers', async () => {
    const source = await readFile(GENERATED_API_VALIDATORS, 'utf8');
    const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    for (const module of imports) expect(module).toMatch(/^ajv\/dist\/runtime\//);
  });

  it('hand out a compiled validator for every schema of API_SCHEMAS, and refuse any other schema', async () => {
    const { API_SCHEMAS, validator } = await import('../../functions/api/schemas.ts');
    for (const schema of Object.values(API_SCHEMAS)) expect(typeof validator(schema)).toBe('function');
    expect(() => validator({ type: 'object' })).toThrow(/not one of API_SCHEMAS/);
  });
});
